"""Run a tools/ script the way a user does, and fail with its output when it fails."""
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_tool(script, *args, cwd=REPO, env=None, timeout=300):
    """``python tools/<script> args...`` -> combined stdout and stderr."""
    proc = subprocess.run([sys.executable, str(REPO / 'tools' / script), *map(str, args)],
                          cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    return output
