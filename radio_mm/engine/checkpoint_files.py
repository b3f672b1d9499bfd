"""Checkpoint files (and sharded checkpoint folders) on a local disk: written so a crash
never leaves half of one (:mod:`radio_mm.utils.atomic_files`), and checked before a resume
reads one (:mod:`radio_mm.utils.checkpoint_checks`, which every loader asks)."""
import os
import os.path as osp
import shutil

from radio_mm.utils.atomic_files import PARTIAL_SUFFIX, partial_name, publish, write_text_atomically

__all__ = ['partial_name', 'publish', 'write_text_atomically', 'remove_partials',
           'remove_checkpoint']


def remove_partials(folder):
    """Delete temporaries a killed process left behind (the lock makes them nobody's)."""
    if not osp.isdir(folder):
        return []
    stale = [osp.join(folder, f) for f in os.listdir(folder)
             if f.startswith('.') and f.endswith(PARTIAL_SUFFIX)]
    for path in stale:
        remove_checkpoint(path)
    return stale


def remove_checkpoint(path):
    """Delete a checkpoint file or a sharded checkpoint folder."""
    if osp.isdir(path):
        shutil.rmtree(path)
    else:
        os.remove(path)
