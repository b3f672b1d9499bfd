"""Import the modules a config needs: radio_mm's own and the toolbox its scope names."""
import importlib

from mmengine.registry import DefaultScope

# default_scope -> module whose `utils.register_all_modules` fills that toolbox's registries.
TOOLBOXES = ('mmseg', 'mmdet', 'mmpretrain')


def register_all_modules(init_default_scope=True):
    """Import every radio_mm module so that it is registered, optionally set the scope."""
    import radio_mm.datasets  # noqa: F401
    import radio_mm.engine  # noqa: F401
    import radio_mm.evaluation  # noqa: F401
    import radio_mm.models  # noqa: F401
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
