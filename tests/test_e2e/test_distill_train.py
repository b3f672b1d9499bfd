"""tools/train.py on the distillation demo config, shrunk, on real images.

Covers: checkpoint + PCA picture written, corrupt images skipped and reported, the
checkpoint loading back through radio_model, resume continuing the same schedule, and a
2-process DDP run (gloo on CPU) through tools/dist_train.sh.
"""
import glob
import json
import os
import os.path as osp
import shutil
import subprocess

import pytest
import torch
from PIL import Image
from skimage import data

from radio_mm.apis import radio_model

SMALL = """
_base_ = ['{demo}']
model = dict(
    student=dict(backbone=dict(arch=dict(embed_dims=32, num_layers=2, num_heads=2))),
    adaptor_cfg=dict(hidden_dims=32),
    partitions=[
        dict(teachers=['clip', 'dino_v2'], batch_fraction=0.5, resolutions=[(64, 64)]),
        dict(teachers=['sam'], batch_fraction=0.5, resolutions=[(128, 128)]),
    ])
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                        dataset=dict(_delete_=True, type='UnlabeledImageDataset',
                                     data_root='{images}', pipeline={{{{_base_.train_pipeline}}}}))
train_cfg = dict(max_iters={iters})
param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=6)]
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=3, max_keep_ckpts=5))
custom_hooks = [dict(type='SkippedImagesHook'), dict(type='RADIOModelMetaHook'),
                dict(type='FeaturePCAHook', size=64)]
"""


@pytest.fixture(scope='module')
def small_config(tmp_path_factory, repo_root):
    root = tmp_path_factory.mktemp('distill')
    images = root / 'images'
    images.mkdir()
    for name in ('astronaut', 'coffee', 'chelsea', 'rocket'):
        Image.fromarray(getattr(data, name)()).save(images / f'{name}.png')
    (images / 'corrupt.jpg').write_bytes(b'\xff\xd8 broken jpeg')

    def write(iters):
        path = root / f'distill_{iters}.py'
        path.write_text(SMALL.format(demo=osp.join(repo_root, 'configs/distill/radio_demo.py'),
                                     images=images, iters=iters))
        return str(path)

    return write


def train(python, repo_root, config, work_dir, *extra):
    result = subprocess.run([python, 'tools/train.py', config, '--work-dir', str(work_dir),
                             *extra], cwd=repo_root, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def scalars(work_dir):
    """Per-iteration training log records of the newest run in ``work_dir`` (the demo's
    end-of-training validation records have no ``iter``)."""
    path = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))[-1]
    with open(path) as f:
        return [record for record in map(json.loads, f) if 'iter' in record]


def test_train_writes_checkpoint_picture_and_reports_skips(small_config, tmp_path, python,
                                                          repo_root):
    log = train(python, repo_root, small_config(6), tmp_path)
    assert osp.isfile(tmp_path / 'iter_6.pth')
    assert 'skipped 1 unreadable images' in log and 'corrupt.jpg' in log
    records = scalars(tmp_path)
    assert records[-1]['skipped_images'] == 1
    assert {'loss_clip_summary', 'clip_feature_cos', 'loss_sam_features'} <= set(records[-1])
    picture = Image.open(tmp_path / 'feature_pca' / 'iter_6.png')
    assert picture.height > 64 and picture.width > 7 * 64  # image + student + 3 x 2 panels

    student = radio_model(str(tmp_path / 'iter_6.pth'), adaptor_names=['clip', 'sam'])
    with torch.no_grad():
        out = student(torch.rand(1, 3, 64, 64))
    assert out['clip'].summary.shape == (1, 96)  # the demo CLIP teacher's embed_dim
    assert out['sam'].features.shape[-1] == 256  # SAM's neck width
    assert out['backbone'].summary.shape == (1, 2 * 32)


def test_resume_continues_the_same_schedule(small_config, tmp_path, python, repo_root):
    full = tmp_path / 'full'
    train(python, repo_root, small_config(6), full)
    interrupted = tmp_path / 'interrupted'
    shutil.copytree(full, interrupted)
    # Pretend the run died after iteration 3.
    os.remove(interrupted / 'iter_6.pth')
    (interrupted / 'last_checkpoint').write_text(str(interrupted / 'iter_3.pth'))
    for folder in glob.glob(str(interrupted / '2*')):
        shutil.rmtree(folder)
    log = train(python, repo_root, small_config(6), interrupted, '--resume')
    assert 'resumed epoch: 0, iter: 3' in log
    resumed = scalars(interrupted)
    assert [r['iter'] for r in resumed] == [4, 5, 6]
    reference = {r['iter']: r['lr'] for r in scalars(full)}
    assert [r['lr'] for r in resumed] == pytest.approx([reference[i] for i in (4, 5, 6)])
    assert osp.isfile(interrupted / 'iter_6.pth')


@pytest.mark.multiprocess
def test_two_process_ddp(small_config, tmp_path, python, repo_root):
    env = dict(os.environ, PYTHON=python, PORT='29533', OMP_NUM_THREADS='1')
    result = subprocess.run(
        ['bash', 'tools/dist_train.sh', small_config(2), '2', '--work-dir', str(tmp_path)],
        cwd=repo_root, capture_output=True, text=True, env=env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert 'Distributed training: True' in output
    assert 'using the gloo backend' in output
    assert osp.isfile(tmp_path / 'iter_2.pth')
    # Each rank's random generators, for an exact resume.
    states = torch.load(tmp_path / 'iter_2.pth')['rng_states']
    assert len(states) == 2 and all('torch' in s and 'numpy' in s for s in states)
