from .simple_fpn import SimpleFPN  # noqa: F401
