"""tools/setup_env.sh's quick path: nothing to install, but still say how to use the venv."""
import glob
import hashlib
import os
import os.path as osp
import shutil
import subprocess


def test_up_to_date_run_prints_the_activation_hint(repo_root, tmp_path):
    os.makedirs(tmp_path / 'tools')
    shutil.copytree(osp.join(repo_root, 'requirements'), tmp_path / 'requirements')
    for name in ('setup.py', 'tools/setup_env.sh'):
        shutil.copy(osp.join(repo_root, name), tmp_path / name)
    # The stamp of an environment set up from exactly these files (the script's own hash).
    hashed = sorted(glob.glob(str(tmp_path / 'requirements' / '*.txt')))
    hashed += [str(tmp_path / 'setup.py'), str(tmp_path / 'tools' / 'setup_env.sh')]
    digest = hashlib.sha256(b''.join(open(p, 'rb').read() for p in hashed)).hexdigest()
    venv_bin = tmp_path / '.venv' / 'bin'
    os.makedirs(venv_bin)
    (venv_bin / 'python').write_text('#!/bin/sh\nexit 1\n')  # never run on this path
    (venv_bin / 'python').chmod(0o755)
    (tmp_path / '.venv' / '.radio_mm_env').write_text(digest + '\n')

    proc = subprocess.run(['bash', str(tmp_path / 'tools' / 'setup_env.sh')],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'environment up to date' in proc.stdout
    assert "source .venv/bin/activate" in proc.stdout
