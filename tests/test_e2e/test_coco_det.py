"""COCO instance segmentation through tools/train.py and tools/test.py on a tiny fixture.

The fixture has COCO's on-disk format (train2017/ and val2017/ JPEGs,
annotations/instances_{train,val}2017.json with polygon masks), built from skimage sample
photos whose objects are the large bright and dark regions of an Otsu threshold. The model
is the repository's ViTDet Mask R-CNN config, shrunk by a config that inherits it (a
2-block RADIOViT, 32-channel pyramid, 2 classes) and by --cfg-options (128 px, 2 iterations).
"""
import math
import re
from pathlib import Path

import pytest
import torch
from coco_fixture import CLASSES, SAMPLES, SIZE, write_coco
from tool_runner import run_tool

REPO = Path(__file__).resolve().parents[2]
DETECTION_CONFIGS = REPO / 'configs/detection'
MASK_RCNN_CONFIG = DETECTION_CONFIGS / 'radio-vitb_vitdet-mask-rcnn_lsj-100e_coco.py'
TINY_ARCH = dict(embed_dims=64, num_layers=2, num_heads=2)


@pytest.fixture(scope='module')
def coco_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('coco') / 'coco'
    write_coco(root)
    return root


def test_fixture_is_valid_coco(coco_root):
    from pycocotools.coco import COCO

    for split, names in SAMPLES.items():
        coco = COCO(str(coco_root / 'annotations' / f'instances_{split}.json'))
        assert len(coco.getImgIds()) == len(names)
        annotations = coco.loadAnns(coco.getAnnIds())
        assert {a['category_id'] for a in annotations} == {1, 2}
        for ann in annotations:
            x, y, w, h = ann['bbox']
            assert 0 <= x and 0 <= y and x + w <= SIZE and y + h <= SIZE
            # The polygon rasterizes back to roughly the region it was traced from.
            assert abs(coco.annToMask(ann).sum() - ann['area']) < 0.35 * ann['area'] + 40


def _tiny_config(tmp_path):
    """The Mask R-CNN config with a 2-block student and a 32-channel, 2-class detector."""
    c = 32
    config = tmp_path / 'tiny_mask_rcnn.py'
    config.write_text(f'''
_base_ = [{str(MASK_RCNN_CONFIG)!r}]
classes = {CLASSES!r}
model = dict(
    data_preprocessor=dict(pad_size_divisor=64),
    backbone=dict(arch=dict(_delete_=True, **{TINY_ARCH!r}), cpe_max_size={SIZE * 2},
                  window_size=4, drop_path_rate=0.0),
    neck=dict(backbone_channel=64, in_channels=[16, 32, 64, 64], out_channels={c}),
    rpn_head=dict(in_channels={c}, feat_channels={c}),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels={c}),
        bbox_head=dict(in_channels={c}, conv_out_channels={c}, fc_out_channels=64,
                       num_classes=2),
        mask_roi_extractor=dict(out_channels={c}),
        mask_head=dict(in_channels={c}, conv_out_channels={c}, num_classes=2)),
    train_cfg=dict(rpn=dict(sampler=dict(num=64)), rpn_proposal=dict(nms_pre=200),
                   rcnn=dict(sampler=dict(num=32))),
    test_cfg=dict(rpn=dict(nms_pre=200, max_per_img=100), rcnn=dict(max_per_img=20)))
optim_wrapper = dict(paramwise_cfg=dict(num_layers={TINY_ARCH['num_layers']}))
train_dataloader = dict(dataset=dict(metainfo=dict(classes=classes)))
val_dataloader = dict(dataset=dict(metainfo=dict(classes=classes)))
test_dataloader = val_dataloader
''')
    return config


def _data_options(coco_root, side=SIZE):
    size = f'({side},{side})'
    options = [
        # LSJ at 128 px instead of 1024: the pipeline steps that carry the size.
        f'train_dataloader.dataset.pipeline.3.scale={size}',
        f'train_dataloader.dataset.pipeline.4.crop_size={size}',
        f'train_dataloader.dataset.pipeline.6.size={size}',
        f'model.data_preprocessor.batch_augments.0.size={size}',
        'optim_wrapper.type=OptimWrapper',  # AMP belongs on GPUs
    ]
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        options += [f'{loader}.dataset.data_root={coco_root}', f'{loader}.num_workers=0',
                    f'{loader}.persistent_workers=False']
    for loader in ('val_dataloader', 'test_dataloader'):
        options += [f'{loader}.dataset.pipeline.1.scale={size}',
                    f'{loader}.dataset.pipeline.2.size={size}']
    for evaluator in ('val_evaluator', 'test_evaluator'):
        options.append(f'{evaluator}.ann_file={coco_root}/annotations/instances_val2017.json')
    return options



def test_vitdet_mask_rcnn_trains_and_tests(coco_root, tmp_path):
    config = _tiny_config(tmp_path)
    work_dir = tmp_path / 'work'
    output = run_tool('train.py', config, '--work-dir', work_dir, '--cfg-options',
                  'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
                  'train_dataloader.batch_size=2', 'default_hooks.logger.interval=1',
                  *_data_options(coco_root))
    checkpoint = work_dir / 'iter_2.pth'
    assert checkpoint.is_file(), output[-2000:]
    losses = [float(v) for v in re.findall(r' loss: (\S+)', output)]
    assert len(losses) == 2 and all(math.isfinite(v) and v > 0 for v in losses), output[-2000:]
    # Layer-wise decay reached the optimizer: patch embedding lr = base * 0.7 ** 3.
    state = torch.load(checkpoint, map_location='cpu', weights_only=False)
    scales = {g['group_name']: g['lr_scale'] for g in state['optimizer']['param_groups']}
    assert scales['layer_0_no_decay'] == pytest.approx(0.7**3)
    assert scales['layer_3_decay'] == 1.0

    val_metrics = _coco_metrics(output)

    output = run_tool('test.py', config, checkpoint, '--work-dir', tmp_path / 'test',
                  '--cfg-options', *_data_options(coco_root))
    metrics = _coco_metrics(output)
    assert set(metrics) == {'bbox_mAP', 'segm_mAP'}, output[-3000:]
    for name, value in metrics.items():
        assert math.isfinite(value) and 0 <= value <= 1, (name, value)
    # The checkpoint reloads into the same model: test.py repeats the end-of-training val.
    assert metrics == val_metrics


def test_vitdet_trains_with_windows_that_do_not_tile_the_grid(coco_root, tmp_path):
    """ViTDet's own setting: 14-patch windows and pad_size_divisor=32. At 288 px the grid is
    18x18 patches, which 14-patch windows overhang; the windowed blocks pad it."""
    side, window = 288, 14
    assert (side // 16) % window and side % 32 == 0
    work_dir = tmp_path / 'work'
    output = run_tool('train.py', _tiny_config(tmp_path), '--work-dir', work_dir,
                      '--cfg-options', 'train_cfg.max_iters=2', 'train_cfg.val_interval=100',
                      'train_dataloader.batch_size=2', 'default_hooks.logger.interval=1',
                      f'model.backbone.window_size={window}',
                      'model.data_preprocessor.pad_size_divisor=32',
                      *_data_options(coco_root, side))
    assert (work_dir / 'iter_2.pth').is_file(), output[-2000:]
    losses = [float(v) for v in re.findall(r' loss: (\S+)', output)]
    assert len(losses) == 2 and all(math.isfinite(v) and v > 0 for v in losses), output[-2000:]


def _coco_metrics(output):
    return {name: float(value) for name, value in
            re.findall(r'coco/(bbox_mAP|segm_mAP): (\S+)', output)}


@pytest.mark.parametrize('name', sorted(p.name for p in DETECTION_CONFIGS.glob('*.py')))
def test_detection_configs_agree_with_their_backbone(name):
    """Neck width, decay depth and input padding follow each config's RADIOViT."""
    from mmengine.config import Config

    from radio_mm.models.backbones.radio_vit import ARCH_SETTINGS

    cfg = Config.fromfile(str(DETECTION_CONFIGS / name))
    assert cfg.default_scope == 'mmdet' and cfg.custom_imports.imports == ['radio_mm']
    backbone = cfg.model.backbone
    arch = ARCH_SETTINGS[backbone.arch]
    c = arch['embed_dims']
    assert cfg.model.neck.backbone_channel == c
    assert cfg.model.neck.in_channels == [c // 4, c // 2, c, c]
    assert cfg.optim_wrapper.paramwise_cfg.num_layers == arch['num_layers']
    assert cfg.model.data_preprocessor.pad_size_divisor % backbone.patch_size == 0
    if 'cascade' in name:
        assert cfg.model.type == 'CascadeRCNN'
        assert len(cfg.model.roi_head.bbox_head) == len(cfg.model.train_cfg.rcnn) == 3
