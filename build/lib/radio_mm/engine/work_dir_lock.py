"""One training run per work dir.

Two runs writing into one work dir replace each other's checkpoints, ``last_checkpoint`` and
config dump without an error. ``tools/train.py`` therefore claims the work dir with an
exclusive ``flock`` on ``<work_dir>/.train.lock``, which holds the owner's pid and host for
the error message. The kernel drops the lock when its process ends, however it ends, so the
lock of a killed run is stale by construction and the next run simply takes it over.
"""
import atexit
import fcntl
import os
import os.path as osp
import socket

from mmengine.logging import print_log

LOCK_NAME = '.train.lock'
# Locks this process holds: {real work dir path: open lock file} (open = held).
_held = {}


class WorkDirInUse(RuntimeError):
    """Another live process trains into the same work dir."""


def lock_work_dir(work_dir):
    """Claim ``work_dir`` for this process until it exits; raises :class:`WorkDirInUse`.

    Claiming a work dir this process already holds is a no-op (runs built one after another
    in one script).
    """
    os.makedirs(work_dir, exist_ok=True)
    key = osp.realpath(work_dir)
    if key in _held:
        return
    path = osp.join(work_dir, LOCK_NAME)
    lock_file = open(path, 'a+')
    try:
        fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock_file.seek(0)
        owner = lock_file.read().strip() or 'unknown'
        lock_file.close()
        raise WorkDirInUse(
            f'work dir {work_dir!r} is in use by another training run ({owner}); its '
            'checkpoints and config dump would be overwritten. Pass another --work-dir, or '
            f'stop that run first. (The lock, {path}, is released when its process ends.)'
        ) from None
    lock_file.seek(0)
    previous = lock_file.read().strip()
    if previous:
        print_log(f'taking over {path} from a run that is no longer running ({previous})',
                  logger='current')
    lock_file.seek(0)
    lock_file.truncate()
    lock_file.write(f'pid {os.getpid()} on host {socket.gethostname()}\n')
    lock_file.flush()
    _held[key] = lock_file
    atexit.register(unlock_work_dir, work_dir)


def unlock_work_dir(work_dir):
    """Release a claim of :func:`lock_work_dir` before the process ends."""
    lock_file = _held.pop(osp.realpath(work_dir), None)
    if lock_file is not None:
        lock_file.seek(0)
        lock_file.truncate()  # a later run finds no owner to report
        lock_file.close()
