"""radio_mm's registries, and how its modules become visible to every OpenMMLab toolbox.

The mechanism, in one place:

* Each registry below is a child of mmengine's root registry with scope ``'radio_mm'``, so the
  distillation configs run with ``default_scope='radio_mm'`` and any config may say
  ``type='radio_mm.RADIOViT'`` explicitly.
* Registering a module here also registers it, under the same name, in mmengine's root
  registry (the parent). mmseg, mmdet and mmpretrain registries are all children of that root,
  and ``Registry.get`` falls back from a scope to its ancestors, so after
  ``custom_imports=dict(imports=['radio_mm'])`` a plain ``type='RADIOViT'`` builds whatever
  ``default_scope`` the config sets. mmcv does the same for its layers and transforms.
* A toolbox's own module of the same name still wins inside that toolbox's scope (it is
  found before the root), so radio_mm never shadows mmseg/mmdet/mmpretrain classes.
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import Registry


class SharedRegistry(Registry):
    """A scoped registry that also publishes each module to its root parent."""

    def _register_module(self, module, module_name=None, force=False):
        super()._register_module(module, module_name, force)
        self.parent._register_module(module, module_name, force)


def _child(name, parent, location):
    return SharedRegistry(name, parent=parent, scope='radio_mm', locations=[location])


MODELS = _child('model', MMENGINE_MODELS, 'radio_mm.models')
WEIGHT_INITIALIZERS = _child('weight initializer', MMENGINE_WEIGHT_INITIALIZERS,
                             'radio_mm.models')
# File-format functions that model code calls without importing radio_mm.formats (a
# backbone's ``Pretrained`` init, a frozen classifier's key adoption): docs/architecture.md.
FUNCTIONS = _child('function', MMENGINE_FUNCTIONS, 'radio_mm.formats')
DATASETS = _child('dataset', MMENGINE_DATASETS, 'radio_mm.datasets')
DATA_SAMPLERS = _child('data sampler', MMENGINE_DATA_SAMPLERS, 'radio_mm.datasets')
TRANSFORMS = _child('transform', MMENGINE_TRANSFORMS, 'radio_mm.datasets')
METRICS = _child('metric', MMENGINE_METRICS, 'radio_mm.evaluation')
EVALUATOR = _child('evaluator', MMENGINE_EVALUATOR, 'radio_mm.evaluation')
HOOKS = _child('hook', MMENGINE_HOOKS, 'radio_mm.engine')
LOOPS = _child('loop', MMENGINE_LOOPS, 'radio_mm.engine')
MODEL_WRAPPERS = _child('model_wrapper', MMENGINE_MODEL_WRAPPERS, 'radio_mm.engine')
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
