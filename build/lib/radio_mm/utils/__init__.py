from .checkpoint_safe_globals import register_checkpoint_safe_globals
from .setup_env import import_toolbox, register_all_modules

__all__ = ['register_checkpoint_safe_globals', 'import_toolbox', 'register_all_modules']
