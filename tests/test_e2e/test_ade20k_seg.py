"""ADE20K segmentation through tools/train.py and tools/test.py on a tiny on-disk fixture.

The fixture has ADEChallengeData2016's real layout and label encoding (uint8 PNGs, 0 =
"other" which reduce_zero_label ignores, classes from 1), built from skimage sample photos
with labels from colour prototypes. The configs are the repository's own, shrunk to a
2-block RADIOViT and 64x64 crops by a config that inherits them, as a user would.
"""
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import skimage.data
import torch
from PIL import Image
from skimage.transform import resize
from tool_runner import run_tool

REPO = Path(__file__).resolve().parents[2]
LINEAR_CONFIG = REPO / 'configs/segmentation/radio-vitb_linear_ade20k-512x512.py'
TINY_ARCH = dict(embed_dims=64, num_layers=2, num_heads=2)
SIZE = 64
SAMPLES = {
    'training': ['astronaut', 'coffee', 'chelsea', 'rocket'],
    'validation': ['immunohistochemistry', 'hubble_deep_field'],
}
# Label = nearest prototype colour + 1 (ADE classes start at 1); 0 marks a border band.
PROTOTYPES = np.array([[20, 20, 20], [200, 60, 50], [60, 150, 70], [80, 90, 200],
                       [230, 230, 230]], dtype=np.float32)


def _label_map(image):
    """(H, W, 3) uint8 -> (H, W) uint8 ADE labels: 1..5 by colour, 0 on a 4-px border."""
    distances = ((image[:, :, None].astype(np.float32) - PROTOTYPES)**2).sum(-1)
    labels = distances.argmin(-1).astype(np.uint8) + 1
    labels[:4] = 0
    return labels


def _write_ade20k(root):
    for split, names in SAMPLES.items():
        (root / 'images' / split).mkdir(parents=True)
        (root / 'annotations' / split).mkdir(parents=True)
        prefix = 'train' if split == 'training' else 'val'
        for i, name in enumerate(names, start=1):
            photo = resize(getattr(skimage.data, name)(), (SIZE, SIZE), anti_aliasing=True)
            image = (photo * 255).round().astype(np.uint8)
            stem = f'ADE_{prefix}_{i:08d}'
            Image.fromarray(image).save(root / 'images' / split / f'{stem}.jpg', quality=95)
            Image.fromarray(_label_map(image)).save(root / 'annotations' / split / f'{stem}.png')


@pytest.fixture(scope='module')
def ade_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('ade') / 'ADEChallengeData2016'
    _write_ade20k(root)
    return root


def test_fixture_reads_as_ade20k(ade_root):
    from mmseg.datasets import ADE20KDataset
    dataset = ADE20KDataset(
        data_root=str(ade_root),
        data_prefix=dict(img_path='images/training', seg_map_path='annotations/training'),
        pipeline=[dict(type='mmseg.LoadImageFromFile'),
                  dict(type='mmseg.LoadAnnotations', reduce_zero_label=True)])
    assert len(dataset) == len(SAMPLES['training'])
    assert len(dataset.metainfo['classes']) == 150
    sample = dataset[0]
    assert sample['img'].shape == (SIZE, SIZE, 3)
    values = set(np.unique(sample['gt_seg_map']).tolist())
    # 0 ("other") became the ignore index, classes 1..5 became 0..4.
    assert 255 in values and values - {255} <= set(range(len(PROTOTYPES)))
    assert len(values - {255}) >= 3


def _tiny_pipelines():
    train = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', reduce_zero_label=True),
        dict(type='RandomResize', scale=(256, SIZE), ratio_range=(1.0, 1.5), keep_ratio=True),
        dict(type='RandomCrop', crop_size=(SIZE, SIZE), cat_max_ratio=0.75),
        dict(type='RandomFlip', prob=0.5),
        dict(type='PackSegInputs'),
    ]
    test = [
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=(256, 72), keep_ratio=True),
        dict(type='LoadAnnotations', reduce_zero_label=True),
        dict(type='PackSegInputs'),
    ]
    return train, test



def _data_options(ade_root):
    options = [f'train_dataloader.dataset.data_root={ade_root}',
               f'val_dataloader.dataset.data_root={ade_root}',
               f'test_dataloader.dataset.data_root={ade_root}']
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        options += [f'{loader}.num_workers=0', f'{loader}.persistent_workers=False']
    return options


def test_linear_probe_trains_and_tests(ade_root, tmp_path):
    from radio_mm.models.backbones import RADIOViT

    # Random "pretrained" student weights, saved as a segmentor checkpoint would hold them.
    backbone = RADIOViT(arch=TINY_ARCH, cpe_max_size=256, num_summary_tokens=4,
                        register_multiple=8)
    pretrained = {f'backbone.{k}': v.clone() for k, v in backbone.state_dict().items()}
    torch.save(dict(state_dict=pretrained), tmp_path / 'student.pth')

    train_pipeline, test_pipeline = _tiny_pipelines()
    config = tmp_path / 'tiny_linear.py'
    # The repository config, shrunk; `_delete_` because the base names the arch by string.
    config.write_text(f"""
_base_ = [{str(LINEAR_CONFIG)!r}]
model = dict(
    data_preprocessor=dict(size=({SIZE}, {SIZE})),
    backbone=dict(
        arch=dict(_delete_=True, **{TINY_ARCH!r}), cpe_max_size=256,
        init_cfg=dict(type='Pretrained', checkpoint={str(tmp_path / 'student.pth')!r},
                      prefix='backbone.')),
    decode_head=dict(in_channels=[{TINY_ARCH['embed_dims']}]))
train_dataloader = dict(dataset=dict(pipeline={train_pipeline!r}))
val_dataloader = dict(dataset=dict(pipeline={test_pipeline!r}))
test_dataloader = val_dataloader
""")

    work_dir = tmp_path / 'work'
    run_tool('train.py', config, '--work-dir', work_dir, '--cfg-options',
         'train_cfg.max_iters=4', 'train_cfg.val_interval=4', 'train_dataloader.batch_size=2',
         'default_hooks.checkpoint.interval=4', 'default_hooks.logger.interval=1',
         'param_scheduler.0.end=2', 'param_scheduler.1.begin=2', 'param_scheduler.1.end=4',
         *_data_options(ade_root))
    checkpoint = work_dir / 'iter_4.pth'
    assert checkpoint.is_file()

    state = torch.load(checkpoint, map_location='cpu')['state_dict']
    for key, value in pretrained.items():
        assert torch.equal(state[key], value), f'frozen backbone weight {key} changed'
    # Head parameters start at BN weight 1 / bias 0 and conv_seg bias 0; training moves them.
    assert not torch.allclose(state['decode_head.bn.weight'], torch.ones(TINY_ARCH['embed_dims']))
    assert state['decode_head.conv_seg.bias'].abs().sum() > 0
    assert state['decode_head.bn.running_mean'].abs().sum() > 0

    output = run_tool('test.py', config, checkpoint, '--work-dir', tmp_path / 'test',
                      '--show-dir', tmp_path / 'show', '--out', tmp_path / 'preds.pkl',
                      '--cfg-options', *_data_options(ade_root))
    # --show-dir drew each validation prediction; --out dumped the raw predictions.
    assert len(list((tmp_path / 'show').rglob('*.png'))) == 2
    assert (tmp_path / 'preds.pkl').stat().st_size > 0
    printed = {name: float(value) for name, value in
               re.findall(r'(aAcc|mIoU|mAcc): (\S+)', output)}
    (metrics_file, ) = (tmp_path / 'test').glob('*/*.json')
    logged = json.loads(metrics_file.read_text())
    assert set(printed) == {'aAcc', 'mIoU', 'mAcc'}, output[-2000:]
    for name, value in printed.items():
        assert math.isfinite(value) and 0 <= value <= 100, (name, value)
        assert logged[name] == pytest.approx(value, abs=1e-2)


def test_user_mmseg_config_with_radio_backbone(ade_root, tmp_path):
    """A plain mmseg config that only imports radio_mm and names the backbone by its scoped
    type."""
    train_pipeline, _ = _tiny_pipelines()
    config = tmp_path / 'user_fcn.py'
    config.write_text(f'''
default_scope = 'mmseg'
custom_imports = dict(imports=['radio_mm'], allow_failed_imports=False)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(type='SegDataPreProcessor', mean=[123.7, 116.3, 103.5],
                           std=[58.4, 57.1, 57.4], bgr_to_rgb=True, size=({SIZE}, {SIZE})),
    backbone=dict(type='radio_mm.RADIOViT', arch={TINY_ARCH!r}, cpe_max_size=256,
                  out_indices=(1, )),
    decode_head=dict(type='FCNHead', in_channels=64, channels=32, num_convs=1,
                     concat_input=False, num_classes=150,
                     norm_cfg=dict(type='SyncBN', requires_grad=True)),
    train_cfg=dict(), test_cfg=dict(mode='whole'))
train_dataloader = dict(
    batch_size=2, num_workers=0, sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='ADE20KDataset', data_root={str(ade_root)!r},
                 data_prefix=dict(img_path='images/training',
                                  seg_map_path='annotations/training'),
                 pipeline={train_pipeline!r}))
train_cfg = dict(type='IterBasedTrainLoop', max_iters=2)
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01, momentum=0.9))
default_hooks = dict(checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=2),
                     logger=dict(type='LoggerHook', interval=1))
log_processor = dict(by_epoch=False)
''')
    work_dir = tmp_path / 'work'
    output = run_tool('train.py', config, '--work-dir', work_dir)
    assert (work_dir / 'iter_2.pth').is_file()
    state = torch.load(work_dir / 'iter_2.pth', map_location='cpu')['state_dict']
    # The RADIOViT trained (not frozen here) inside mmseg's segmentor.
    assert 'backbone.patch_generator.pos_embed' in state
    losses = [float(v) for v in re.findall(r'decode\.loss_ce: (\S+)', output)]
    assert len(losses) == 2 and all(math.isfinite(v) and v > 0 for v in losses), output[-2000:]
