"""The OpenMMLab toolboxes radio_mm's task parts need, and the pip extra that brings each.

``pip install radio_mm`` needs only torch, timm and mmengine: ``radio_model()``, the
students and the distiller import without mmcv, mmseg, mmdet or mmpretrain. The parts that
build on a toolbox (segmentation heads, detection necks, the frozen classifiers, image
transforms) take it through :func:`require_toolbox`, so using one without its toolbox says
which extra of ``setup.py`` to install instead of failing with a bare ModuleNotFoundError.
"""
import importlib
import importlib.metadata
import importlib.util
import sys

# Import name -> the radio_mm extra (setup.py ``extras_require``) that installs it.
TOOLBOX_EXTRAS = {'mmcv': 'all', 'mmseg': 'seg', 'mmdet': 'det', 'mmpretrain': 'cls'}
# Every task extra brings mmcv, which the toolboxes are built on.
_MMCV_EXTRAS = "'radio_mm[seg]', '[det]', '[cls]' or '[all]'"


class MissingToolbox(ImportError):
    """A radio_mm part was used without the OpenMMLab toolbox it builds on."""


def install_hint(name):
    """What to pip-install for toolbox ``name``."""
    if name == 'mmcv':
        return f'pip install {_MMCV_EXTRAS} (each brings mmcv; see requirements/mminstall.txt)'
    return f"pip install 'radio_mm[{TOOLBOX_EXTRAS[name]}]'"


def toolbox_available(name):
    """Whether toolbox ``name`` and the mmcv it builds on are installed (found on the path),
    without importing them."""
    try:
        return all(importlib.util.find_spec(n) is not None for n in {name, 'mmcv'})
    except ImportError:  # an import hook that refuses the name
        return False


def require_toolbox(name, user):
    """Import toolbox ``name`` (a top-level module of :data:`TOOLBOX_EXTRAS`) for ``user``.

    Raises:
        MissingToolbox: the toolbox is not installed; the message names ``user`` and the
            extra to install.
    """
    if name not in TOOLBOX_EXTRAS:
        raise ValueError(f'{name!r} is not one of the toolboxes {sorted(TOOLBOX_EXTRAS)}')
    try:
        if name == 'mmpretrain':
            _without_broken_multimodal_models()
        return importlib.import_module(name)
    except ImportError as error:
        if (error.name or '').split('.')[0] not in TOOLBOX_EXTRAS:
            raise  # the toolbox is there but one of its own imports failed
        raise MissingToolbox(f'{user} needs {name}, which is not installed: '
                             f'{install_hint(name)}') from error


def _without_broken_multimodal_models():
    """mmpretrain 1.2's multimodal models (BLIP, OFA, LLaVA...) import names transformers 5
    removed (``transformers.modeling_utils.apply_chunking_to_forward``, ``GenerationMixin``),
    and mmpretrain imports them whenever transformers>=4.28 is installed
    (``mmpretrain.utils.dependency.WITH_MULTIMODAL``), so ``import mmpretrain.models`` fails
    next to transformers 5 (a test dependency of radio_mm: the native ``RadioModel``). radio_mm
    uses none of them: with transformers 5 mmpretrain registers its own placeholders for them
    instead, which say what they need when built."""
    if 'mmpretrain.models' in sys.modules or importlib.util.find_spec('mmpretrain') is None:
        return
    try:
        major = int(importlib.metadata.version('transformers').split('.')[0])
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return
    if major >= 5:
        from mmpretrain.utils import dependency
        dependency.WITH_MULTIMODAL = False


def register_placeholders(registry, names, toolbox):
    """Register ``names`` in ``registry`` as builders that raise :class:`MissingToolbox`, for
    a part whose toolbox is not installed: a config naming one then says what to install
    rather than that the name is unknown."""
    for name in names:
        def unavailable(*args, _name=name, **kwargs):
            require_toolbox(toolbox, f'{_name} (radio_mm)')
            raise RuntimeError(f'{toolbox} was installed after radio_mm was imported; '
                               f'restart Python to use {_name}')
        registry.register_module(name=name, module=unavailable)
