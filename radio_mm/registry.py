"""radio_mm's registries: children of mmengine's root registries with scope ``'radio_mm'``.

As mmseg, mmdet and mmpretrain do, radio_mm keeps its classes in its own registries and
writes nothing into mmengine's root, so no name of another package can clash with one of
radio_mm's. How a config reaches them (docs/registry.md):

* Configs with ``default_scope='radio_mm'`` (distillation) name classes plainly:
  ``type='RADIOViT'``.
* Configs that run under another toolbox's scope (mmseg, mmdet, mmpretrain) import radio_mm
  (``custom_imports=dict(imports=['radio_mm'])``) and name its classes with the scope,
  ``type='radio_mm.RADIOViT'``: mmengine's ``Registry.get`` resolves a ``scope.Name`` key
  through the root's children.
* radio_mm's own code building from these registries (a RADIOModel its backbone and
  adaptors, a distiller its teachers and losses) gets radio_mm's class for a plain name
  radio_mm holds, whatever the default scope (:func:`build_radio_mm_first`); other names
  resolve as mmengine resolves them.
"""
from copy import copy

from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import Registry


def build_radio_mm_first(cfg, registry, *args, **kwargs):
    """Build ``cfg`` from ``registry`` (one of radio_mm's) with mmengine's build function for
    that registry, reading a plain type name the registry holds as ``radio_mm.<name>``.

    mmengine looks a plain name up in the default scope's registry; under mmseg's scope
    that registry does not know radio_mm's classes, so the nested configs a radio_mm class
    builds itself (``backbone=dict(type='RADIOViT')`` in a RADIOModel) would fail there.
    """
    registry.import_from_location()
    obj_type = cfg.get('type') if isinstance(cfg, dict) else None
    if isinstance(obj_type, str) and '.' not in obj_type and obj_type in registry.module_dict:
        cfg = copy(cfg)
        cfg['type'] = f'{registry.scope}.{obj_type}'
    return registry.parent.build_func(cfg, registry, *args, **kwargs)


def _child(name, parent, *locations):
    return Registry(name, parent=parent, scope='radio_mm', locations=list(locations),
                    build_func=build_radio_mm_first)


MODELS = _child('model', MMENGINE_MODELS, 'radio_mm.models')
WEIGHT_INITIALIZERS = _child('weight initializer', MMENGINE_WEIGHT_INITIALIZERS,
                             'radio_mm.models')
# File-format functions that model code calls without importing radio_mm.formats (a
# backbone's ``Pretrained`` init, a frozen classifier's key adoption), and ``radio_model``
# for RADIOTeacher (from radio_mm.apis.model_loading): docs/architecture.md.
FUNCTIONS = _child('function', MMENGINE_FUNCTIONS, 'radio_mm.formats',
                   'radio_mm.apis.model_loading')
DATASETS = _child('dataset', MMENGINE_DATASETS, 'radio_mm.datasets')
DATA_SAMPLERS = _child('data sampler', MMENGINE_DATA_SAMPLERS, 'radio_mm.datasets')
TRANSFORMS = _child('transform', MMENGINE_TRANSFORMS, 'radio_mm.datasets')
METRICS = _child('metric', MMENGINE_METRICS, 'radio_mm.evaluation')
EVALUATOR = _child('evaluator', MMENGINE_EVALUATOR, 'radio_mm.evaluation')
HOOKS = _child('hook', MMENGINE_HOOKS, 'radio_mm.engine')
LOOPS = _child('loop', MMENGINE_LOOPS, 'radio_mm.engine')
MODEL_WRAPPERS = _child('model_wrapper', MMENGINE_MODEL_WRAPPERS, 'radio_mm.engine')
RUNNERS = _child('runner', MMENGINE_RUNNERS, 'radio_mm.engine')
OPTIMIZERS = _child('optimizer', MMENGINE_OPTIMIZERS, 'radio_mm.engine')
OPTIM_WRAPPERS = _child('optim_wrapper', MMENGINE_OPTIM_WRAPPERS, 'radio_mm.engine')
OPTIM_WRAPPER_CONSTRUCTORS = _child('optimizer wrapper constructor',
                                    MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
                                    'radio_mm.engine')
PARAM_SCHEDULERS = _child('parameter scheduler', MMENGINE_PARAM_SCHEDULERS,
                          'radio_mm.engine')


def registered_function(name):
    """The function registered in :data:`FUNCTIONS` as ``name``, or an error naming the fix."""
    function = FUNCTIONS.get(name)
    if function is None:
        raise RuntimeError(f'no function {name!r} in the radio_mm FUNCTIONS registry: import '
                           'radio_mm (or radio_mm.formats) before building the model')
    return function
