"""Are the teachers' checkpoint files there? One answer for all teachers, before any is built.

Building a ViT-g teacher takes a while; failing on the third teacher's file after building the
first two, with one file named per attempt, sends a user round the loop once per teacher. So
the distiller checks every ``pretrained`` path of its teacher configs first and names each
missing file with the ``tools/fetch_teachers.py`` command that downloads it.
"""
import os.path as osp

from .weight_tables import AM_RADIO_TEACHERS, RELEASE_TEACHER_WEIGHTS

FETCH_SCRIPT = 'tools/fetch_teachers.py'


def fetch_command(path):
    """The fetch_teachers.py command that writes ``path``, or None if it fetches no such file.

    A file is fetchable when it sits where fetch_teachers.py puts a paper teacher's checkpoint
    (``<out-dir>/<file name of that teacher>``), whatever the folder.
    """
    normalized = osp.normpath(path).replace(osp.sep, '/')
    tables = {**{name: t.weights for name, t in AM_RADIO_TEACHERS.items()},
              **RELEASE_TEACHER_WEIGHTS}
    for name, weights in tables.items():
        filename = weights.filename
        if normalized == filename or normalized.endswith('/' + filename):
            out_dir = normalized[:-len(filename)].rstrip('/') or '.'
            return f'python {FETCH_SCRIPT} --out-dir {out_dir} --teachers {name}'
    return None


def missing_weights_message(missing):
    """One message for ``missing``: a list of (teacher description, path, how to obtain it)."""
    noun = 'checkpoint is' if len(missing) == 1 else f'{len(missing)} checkpoints are'
    lines = [f'teacher {noun} missing (no teacher was built):']
    for description, path, hint in missing:
        command = fetch_command(path)
        lines.append(f'  {description}: {path}')
        lines.append(f'      {command}' if command else f'      to obtain it: {hint}')
    return '\n'.join(lines)


def describe_cfg(cfg):
    return f"{cfg.get('type', 'teacher')} {cfg.get('name', '?')!r}"


def check_teacher_weights(teacher_cfgs):
    """Raise one FileNotFoundError naming every teacher config whose ``pretrained`` file is
    missing (configs without ``pretrained`` build random weights and pass)."""
    missing = [(describe_cfg(cfg), cfg['pretrained'], 'see the teacher class documentation')
               for cfg in teacher_cfgs
               if cfg.get('pretrained') is not None and not osp.isfile(cfg['pretrained'])]
    if missing:
        raise FileNotFoundError(missing_weights_message(missing))
