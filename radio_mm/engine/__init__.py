from . import hooks, optimizers  # noqa: F401
from .fully_shard import FullyShardWrapper, is_fully_sharded
from .sharded_runner import ShardedRunner
from .stream_train_loop import StreamTrainLoop

__all__ = ['StreamTrainLoop', 'FullyShardWrapper', 'ShardedRunner', 'is_fully_sharded']
