"""FSDP2 (FullyShardWrapper + ShardedRunner) through tools/dist_train.sh on 2 CPU processes
(gloo), against mmengine's DDP on the same data, and sharded checkpoints resumed at another
world size.

The toy distiller is batch-linear (no random CPE crops, no augmentation), so a batch of 2
on one process is the union of two ranks' batches of 1 and runs at 1 and 2 processes follow
the same trajectory.
"""
import os
import os.path as osp
import shutil
import socket
import subprocess
import sys

import pytest
import torch
from PIL import Image
from script_loader import load_script
from skimage import data

from radio_mm.apis import radio_model
from radio_mm.apis.official_export import export_official_checkpoint
from radio_mm.engine.sharded_checkpoint import consolidate
from radio_mm.formats.hf_checkpoint import hf_export
from radio_mm.formats.radio_checkpoint import read_radio_checkpoint

pytestmark = pytest.mark.multiprocess

TOY = """
_base_ = ['{demo}']
model = dict(
    student=dict(backbone=dict(arch=dict(embed_dims=32, num_layers=2, num_heads=2),
                               cpe_train_crop=False)),
    adaptor_cfg=dict(hidden_dims=32),
    partitions=[dict(teachers=['clip', 'dino_v2', 'sam'], resolutions=[(64, 64)])])
pipeline = [dict(type='mmpretrain.Resize', scale=(64, 64)), dict(type='PackImageInputs')]
train_dataloader = dict(batch_size=1, num_workers=0, persistent_workers=False,
                        sampler=dict(type='InfiniteSampler', shuffle=True, seed=0),
                        dataset=dict(_delete_=True, type='UnlabeledImageDataset',
                                     data_root='{images}', pipeline=pipeline))
train_cfg = dict(max_iters=6, val_interval=1000)
val_cfg = val_dataloader = val_evaluator = None
test_cfg = test_dataloader = test_evaluator = None
randomness = dict(seed=0)
# SGD: Adam's m / sqrt(v) turns float-level differences of near-zero gradients (a
# reduce-scatter sums in another order than an all-reduce) into whole steps.
optim_wrapper = dict(optimizer=dict(_delete_=True, type='SGD', lr=0.05, momentum=0.9))
param_scheduler = [dict(type='LinearLR', start_factor=0.5, by_epoch=False, begin=0, end=6)]
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=2, max_keep_ckpts=3))
custom_hooks = [dict(type='RADIOModelMetaHook'), dict(type='StudentEMAHook', momentum=0.5)]
model_wrapper_cfg = dict(_delete_=True, type='{wrapper}')
"""


@pytest.fixture(scope='module')
def configs(tmp_path_factory, repo_root):
    root = tmp_path_factory.mktemp('fsdp')
    images = root / 'images'
    images.mkdir()
    for name in ('astronaut', 'coffee', 'chelsea', 'rocket'):
        Image.fromarray(getattr(data, name)()).save(images / f'{name}.png')
    paths = {}
    for kind, wrapper in (('fsdp', 'radio_mm.FullyShardWrapper'),
                          ('ddp', 'MMDistributedDataParallel')):
        paths[kind] = root / f'toy_{kind}.py'
        paths[kind].write_text(TOY.format(demo=osp.join(repo_root, 'configs/distill/radio_demo.py'),
                                          images=images, wrapper=wrapper))
    return paths


def dist_train(repo_root, config, processes, work_dir, *extra):
    """tools/dist_train.sh; with one process the batch doubles, so every step sees the
    images two ranks of batch 1 see."""
    with socket.socket() as s:  # a free port: other runs may share the machine
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(port), OMP_NUM_THREADS='1')
    batch = [] if processes == 2 else ['--cfg-options', 'train_dataloader.batch_size=2']
    result = subprocess.run(
        ['bash', 'tools/dist_train.sh', str(config), str(processes), '--work-dir',
         str(work_dir), *extra, *batch], cwd=repo_root, capture_output=True, text=True,
        env=env, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    return output


@pytest.fixture(scope='module')
def fsdp_run(configs, repo_root, tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('fsdp_run')
    log = dist_train(repo_root, configs['fsdp'], 2, work_dir)
    return work_dir, log


def assert_same_state(sharded, plain, tolerance=0.0):
    """Weights, EMA and optimizer state of two checkpoint dicts agree within ``tolerance``."""
    for key in ('state_dict', 'ema_state_dict'):
        assert sharded[key].keys() == plain[key].keys()
        for name, value in plain[key].items():
            torch.testing.assert_close(sharded[key][name], value, atol=tolerance,
                                       rtol=tolerance, msg=f'{key}[{name!r}]')
    ours, theirs = sharded['optimizer'], plain['optimizer']
    assert [g['params'] for g in ours['param_groups']] == \
        [g['params'] for g in theirs['param_groups']]
    assert [g['lr'] for g in ours['param_groups']] == \
        pytest.approx([g['lr'] for g in theirs['param_groups']])
    assert ours['state'].keys() == theirs['state'].keys()
    for index, state in theirs['state'].items():
        for name, value in state.items():
            torch.testing.assert_close(ours['state'][index][name], value, atol=tolerance,
                                       rtol=tolerance, msg=f'optimizer state {index} {name}')


def test_fsdp2_trains_as_ddp_does(fsdp_run, configs, repo_root, tmp_path):
    work_dir, log = fsdp_run
    assert 'FullyShardWrapper: 11 blocks sharded over 2 ranks' in log  # 2 student + 3 x 3
    assert 'grad_norm' in log  # clipping on sharded gradients
    assert sorted(p for p in os.listdir(work_dir) if p.endswith('.dcp')) == \
        ['iter_2.dcp', 'iter_4.dcp', 'iter_6.dcp']
    assert sorted(os.listdir(work_dir / 'iter_6.dcp')) == \
        ['.metadata', '__0_0.distcp', '__1_0.distcp', 'extra.pth']
    dist_train(repo_root, configs['ddp'], 2, tmp_path)
    ddp = torch.load(tmp_path / 'iter_6.pth', weights_only=False)
    sharded = consolidate(str(work_dir / 'iter_6.dcp'))
    assert_same_state(sharded, ddp, tolerance=1e-6)
    assert sharded['meta']['iter'] == 6 and 'radio_model' in sharded['meta']


@pytest.fixture(scope='module')
def resumed_on_one(fsdp_run, configs, repo_root, tmp_path_factory):
    """The 2-process run died after iteration 2; one process takes over (2 -> 1)."""
    work_dir, _ = fsdp_run
    one = tmp_path_factory.mktemp('one')
    shutil.copytree(work_dir / 'iter_2.dcp', one / 'iter_2.dcp')
    log = dist_train(repo_root, configs['fsdp'], 1, one, '--resume', str(one / 'iter_2.dcp'))
    return one, log


def test_resume_two_processes_on_one(resumed_on_one, fsdp_run):
    one, log = resumed_on_one
    assert 'resumed epoch: 0, iter: 2 from the sharded checkpoint' in log
    assert sorted(os.listdir(one / 'iter_4.dcp')) == ['.metadata', '__0_0.distcp', 'extra.pth']
    for step in (4, 6):
        assert_same_state(consolidate(str(one / f'iter_{step}.dcp')),
                          consolidate(str(fsdp_run[0] / f'iter_{step}.dcp')), tolerance=1e-5)


def test_resume_one_process_on_two(resumed_on_one, fsdp_run, configs, repo_root, tmp_path):
    # the checkpoint one process wrote, resumed by two ('auto': last_checkpoint names it)
    shutil.copytree(resumed_on_one[0] / 'iter_4.dcp', tmp_path / 'iter_4.dcp')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_4.dcp'))
    log = dist_train(repo_root, configs['fsdp'], 2, tmp_path, '--resume')
    assert 'resumed epoch: 0, iter: 4 from the sharded checkpoint' in log
    assert_same_state(consolidate(str(tmp_path / 'iter_6.dcp')),
                      consolidate(str(fsdp_run[0] / 'iter_6.dcp')), tolerance=1e-5)


def test_consolidated_checkpoint_loads_and_exports(fsdp_run, tmp_path, repo_root,
                                                   monkeypatch):
    work_dir, _ = fsdp_run
    out = tmp_path / 'student.pth'
    tool = load_script('tools/model_converters/consolidate_checkpoint.py')
    monkeypatch.setattr(sys, 'argv', ['consolidate_checkpoint.py',
                                      str(work_dir / 'iter_6.dcp'), str(out)])
    tool.main()
    saved = torch.load(out, weights_only=False)
    assert saved['state_dict'].keys() == consolidate(str(work_dir / 'iter_6.dcp'))[
        'state_dict'].keys()
    student = radio_model(str(out), adaptor_names=['clip', 'sam'])
    ema = saved['state_dict']  # the deployable (EMA) weights, as in unsharded runs
    assert torch.equal(student.backbone.blocks[0].attn.qkv.weight,
                       ema['student.backbone.blocks.0.attn.qkv.weight'])
    with torch.no_grad():
        output = student(torch.rand(1, 3, 64, 64))
    assert output['clip'].summary.shape == (1, 96)
    release = export_official_checkpoint(str(out))  # what mm2radio.py writes
    assert 'state_dict_ema' in release
    config, weights, _ = hf_export(read_radio_checkpoint(str(out)))  # what radio2hf writes
    assert weights and config
