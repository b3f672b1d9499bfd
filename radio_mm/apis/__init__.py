from .run_config import build_test_runner, build_train_runner, load_config

__all__ = ['build_train_runner', 'build_test_runner', 'load_config']
