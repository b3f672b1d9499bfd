"""EMA of the distillation student only, in mmengine's checkpoint layout.

mmengine's ``EMAHook`` averages a deep copy of the whole model: for a distiller that copies
the frozen teachers (DINOv2-g + DFN CLIP-H + SAM-H, billions of parameters) for nothing.
This hook averages ``model.student`` (backbone + adaptor heads) and keeps EMAHook's
checkpoint convention (the contract loaders rely on, mmengine ``EMAHook.before_save_checkpoint``):

* ``checkpoint['state_dict']`` holds the averaged weights (the deployable ones);
* ``checkpoint['ema_state_dict']`` holds the raw weights under ``'module.' +`` the
  ``state_dict`` key (``module.student.backbone...``), plus ``steps``;
* ``checkpoint['meta']['ema'] = dict(momentum=..., averaged_prefix='student.')``.

Official RADIO checkpoints also ship both (``state_dict`` and ``state_dict_ema``).

Under :class:`~radio_mm.engine.fully_shard.FullyShardWrapper` the averaged copy holds the
same shards as the student (each rank averages its share, no communication) and is saved
in the sharded checkpoint.
"""
import copy

from mmengine.hooks import EMAHook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.registry import MODELS
from mmengine.runner.checkpoint import load_state_dict

from radio_mm.formats.radio_checkpoint import EMA_PREFIX
from radio_mm.registry import HOOKS

from ..fully_shard import is_fully_sharded


@HOOKS.register_module()
class StudentEMAHook(EMAHook):
    """``EMAHook`` on one submodule (``student``) of the model.

    Args:
        submodule (str): attribute of the (unwrapped) model to average.
        momentum (float): mmengine's convention, ``ema = (1 - momentum) * ema +
            momentum * weights`` (decay = 1 - momentum).
        **kwargs: ``EMAHook`` arguments (``ema_type``, ``begin_iter``, ``update_buffers``...).
    """

    def __init__(self, submodule='student', momentum=1e-4, **kwargs):
        super().__init__(momentum=momentum, **kwargs)
        self.submodule = submodule
        self.prefix = submodule + '.'

    def before_run(self, runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not hasattr(model, self.submodule):
            raise AttributeError(f'StudentEMAHook: {type(model).__name__} has no '
                                 f'{self.submodule!r} to average')
        self.src_model = getattr(model, self.submodule)
        # A sharded student (FullyShardWrapper) refuses deepcopy: the averaged copy is made
        # of its shards, and stays sharded like it.
        source = (runner.model.detached_copy(self.submodule) if is_fully_sharded(runner.model)
                  else self.src_model)
        self.ema_model = MODELS.build(self.ema_cfg, default_args=dict(model=source))

    # checkpoint keys: 'module.<k>' of the averaged copy <-> 'module.student.<k>' on disk
    def _to_checkpoint(self, key):
        if key.startswith(EMA_PREFIX):
            return EMA_PREFIX + self.prefix + key[len(EMA_PREFIX):]
        return key

    def _from_checkpoint(self, key):
        full = EMA_PREFIX + self.prefix
        return EMA_PREFIX + key[len(full):] if key.startswith(full) else key

    def before_save_checkpoint(self, runner, checkpoint):
        checkpoint['ema_state_dict'] = {self._to_checkpoint(k): v
                                        for k, v in self.ema_model.state_dict().items()}
        self._swap_ema_state_dict(checkpoint)
        checkpoint.setdefault('meta', {})['ema'] = dict(
            momentum=self.ema_cfg.get('momentum'), averaged_prefix=self.prefix)

    def after_load_checkpoint(self, runner, checkpoint):
        if 'ema_state_dict' in checkpoint and runner._resume:
            self._swap_ema_state_dict(checkpoint)  # the model gets its raw weights back
            self.ema_model.load_state_dict(
                {self._from_checkpoint(k): v for k, v in checkpoint['ema_state_dict'].items()},
                strict=True)
            return
        if runner._resume:
            print_log('the checkpoint has no ema_state_dict: the student EMA starts from its '
                      'weights', logger='current', level=30)
        student = {k[len(self.prefix):]: v for k, v in checkpoint['state_dict'].items()
                   if k.startswith(self.prefix)}
        load_state_dict(self.ema_model.module, copy.deepcopy(student), strict=self.strict_load)
