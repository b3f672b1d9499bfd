from .bn_linear_head import BNLinearHead  # noqa: F401
