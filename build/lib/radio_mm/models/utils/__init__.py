from .layer_norm_2d import LN2d  # noqa: F401
