"""radio_mm: AM-RADIO agglomerative distillation and its students for OpenMMLab."""
from .utils.checkpoint_safe_globals import register_checkpoint_safe_globals
from .version import __version__

# Resuming mmengine checkpoints under torch's weights_only=True default needs this first.
register_checkpoint_safe_globals()

from . import datasets, engine, evaluation, formats, models  # noqa: E402,F401  (register modules)

__all__ = ['__version__']
