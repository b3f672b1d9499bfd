"""Every shipped config trains (and tests, where it has a test loop) after shrinking.

The shrinking rules live in ``shrink_rules.py``; this test runs ``config_shrinker.py`` in a
few subprocesses, each handling one toolbox's configs (one mmseg/mmdet/mmpretrain import
each), two at a time, and reports per config. Milestones, schedulers and hook intervals are
moved into the few iterations run, so every resolution stage of a distillation recipe is
crossed.
"""
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import config_shrinker
import pytest

REPO = Path(__file__).resolve().parents[2]
FOLDERS = ('distill', 'segmentation', 'detection', 'classification', 'sam')
CONFIGS = sorted(str(p.relative_to(REPO)) for folder in FOLDERS
                 for p in (REPO / 'configs' / folder).glob('*.py'))
# One process per group; the groups run two at a time (the CI machine has 2 cores).
GROUPS = [[c for c in CONFIGS if c.startswith(f'configs/{folder}/')] for folder in FOLDERS]

pytestmark = pytest.mark.all_configs


def _run_group(configs, work_dir):
    out = work_dir / 'results.json'
    env = dict(os.environ, OMP_NUM_THREADS='1',
               PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get('PYTHONPATH', '')]))
    proc = subprocess.run(
        [sys.executable, str(Path(config_shrinker.__file__)), '--work-dir', str(work_dir),
         '--out', str(out), *configs], cwd=REPO, capture_output=True, text=True, env=env,
        timeout=900)
    results = json.loads(out.read_text()) if out.is_file() else {}
    for config in configs:  # a crashed process leaves its remaining configs unreported
        results.setdefault(config, dict(error=proc.stdout[-3000:] + proc.stderr[-3000:]))
    return results


@pytest.fixture(scope='module')
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp('all_configs')
    groups = [g for g in GROUPS if g]
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = pool.map(_run_group, groups, [root / str(i) for i in range(len(groups))])
        merged = {}
        for run in runs:
            merged.update(run)
    return merged


@pytest.mark.parametrize('config', CONFIGS)
def test_config_runs(config, results):
    result = results[config]
    assert 'error' not in result, f'{config} failed:\n{result["error"]}'
    if 'iters' in result:  # trained: to the end of its shrunk schedule
        assert result['iters'] == result['max_iters'] > 0
    else:
        assert 'test' in result, f'{config} neither trains nor tests'
    for start in result.get('milestones', []):
        assert 0 < start < config_shrinker.ITERS  # the run crossed it
