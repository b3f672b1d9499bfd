"""benchmarks/bench_students.py: where results go and which parts run (no timing here)."""
import os.path as osp

import pytest
from script_loader import load_script


@pytest.fixture(scope='module')
def bench():
    return load_script('benchmarks/bench_students.py')


def test_results_go_to_work_dirs_unless_asked_to_update_the_tracked_ones(bench, repo_root):
    args = bench.parse_args([])
    assert args.out_dir == osp.join(repo_root, 'work_dirs', 'benchmarks')
    assert args.parts == ['vit_b', 'eradio', 'kernels', 'distill']
    tracked = bench.parse_args(['--update-results'])
    assert tracked.out_dir == osp.join(repo_root, 'benchmarks', 'results')
    with pytest.raises(SystemExit):  # one or the other
        bench.parse_args(['--update-results', '--out-dir', 'elsewhere'])


def test_official_part_needs_a_checkout(bench, capsys):
    with pytest.raises(SystemExit):
        bench.parse_args(['--parts', 'official'])
    assert 'needs --official-src' in capsys.readouterr().err
    assert bench.parse_args(['--official-src', 'RADIO']).parts[-1] == 'official'


def test_kernels_part_builds_each_step_of_the_deploy_form(bench):
    """The ``kernels`` rows differ in what they claim: PyTorch's kernels only, packed
    oneDNN kernels without Winograd, and both."""
    from radio_mm.models.utils.packed_kernels import PackedConv2d, PackedLinear
    from radio_mm.models.utils.winograd_conv import WinogradConv2d
    spec = dict(type='ERADIO', arch=dict(
        stem_channels=8, base_channels=64, depths=(1, 1, 1, 1), num_heads=(1, 1, 2, 2),
        window_sizes=(None, None, 4, 4), sr_ratios=(1, 1, (2, 1), 1), neck_channels=64,
        neck_start_stage=2, cpb_mlp_hidden=16))

    def kinds(model):
        return {type(m) for m in model.modules()} & {PackedConv2d, PackedLinear, WinogradConv2d}

    assert kinds(bench.deployed_with(spec, packed=False)()) == set()
    assert kinds(bench.deployed_with(spec, winograd=False)()) == {PackedConv2d, PackedLinear}
    assert kinds(bench.deployed_with(spec)()) == {PackedConv2d, PackedLinear, WinogradConv2d}
