"""CheckpointHook whose checkpoints a run can always resume from, and resume exactly.

mmengine's hook deletes the oldest kept checkpoint *before* writing the new one and writes in
place, so a run killed while saving with ``max_keep_ckpts=1`` keeps no checkpoint at all, and
``last_checkpoint`` names a file that is gone or half written. This hook:

* writes every checkpoint through a temporary file that is renamed when complete
  (:mod:`radio_mm.engine.checkpoint_files`), then replaces ``last_checkpoint``, and only then
  deletes checkpoints beyond ``max_keep_ckpts``;
* refuses, before anything is loaded, to resume from an empty or truncated checkpoint, naming
  the last complete one;
* stores every rank's random generator states and restores them on resume, so a resumed run
  draws the same dropout / drop-path / crop randomness as one that never stopped. (Data
  augmentation runs in dataloader workers, which mmengine seeds per worker and which replay
  the skipped batches on resume; with ``num_workers=0`` that replay uses the main process's
  generators, so augmented data is exact only with workers.)

The default runtimes use it, and ``tools/train.py`` puts it in place of a config's plain
``CheckpointHook`` (it takes the same arguments).
"""
import os
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend, get_file_backend
from mmengine.hooks import CheckpointHook

from radio_mm.registry import HOOKS
from ..checkpoint_files import (check_resumable, partial_name, publish, remove_partials,
                                write_text_atomically)
from ..rng_states import all_rng_states, restore_rank_rng_state

LAST_CHECKPOINT = 'last_checkpoint'  # mmengine's pointer file in work_dir


@HOOKS.register_module()
class ResumableCheckpointHook(CheckpointHook):

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._rng_states = None  # gathered from all ranks for the checkpoint being saved
        self._resumed_rng_states = None

    def before_run(self, runner):
        if not getattr(runner.save_checkpoint, 'writes_atomically', False):
            runner.save_checkpoint = _atomic(runner.save_checkpoint)
        if runner._resume:  # mmengine's flag; it loads right after before_run
            _check_resume_source(runner)

    def before_train(self, runner):
        super().before_train(runner)
        # mmengine's before_train built self.file_backend (with backend_args) for out_dir.
        if is_main_process() and isinstance(self.file_backend, LocalBackend):
            for path in remove_partials(self.out_dir):
                runner.logger.warning(f'removed {path}, left by a run killed while saving')
        if self._resumed_rng_states is not None and runner.iter > 0:
            if restore_rank_rng_state(self._resumed_rng_states):
                runner.logger.info('restored the random generator states of the checkpoint')
            else:
                runner.logger.warning(
                    f'the checkpoint holds random states of {len(self._resumed_rng_states)} '
                    'ranks, this run has a different number: not restored, so the resumed '
                    'run will not repeat the interrupted one exactly')
        self._resumed_rng_states = None

    def after_load_checkpoint(self, runner, checkpoint):
        # Applied in before_train: mmengine re-seeds between loading and training.
        self._resumed_rng_states = checkpoint.get('rng_states')

    def before_save_checkpoint(self, runner, checkpoint):
        if self._rng_states is not None:
            checkpoint['rng_states'] = self._rng_states

    def _save_checkpoint_with_step(self, runner, step, meta):
        if not isinstance(self.file_backend, LocalBackend):
            return super()._save_checkpoint_with_step(runner, step, meta)
        self._rng_states = all_rng_states()  # a collective: every rank is here
        dropped = self._keep(runner, step)
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = osp.join(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        try:
            runner.save_checkpoint(
                self.out_dir, filename, self.file_client_args,
                save_optimizer=self.save_optimizer,
                save_param_scheduler=self.save_param_scheduler, meta=meta,
                by_epoch=self.by_epoch, backend_args=self.backend_args, **self.args)
        finally:
            self._rng_states = None
        if not is_main_process():
            return
        # Only now is the new checkpoint complete on disk: point at it, then drop old ones.
        write_text_atomically(osp.join(runner.work_dir, LAST_CHECKPOINT), self.last_ckpt)
        for old in dropped:
            path = osp.join(self.out_dir, self.filename_tmpl.format(old))
            if osp.isfile(path):
                os.remove(path)

    def _keep(self, runner, step):
        """mmengine's bookkeeping of kept checkpoints; returns the steps to delete *after*
        the new checkpoint is saved (mmengine deletes them before)."""
        if self.max_keep_ckpts <= 0 or (self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            return []
        dropped = []
        if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
            dropped.append(self.keep_ckpt_ids.popleft())
        self.keep_ckpt_ids.append(step)
        runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))
        return dropped


def _atomic(save):
    """``runner.save_checkpoint`` writing each file under a temporary name first."""

    def save_atomically(out_dir, filename, *args, **kwargs):
        backend = get_file_backend(out_dir, backend_args=kwargs.get('backend_args'))
        if not isinstance(backend, LocalBackend):
            return save(out_dir, filename, *args, **kwargs)
        partial = osp.join(out_dir, partial_name(filename))
        try:
            save(out_dir, partial_name(filename), *args, **kwargs)
            if is_main_process():  # the Runner writes on the main process only
                publish(partial, osp.join(out_dir, filename))
        finally:
            if is_main_process() and osp.exists(partial):
                os.remove(partial)

    save_atomically.writes_atomically = True
    return save_atomically


def _check_resume_source(runner):
    if runner._load_from is not None:  # --resume PATH
        check_resumable(runner._load_from, runner.work_dir)
        return
    pointer = osp.join(runner.work_dir, LAST_CHECKPOINT)
    if not osp.isfile(pointer):
        return  # nothing saved yet: mmengine starts from scratch and says so
    with open(pointer) as f:
        path = f.read().strip()
    check_resumable(path, runner.work_dir, named_by=pointer)

