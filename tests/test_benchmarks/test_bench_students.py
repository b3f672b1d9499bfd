"""benchmarks/bench_students.py: where results go and which parts run (no timing here)."""
import importlib.util
import os.path as osp

import pytest


@pytest.fixture(scope='module')
def bench(repo_root):
    spec = importlib.util.spec_from_file_location(
        'bench_students', osp.join(repo_root, 'benchmarks', 'bench_students.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_results_go_to_work_dirs_unless_asked_to_update_the_tracked_ones(bench, repo_root):
    args = bench.parse_args([])
    assert args.out_dir == osp.join(repo_root, 'work_dirs', 'benchmarks')
    assert args.parts == ['vit_b', 'eradio', 'distill']
    tracked = bench.parse_args(['--update-results'])
    assert tracked.out_dir == osp.join(repo_root, 'benchmarks', 'results')
    with pytest.raises(SystemExit):  # one or the other
        bench.parse_args(['--update-results', '--out-dir', 'elsewhere'])


def test_official_part_needs_a_checkout(bench, capsys):
    with pytest.raises(SystemExit):
        bench.parse_args(['--parts', 'official'])
    assert 'needs --official-src' in capsys.readouterr().err
    assert bench.parse_args(['--official-src', 'RADIO']).parts[-1] == 'official'
