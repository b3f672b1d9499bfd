"""mmengine's Runner, saving and resuming sharded checkpoints when the model is sharded.

With :class:`~radio_mm.engine.fully_shard.FullyShardWrapper` every rank holds a share of
each parameter and of its optimizer state, and mmengine's Runner (which saves the model's
``state_dict()`` from rank 0 and broadcasts rank 0's weights after initialising them) would
save one share and overwrite the others. This Runner, which ``tools/train.py`` picks for
that wrapper (:func:`radio_mm.apis.run_config.build_train_runner`):

* saves ``iter_N.dcp/`` folders (:mod:`radio_mm.engine.sharded_checkpoint`): the same
  checkpoint dict as mmengine's ``Runner.save_checkpoint`` builds (hooks add the EMA, the
  RADIO meta, the random states), with the model and optimizer state from
  ``torch.distributed.checkpoint.state_dict`` (sharded tensors, optimizer state keyed by
  parameter name), written by every rank;
* resumes from one at any world size: the folder is read into this run's shards (DCP
  reshards), then the steps of mmengine's ``Runner.resume`` follow;
* skips mmengine's weight initialisation and broadcast (the wrapper initialised the
  weights before sharding them).

Models that are not sharded run exactly as under mmengine's Runner.
"""
import time

import mmengine
from mmengine.model import is_model_wrapper
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmengine.runner import Runner
from mmengine.utils import apply_to, get_git_hash
from torch.distributed.checkpoint.state_dict import (
    StateDictOptions,
    get_model_state_dict,
    get_optimizer_state_dict,
    set_model_state_dict,
    set_optimizer_state_dict,
)

from radio_mm.registry import RUNNERS
from radio_mm.utils.checkpoint_checks import SHARDED_SUFFIX, check_resumable

from .fully_shard import is_fully_sharded
from .sharded_checkpoint import SHARDED_KEYS, load_sharded, read_extra, save_sharded


@RUNNERS.register_module()
class ShardedRunner(Runner):

    @property
    def sharded_checkpoints(self):
        """Does this run save ``.dcp`` folders (ResumableCheckpointHook names them so)?"""
        return is_fully_sharded(self.model)

    def _init_model_weights(self):
        if not self.sharded_checkpoints:
            return super()._init_model_weights()
        self.logger.info('weights were initialised before sharding (FullyShardWrapper)')

    def build_optim_wrapper(self, optim_wrapper):
        built = super().build_optim_wrapper(optim_wrapper)
        if self.sharded_checkpoints:
            if not isinstance(built, OptimWrapper):
                raise TypeError(f'FullyShardWrapper runs with one OptimWrapper, got '
                                f'{type(built).__name__}')
            if isinstance(built, AmpOptimWrapper):
                raise TypeError('FullyShardWrapper does its own mixed precision: set '
                                "model_wrapper_cfg.mixed_precision=dict(param_dtype='bfloat16',"
                                " reduce_dtype='float32') and optim_wrapper.type='OptimWrapper' "
                                '(no --amp)')
        return built

    def save_checkpoint(self, out_dir, filename, file_client_args=None, save_optimizer=True,
                        save_param_scheduler=True, meta=None, by_epoch=True,
                        backend_args=None):
        if not self.sharded_checkpoints:
            return super().save_checkpoint(
                out_dir, filename, file_client_args, save_optimizer, save_param_scheduler,
                meta, by_epoch, backend_args)
        if not filename.endswith(SHARDED_SUFFIX):
            raise ValueError(f'a sharded run saves {SHARDED_SUFFIX} folders, asked for '
                             f'{filename!r} (save_best and other .pth names are not supported '
                             'under FullyShardWrapper)')
        # Every rank: the shards are collected by a collective write.
        checkpoint = self._sharded_checkpoint(meta, by_epoch, save_optimizer,
                                              save_param_scheduler)
        save_sharded(checkpoint, mmengine.fileio.join_path(out_dir, filename))

    save_checkpoint.writes_atomically = True  # ResumableCheckpointHook: nothing to wrap

    def resume(self, filename, resume_optimizer=True, resume_param_scheduler=True,
               map_location='default'):
        if not self.sharded_checkpoints:
            return super().resume(filename, resume_optimizer, resume_param_scheduler,
                                  map_location)
        if not filename.rstrip('/').endswith(SHARDED_SUFFIX):
            raise ValueError(f'a sharded run resumes from a {SHARDED_SUFFIX} folder, not '
                             f'{filename!r}; to start from its weights, use load_from with '
                             'a run without FullyShardWrapper')
        check_resumable(filename, self.work_dir)
        # The template: this run's checkpoint as it would save it now (its shards, the
        # hooks' keys), filled from the folder whatever world size wrote it.
        template = self._sharded_checkpoint({}, True, resume_optimizer, False)
        checkpoint = read_extra(filename)
        checkpoint.update(load_sharded(
            {k: v for k, v in template.items() if k in SHARDED_KEYS}, filename))
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = self.model.module
        set_model_state_dict(model, checkpoint['state_dict'],
                             options=StateDictOptions(strict=False))
        self._has_loaded = True
        meta = checkpoint['meta']
        self.train_loop._epoch = meta['epoch']
        self.train_loop._iter = meta['iter']
        resumed_seed = meta.get('seed')
        if resumed_seed is not None and resumed_seed != self._randomness_cfg.get('seed'):
            self._randomness_cfg.update(seed=resumed_seed)
            self.set_randomness(**self._randomness_cfg)
        self.message_hub.load_state_dict(checkpoint['message_hub'])
        if 'optimizer' in checkpoint and resume_optimizer:
            set_optimizer_state_dict(model, self.optim_wrapper.optimizer,
                                     checkpoint['optimizer'])
        if resume_param_scheduler and 'param_schedulers' in checkpoint \
                and self.param_schedulers is not None:
            self._load_param_schedulers(checkpoint['param_schedulers'])
        self.logger.info(f'resumed epoch: {self.epoch}, iter: {self.iter} from the sharded '
                         f'checkpoint {filename}')

    def load_checkpoint(self, filename, map_location='cpu', strict=False,
                        revise_keys=[(r'^module.', '')]):
        if self.sharded_checkpoints and not self._resume:
            raise NotImplementedError(
                f'load_from={filename!r} under FullyShardWrapper: loading whole weights into '
                'a sharded model is not supported yet (teachers load their `pretrained` '
                'weights before sharding, which works). Start from it under DDP (a '
                'model_wrapper_cfg without FullyShardWrapper) instead')
        return super().load_checkpoint(filename, map_location, strict, revise_keys)

    def _load_param_schedulers(self, saved):
        """mmengine's ``Runner.resume``, the parameter scheduler part."""
        self.param_schedulers = self.build_param_scheduler(self.param_schedulers)
        if isinstance(self.param_schedulers, dict):
            for name, schedulers in self.param_schedulers.items():
                for scheduler, state in zip(schedulers, saved[name]):
                    scheduler.load_state_dict(state)
        else:
            for scheduler, state in zip(self.param_schedulers, saved):
                scheduler.load_state_dict(state)

    def _sharded_checkpoint(self, meta, by_epoch, save_optimizer, save_param_scheduler):
        """mmengine's ``Runner.save_checkpoint`` dict, model and optimizer sharded."""
        meta = dict(meta or {})
        if by_epoch:
            meta.setdefault('epoch', self.epoch + 1)
            meta.setdefault('iter', self.iter)
        else:
            meta.setdefault('epoch', self.epoch)
            meta.setdefault('iter', self.iter + 1)
        meta.update(cfg=self.cfg.pretty_text, seed=self.seed,
                    experiment_name=self.experiment_name,
                    time=time.strftime('%Y%m%d_%H%M%S', time.localtime()),
                    mmengine_version=mmengine.__version__ + get_git_hash())
        if hasattr(self.train_dataloader.dataset, 'metainfo'):
            meta.update(dataset_meta=self.train_dataloader.dataset.metainfo)
        model = self.model.module if is_model_wrapper(self.model) else self.model
        checkpoint = dict(
            meta=meta, state_dict=get_model_state_dict(model),
            message_hub=apply_to(self.message_hub.state_dict(), lambda x: hasattr(x, 'cpu'),
                                 lambda x: x.cpu()))
        if save_optimizer:
            checkpoint['optimizer'] = get_optimizer_state_dict(model,
                                                               self.optim_wrapper.optimizer)
        if save_param_scheduler and self.param_schedulers is not None:
            schedulers = self.param_schedulers
            checkpoint['param_schedulers'] = (
                {name: [s.state_dict() for s in group] for name, group in schedulers.items()}
                if isinstance(schedulers, dict) else [s.state_dict() for s in schedulers])
        self.call_hook('before_save_checkpoint', checkpoint=checkpoint)
        return checkpoint
