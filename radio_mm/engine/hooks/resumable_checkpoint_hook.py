"""CheckpointHook whose checkpoints a run can always resume from, and resume exactly.

mmengine's hook deletes the oldest kept checkpoint *before* writing the new one and writes in
place, so a run killed while saving with ``max_keep_ckpts=1`` keeps no checkpoint at all, and
``last_checkpoint`` names a file that is gone or half written. This hook:

* writes every checkpoint through a temporary file that is renamed when complete
  (under :class:`~radio_mm.engine.sharded_runner.ShardedRunner`, sharded ``iter_N.dcp/``
  folders, renamed the same way)
  (:mod:`radio_mm.engine.checkpoint_files`), writes its SHA-256 beside it (``<file>.sha256``,
  :mod:`radio_mm.utils.checksums`), then replaces ``last_checkpoint``, and only then
  deletes checkpoints beyond ``max_keep_ckpts``;
* never deletes a checkpoint before this run has saved one: mmengine's ``before_train``
  trims the kept list of a resumed run at once (a resume that then fails has lost them),
  and its list, read from the checkpoint, misses files of a run killed between saving and
  deleting. Here the kept list is rebuilt from the files on disk, and trimmed to
  ``max_keep_ckpts`` after each save;
* refuses, before anything is loaded, to resume from an empty, truncated or damaged
  (checksum) checkpoint, naming the last complete one; and refuses a checkpoint whose weights
  do not fit the model (other keys or shapes: another config), naming the keys, before its
  state is loaded;
* names the file and the free space when a save fails (a full disk);
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
import re
import shutil
from collections import deque

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend, get_file_backend
from mmengine.hooks import CheckpointHook
from mmengine.model import is_model_wrapper

from radio_mm.registry import HOOKS
from radio_mm.utils.checkpoint_checks import SHARDED_SUFFIX, check_resumable
from radio_mm.utils.checksums import SIDECAR_SUFFIX, write_sidecar

from ..checkpoint_files import (
    partial_name,
    publish,
    remove_checkpoint,
    remove_partials,
    write_text_atomically,
)
from ..rng_states import all_rng_states, restore_rank_rng_state

LAST_CHECKPOINT = 'last_checkpoint'  # mmengine's pointer file in work_dir


@HOOKS.register_module()
class ResumableCheckpointHook(CheckpointHook):

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._rng_states = None  # gathered from all ranks for the checkpoint being saved
        self._resumed_rng_states = None

    def before_run(self, runner):
        if getattr(runner, 'sharded_checkpoints', False):  # ShardedRunner: iter_N.dcp/
            self.filename_tmpl = osp.splitext(self.filename_tmpl)[0] + SHARDED_SUFFIX
        if not getattr(runner.save_checkpoint, 'writes_atomically', False):
            runner.save_checkpoint = _atomic(runner.save_checkpoint)
        if runner._resume:  # mmengine's flag; it loads right after before_run
            _check_resume_source(runner)

    def before_train(self, runner):
        # mmengine's before_train would delete checkpoints beyond max_keep_ckpts right now;
        # hide its list from it and rebuild one from the disk instead.
        saved_ids = runner.message_hub.runtime_info.pop('keep_ckpt_ids', [])
        super().before_train(runner)
        local = isinstance(self.file_backend, LocalBackend)
        if self.max_keep_ckpts > 0 and not local:  # mmengine's bookkeeping, as it was
            self.keep_ckpt_ids = deque(saved_ids, self.max_keep_ckpts)
        # mmengine's before_train built self.file_backend (with backend_args) for out_dir.
        if is_main_process() and local:
            for path in remove_partials(self.out_dir):
                runner.logger.warning(f'removed {path}, left by a run killed while saving')
        if self.max_keep_ckpts > 0 and local:
            # no maxlen: a longer list is trimmed after the next save, not before
            self.keep_ckpt_ids = deque(self._steps_on_disk())
            if len(self.keep_ckpt_ids) > self.max_keep_ckpts:
                runner.logger.info(
                    f'{len(self.keep_ckpt_ids)} checkpoints in {self.out_dir}, '
                    f'max_keep_ckpts={self.max_keep_ckpts}: the oldest are deleted once this '
                    'run has saved a checkpoint')
        if self._resumed_rng_states is not None and runner.iter > 0:
            if restore_rank_rng_state(self._resumed_rng_states):
                runner.logger.info('restored the random generator states of the checkpoint')
            else:
                runner.logger.warning(
                    f'the checkpoint holds random states of {len(self._resumed_rng_states)} '
                    'ranks, this run has a different number: not restored, so the resumed '
                    'run will not repeat the interrupted one exactly')
        self._resumed_rng_states = None

    def _steps_on_disk(self):
        """Steps of the checkpoints named by ``filename_tmpl`` in out_dir, oldest first."""
        if not osp.isdir(self.out_dir):
            return []
        pattern = re.compile(re.escape(self.filename_tmpl).replace(r'\{\}', r'(\d+)') + '$')
        matches = (pattern.match(name) for name in os.listdir(self.out_dir))
        return sorted(int(m.group(1)) for m in matches if m)

    def after_load_checkpoint(self, runner, checkpoint):
        # mmengine calls this before it loads anything into the model or optimizer.
        if runner._resume:
            _check_same_model(runner, checkpoint)
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
            for stale in (path, path + SIDECAR_SUFFIX):
                if osp.exists(stale):
                    remove_checkpoint(stale)

    def _keep(self, runner, step):
        """mmengine's bookkeeping of kept checkpoints; returns the steps to delete *after*
        the new checkpoint is saved (mmengine deletes them before)."""
        if self.max_keep_ckpts <= 0 or (self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            return []
        if step in self.keep_ckpt_ids:  # saved again (e.g. resumed from an older one)
            self.keep_ckpt_ids.remove(step)
        self.keep_ckpt_ids.append(step)
        dropped = []
        while len(self.keep_ckpt_ids) > self.max_keep_ckpts:
            dropped.append(self.keep_ckpt_ids.popleft())
        runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))
        return dropped


def _atomic(save):
    """``runner.save_checkpoint`` writing each file under a temporary name first."""

    def save_atomically(out_dir, filename, *args, **kwargs):
        backend = get_file_backend(out_dir, backend_args=kwargs.get('backend_args'))
        if not isinstance(backend, LocalBackend):
            return save(out_dir, filename, *args, **kwargs)
        partial = osp.join(out_dir, partial_name(filename))
        final = osp.join(out_dir, filename)
        try:
            try:
                save(out_dir, partial_name(filename), *args, **kwargs)
            except (OSError, RuntimeError) as error:  # torch's writer names no file
                raise type(error)(f'could not save checkpoint {final}: {error} '
                                  f'({_free_space(out_dir)}); the previous checkpoints are '
                                  'kept') from error
            if is_main_process():  # the Runner writes on the main process only
                publish(partial, final)
                # after the file: a kill in between leaves a complete, unverified checkpoint
                write_sidecar(final)
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



def _free_space(folder):
    try:
        return f'{shutil.disk_usage(folder).free / 2**20:.0f} MiB free in {folder}'
    except OSError:
        return f'{folder} cannot be read'


def _check_same_model(runner, checkpoint):
    """Refuse to resume weights of another model (other keys or shapes), naming them.

    mmengine's resume loads with ``strict=False``: a checkpoint of another config loads in
    part, with a warning, and the run fails later (the optimizer state) or trains a mix.
    """
    if 'FullyShardedDataParallel' in type(runner.model).__name__:
        # sharded flat parameters: mmengine's FSDP wrapper checks its own state dicts
        return
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    ours = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    saved = {re.sub(r'^module\.', '', k): tuple(getattr(v, 'shape', ()))
             for k, v in (checkpoint.get('state_dict') or {}).items()}
    missing = sorted(set(ours) - set(saved))
    unexpected = sorted(set(saved) - set(ours))
    reshaped = [f'{k} {saved[k]} in the checkpoint, {ours[k]} in the model'
                for k in sorted(set(ours) & set(saved)) if ours[k] != saved[k]]
    if not (missing or unexpected or reshaped):
        return
    parts = [f'{label} ({len(keys)}): {keys[:5]}{" ..." if len(keys) > 5 else ""}'
             for label, keys in (('missing in the checkpoint', missing),
                                 ('not in the model', unexpected),
                                 ('other shapes', reshaped)) if keys]
    raise RuntimeError(
        f'cannot resume from {runner._load_from or "the last checkpoint"}: it holds another '
        f"model's weights ({'; '.join(parts)}). Nothing was loaded or deleted. Resume with the "
        'config the checkpoint was trained with, or start a new work_dir (load_from=... to '
        'initialize from its weights)')
