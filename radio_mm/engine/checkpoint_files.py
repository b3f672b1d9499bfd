"""Checkpoint files on a local disk: written so a crash never leaves half of one, and checked
before a resume reads one.

A file is written under a hidden temporary name in its own folder, flushed to disk and then
renamed over the final name (a rename within one file system is atomic), so a reader sees the
old file or the complete new one, never a prefix.
"""
import os
import os.path as osp
import re
import zipfile

# `.iter_6.pth.partial`: hidden, and never matched by the checkpoint name patterns below.
PARTIAL_SUFFIX = '.partial'
# mmengine's CheckpointHook names: iter_N.pth / epoch_N.pth (filename_tmpl defaults).
CHECKPOINT_NAME = re.compile(r'^(?:iter|epoch)_(\d+)\.pth$')
# torch.save's legacy (non-zip) format starts with a pickle protocol opcode.
PICKLE_PROTO = b'\x80'


def partial_name(filename):
    """The temporary name ``filename`` is written under before :func:`publish`."""
    return f'.{filename}{PARTIAL_SUFFIX}'


def publish(partial_path, final_path):
    """fsync ``partial_path`` and rename it to ``final_path`` (replacing it atomically)."""
    with open(partial_path, 'rb+') as f:
        os.fsync(f.fileno())
    os.replace(partial_path, final_path)
    _fsync_folder(osp.dirname(final_path) or '.')


def write_text_atomically(path, text):
    """Replace the text file ``path`` (e.g. ``last_checkpoint``) in one step."""
    partial = osp.join(osp.dirname(path), partial_name(osp.basename(path)))
    with open(partial, 'w') as f:
        f.write(text)
    publish(partial, path)


def remove_partials(folder):
    """Delete temporaries a killed process left behind (the lock makes them nobody's)."""
    if not osp.isdir(folder):
        return []
    stale = [osp.join(folder, f) for f in os.listdir(folder)
             if f.startswith('.') and f.endswith(PARTIAL_SUFFIX)]
    for path in stale:
        os.remove(path)
    return stale


def checkpoint_problem(path):
    """Why ``path`` cannot be resumed from, or None if it looks complete.

    Cheap: torch's zip format keeps its directory at the end of the file, so a truncated
    file has none; the tensors themselves are not read.
    """
    if not path:
        return 'no checkpoint is named (empty path)'
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
        return None
    with open(path, 'rb') as f:
        if f.read(1) == PICKLE_PROTO:
            return None  # legacy torch.save format: nothing cheap to check
    return (f'the file is truncated or not a torch checkpoint ({osp.getsize(path)} bytes, '
            'no zip directory at its end)')


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


def check_resumable(path, work_dir, named_by=None):
    """Raise a clear error unless ``path`` is a complete checkpoint.

    The error names the file, what is wrong with it, and the last complete checkpoint in
    ``work_dir`` to resume from instead. ``named_by`` says where the path came from (e.g.
    ``work_dir/last_checkpoint``).
    """
    problem = checkpoint_problem(path)
    if problem is None:
        return
    source = f' (named by {named_by})' if named_by else ''
    good = last_good_checkpoint(work_dir, exclude=(path, ))
    advice = (f'The last complete checkpoint in {work_dir} is {good}: resume from it with '
              f'--resume {good}' if good else
              f'{work_dir} holds no complete checkpoint: train without --resume')
    raise RuntimeError(f'cannot resume from {path!r}{source}: {problem}. {advice}.')


def _fsync_folder(folder):
    """Persist a rename: the folder entry, not only the file's bytes."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open folders
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
