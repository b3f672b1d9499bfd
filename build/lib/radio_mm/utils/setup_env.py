"""Import the modules a config needs: radio_mm's own and the toolbox its scope names."""
import importlib

from mmengine.registry import DefaultScope

# default_scope -> module whose `utils.register_all_modules` fills that toolbox's registries.
TOOLBOXES = ('mmseg', 'mmdet', 'mmpretrain')


def register_all_modules(init_default_scope=True):
    """Register every radio_mm module (the mm toolboxes' entry point), optionally set the
    scope.

    Nothing is left to import here: this module lives in ``radio_mm``, whose ``__init__``
    imports every registering package before any submodule runs, and ``utils`` stays a leaf
    that imports no other radio_mm package (docs/architecture.md).
    """
    if init_default_scope and DefaultScope.get_current_instance() is None:
        DefaultScope.get_instance('radio_mm', scope_name='radio_mm')


def import_toolbox(scope):
    """Register the modules of the toolbox named by a config's ``default_scope``.

    Tools call this so that a plain mmseg/mmdet/mmpretrain config runs through radio_mm's
    ``tools/train.py`` as it would through the toolbox's own.
    """
    register_all_modules(init_default_scope=False)
    if scope is None or scope == 'radio_mm':
        return
    if scope not in TOOLBOXES:
        raise ValueError(f"default_scope={scope!r} is not one of radio_mm's toolboxes "
                         f"{('radio_mm', ) + TOOLBOXES}; import its modules with "
                         "custom_imports in the config instead.")
    importlib.import_module(f'{scope}.utils').register_all_modules(init_default_scope=False)
