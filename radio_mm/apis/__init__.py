from .radio_model import radio_model
from .run_config import build_test_runner, build_train_runner, load_config

__all__ = ['radio_model', 'build_train_runner', 'build_test_runner', 'load_config']
