from . import hooks, optimizers  # noqa: F401
from .stream_train_loop import StreamTrainLoop

__all__ = ['StreamTrainLoop']
