"""Is a checkpoint file complete and undamaged? Asked before any reader loads one: a resume
(:class:`~radio_mm.engine.hooks.ResumableCheckpointHook`), ``load_from`` and ``tools/test.py``
(:mod:`radio_mm.apis.run_config`) and ``radio_model()``
(:func:`radio_mm.formats.radio_checkpoint.load_checkpoint_file`) all ask
:func:`check_resumable`, so a truncated or bit-rotted file is refused the same way on every
path, naming the last complete checkpoint beside it.
"""
import os
import os.path as osp
import re
import zipfile

from .checksums import checksum_problem

# Sharded checkpoints (radio_mm.engine.sharded_checkpoint) are folders iter_N.dcp/ holding
# torch.distributed.checkpoint's files and the rank-0 part in SHARDED_EXTRA.
SHARDED_SUFFIX = '.dcp'
SHARDED_EXTRA = 'extra.pth'
DCP_METADATA = '.metadata'
# mmengine's CheckpointHook names: iter_N.pth / epoch_N.pth (filename_tmpl defaults), and
# the sharded folders.
CHECKPOINT_NAME = re.compile(r'^(?:iter|epoch)_(\d+)(?:\.pth|\.dcp)$')
# torch.save's legacy (non-zip) format starts with a pickle protocol opcode.
PICKLE_PROTO = b'\x80'


def checkpoint_problem(path):
    """Why ``path`` cannot be resumed from, or None if it looks complete.

    A truncated file is found cheaply: torch's zip format keeps its directory at the end
    of the file. A file saved with a checksum beside it (``<file>.sha256``, written by
    :class:`ResumableCheckpointHook`) is hashed too, which finds damaged bytes inside a
    tensor (about 1 s per GB).
    """
    if not path:
        return 'no checkpoint is named (empty path)'
    if osp.isdir(path):
        return sharded_checkpoint_problem(path)
    if not osp.isfile(path):
        return 'the file does not exist'
    if osp.getsize(path) == 0:
        return 'the file is empty (0 bytes): the run stopped while writing it'
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                archive.infolist()
        except (zipfile.BadZipFile, OSError) as error:
            return f'the file is damaged ({error})'
        return checksum_problem(path)
    with open(path, 'rb') as f:
        if f.read(1) == PICKLE_PROTO:
            return checksum_problem(path)  # legacy torch.save format: nothing else to check
    return (f'the file is truncated or not a torch checkpoint ({osp.getsize(path)} bytes, '
            'no zip directory at its end)')


def sharded_checkpoint_problem(path):
    """Why the folder ``path`` is not a complete sharded checkpoint, or None. A save
    publishes the folder only once every rank has written (a rename), so a folder under
    its final name with both files is complete."""
    if not path.rstrip('/').endswith(SHARDED_SUFFIX):
        return f'it is a folder, not a checkpoint file nor a sharded {SHARDED_SUFFIX} folder'
    lacking = [name for name in (DCP_METADATA, SHARDED_EXTRA)
               if not osp.isfile(osp.join(path, name))]
    if lacking:
        return f'the sharded checkpoint folder lacks {lacking}'
    return None


def last_good_checkpoint(folder, exclude=()):
    """The highest-numbered iter_N/epoch_N checkpoint in ``folder`` that looks complete."""
    if not osp.isdir(folder):
        return None
    numbered = []
    for name in os.listdir(folder):
        match = CHECKPOINT_NAME.match(name)
        if match:
            numbered.append((int(match.group(1)), osp.join(folder, name)))
    for _, path in sorted(numbered, reverse=True):
        if path not in exclude and checkpoint_problem(path) is None:
            return path
    return None


def check_resumable(path, work_dir, named_by=None, action='resume'):
    """Raise a clear error unless ``path`` is a complete, undamaged checkpoint.

    The error names the file, what is wrong with it, and the last complete checkpoint in
    ``work_dir`` to use instead. ``named_by`` says where the path came from (e.g.
    ``work_dir/last_checkpoint``); ``action`` is 'resume' (``--resume``) or 'load'
    (``load_from``, ``radio_model()``, ``tools/test.py``).
    """
    problem = checkpoint_problem(path)
    if problem is None:
        return
    source = f' (named by {named_by})' if named_by else ''
    good = last_good_checkpoint(work_dir, exclude=(path, ))
    if action == 'resume':
        advice = (f'The last complete checkpoint in {work_dir} is {good}: resume from it with '
                  f'--resume {good}' if good else
                  f'{work_dir} holds no complete checkpoint: train without --resume')
    else:
        advice = (f'The last complete checkpoint in {work_dir} is {good}' if good else
                  f'{work_dir} holds no other complete checkpoint')
    raise RuntimeError(f'cannot {action} from {path!r}{source}: {problem}. {advice}.')
