"""A second live run into a work dir in use is refused; a dead run's lock is taken over."""
import os
import signal
import subprocess

import pytest

from radio_mm.apis import build_train_runner
from radio_mm.engine import work_dir_lock
from radio_mm.engine.work_dir_lock import WorkDirInUse, lock_work_dir, unlock_work_dir

# The first run: a separate process that claims the work dir as tools/train.py does. It loads
# only the lock module (importing all of radio_mm would take most of this test's time).
HOLDER = '''
import importlib.util, sys
spec = importlib.util.spec_from_file_location('work_dir_lock', sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
module.lock_work_dir(sys.argv[2])
print('locked', flush=True)
sys.stdin.read()
'''


def test_a_second_run_is_refused_until_the_first_one_dies(tmp_path, python, repo_root,
                                                          monkeypatch):
    monkeypatch.chdir(repo_root)
    work_dir = tmp_path / 'run'
    first = subprocess.Popen([python, '-c', HOLDER, work_dir_lock.__file__, str(work_dir)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert first.stdout.readline().strip() == 'locked'
        with pytest.raises(WorkDirInUse, match=f'in use by another training run '
                                               f'\\(pid {first.pid} on host'):
            build_train_runner('configs/distill/radio_demo.py', work_dir=str(work_dir))
        # Refused before the Runner dumped its config over the first run's.
        assert os.listdir(work_dir) == ['.train.lock']
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    # Killed without any clean-up: its lock is stale, and the next run takes it over.
    lock_work_dir(str(work_dir))
    try:
        assert (work_dir / '.train.lock').read_text().startswith(f'pid {os.getpid()} ')
    finally:
        unlock_work_dir(str(work_dir))
