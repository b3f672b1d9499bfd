"""Files replaced in one step: a crash leaves the old file or the complete new one, never a
prefix. Checkpoints (sharded checkpoint folders too: :func:`publish_folder`),
``last_checkpoint``, teacher-cache shards and manifests and cached zero-shot weights use it.

A file is written under a hidden temporary name in its own folder, flushed to disk and then
renamed over the final name (a rename within one file system is atomic).
"""
import os
import os.path as osp
import shutil

import torch

# `.iter_6.pth.partial`: hidden, and never matched by checkpoint or shard name patterns.
PARTIAL_SUFFIX = '.partial'


def partial_name(filename):
    """The temporary name ``filename`` is written under before :func:`publish`."""
    return f'.{filename}{PARTIAL_SUFFIX}'


def partial_path(path):
    """``folder/.name.partial`` for ``folder/name``."""
    return osp.join(osp.dirname(path), partial_name(osp.basename(path)))


def publish(partial, final_path):
    """fsync ``partial`` and rename it to ``final_path`` (replacing it atomically)."""
    with open(partial, 'rb+') as f:
        os.fsync(f.fileno())
    os.replace(partial, final_path)
    _fsync_folder(osp.dirname(final_path) or '.')


def publish_folder(partial, final_path):
    """Rename the complete folder ``partial`` to ``final_path`` (a sharded checkpoint). A
    rename cannot replace a non-empty folder: an existing one (the same step saved again)
    is moved aside first and deleted after."""
    old = None
    if osp.exists(final_path):
        old = partial_path(final_path + '.old')
        if osp.exists(old):
            shutil.rmtree(old)
        os.replace(final_path, old)
    os.replace(partial, final_path)
    _fsync_folder(osp.dirname(final_path) or '.')
    if old is not None:
        shutil.rmtree(old)


def write_text_atomically(path, text):
    """Replace the text file ``path`` (``last_checkpoint``, a JSON manifest) in one step."""
    partial = partial_path(path)
    with open(partial, 'w') as f:
        f.write(text)
    publish(partial, path)


def save_torch_atomically(obj, path):
    """``torch.save(obj, path)`` in one step. Writers that may run at once (every rank
    computing the same file) each write their own partial file, so none reads a mix."""
    partial = osp.join(osp.dirname(path), partial_name(f'{osp.basename(path)}.{os.getpid()}'))
    torch.save(obj, partial)
    publish(partial, path)


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
