"""ImageNet classification (linear probe, k-NN, CLIP zero-shot) through tools/train.py and
tools/test.py on a tiny fixture in ImageNet's folder layout.

The fixture is data_root/{train,val}/<wnid>/*.JPEG with three real wnids, each class one
skimage photo: the train images are different crops and flips of it, and every val image is
a slight shift of one train crop, so a k-NN on even random features finds its class.
mmpretrain's ImageNet asserts 1000 class folders unless the config names the classes, so the
test configs pass ``metainfo=dict(classes=...)``.
The configs are the repository's own, shrunk by configs that inherit them, as a user would.
"""
import json
import math
from pathlib import Path

import numpy as np
import pytest
import skimage.data
import torch
from PIL import Image
from skimage.transform import resize
from tool_runner import run_tool

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / 'configs/classification'
OFFICIAL_TINY = REPO / 'tests/data/radio_official_tiny.pth.tar'
SIZE = 64
# wnid -> (skimage photo, ImageNet class name); labels follow the sorted wnids.
CLASSES = {
    'n02123045': ('chelsea', 'tabby cat'),
    'n03063599': ('coffee', 'coffee mug'),
    'n04266014': ('rocket', 'space shuttle'),
}
CLASS_NAMES = [name for _, name in CLASSES.values()]
TRAIN_PER_CLASS = 4
VAL_PER_CLASS = 2
TINY_ARCH = dict(embed_dims=32, num_layers=2, num_heads=2)
# A 48-d open_clip text tower, like the tiny checkpoint's 'clip' adaptor summary.
TINY_TEXT_TOWER = dict(
    embed_dim=48,
    vision_cfg=dict(image_size=32, patch_size=16, width=32, layers=1, head_width=16),
    text_cfg=dict(context_length=16, vocab_size=49408, width=32, heads=2, layers=1))


def _crop(photo, top, left, size, flip):
    """A square crop of ``photo`` as a SIZE x SIZE uint8 image."""
    patch = photo[top:top + size, left:left + size]
    patch = patch[:, ::-1] if flip else patch
    return (resize(patch, (SIZE, SIZE), anti_aliasing=True) * 255).round().astype(np.uint8)


def _write_imagenet(root):
    rng = np.random.default_rng(0)
    for wnid, (photo_name, _) in CLASSES.items():
        photo = getattr(skimage.data, photo_name)()
        side = min(photo.shape[:2])
        crops = []
        for i in range(TRAIN_PER_CLASS):
            size = int(side * rng.uniform(0.6, 0.9))
            crop = (int(rng.integers(0, photo.shape[0] - size)),
                    int(rng.integers(0, photo.shape[1] - size)), size, i % 2 == 1)
            crops.append(crop)
            _save(root / 'train' / wnid / f'{wnid}_{i}.JPEG', _crop(photo, *crop))
        for i in range(VAL_PER_CLASS):
            top, left, size, flip = crops[i]
            shift = max(1, size // 40)  # a few pixels at 64 px
            val_crop = (max(0, top - shift), left + shift, size - shift, flip)
            _save(root / 'val' / wnid / f'ILSVRC2012_val_{wnid}_{i}.JPEG', _crop(photo, *val_crop))


def _save(path, image):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path, quality=95)


@pytest.fixture(scope='module')
def imagenet_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('imagenet')
    _write_imagenet(root)
    return root


@pytest.fixture(scope='module')
def tiny_student(tmp_path_factory):
    """The tiny official release converted as radio2mm.py does -> (path, RADIOModel cfg)."""
    from radio_mm.formats.radio_checkpoint import read_radio_checkpoint
    checkpoint = read_radio_checkpoint(str(OFFICIAL_TINY)).to_checkpoint()
    path = tmp_path_factory.mktemp('student') / 'radio_tiny.pth'
    torch.save(checkpoint, path)
    return path, checkpoint['meta']['radio_model']


def _test_pipeline():
    return [dict(type='LoadImageFromFile'),
            dict(type='ResizeEdge', scale=SIZE, edge='short', backend='pillow',
                 interpolation='bicubic'),
            dict(type='CenterCrop', crop_size=SIZE),
            dict(type='PackInputs')]


def _loader(root, pipeline=None, **kwargs):
    """Dataloader overrides for the fixture: its root, its 3 named classes, no workers."""
    dataset = dict(data_root=str(root), metainfo=dict(classes=CLASS_NAMES),
                   pipeline=pipeline or _test_pipeline())
    return repr(dict(num_workers=0, persistent_workers=False, dataset=dataset, **kwargs))



def _logged_metrics(work_dir):
    (metrics_file, ) = Path(work_dir).glob('*/*.json')
    return json.loads(metrics_file.read_text())


def test_fixture_reads_as_imagenet(imagenet_root):
    from mmpretrain.datasets import ImageNet
    for split, per_class in (('train', TRAIN_PER_CLASS), ('val', VAL_PER_CLASS)):
        dataset = ImageNet(data_root=str(imagenet_root), split=split,
                           metainfo=dict(classes=CLASS_NAMES))
        assert len(dataset) == per_class * len(CLASSES)
        labels = [dataset.get_data_info(i)['gt_label'] for i in range(len(dataset))]
        assert sorted(set(labels)) == [0, 1, 2]
        # Labels follow the sorted wnid folders.
        assert Path(dataset.get_data_info(0)['img_path']).parent.name == 'n02123045'
    with pytest.raises(AssertionError):  # why the configs must name the classes
        ImageNet(data_root=str(imagenet_root), split='val')


def test_linear_probe_trains_and_tests(imagenet_root, tmp_path):
    from radio_mm.models.backbones import RADIOViT

    # Random "pretrained" student weights, saved as a converted checkpoint holds them.
    backbone = RADIOViT(arch=TINY_ARCH, cpe_max_size=256, num_summary_tokens=4,
                        register_multiple=8)
    pretrained = {f'backbone.{k}': v.clone() for k, v in backbone.state_dict().items()}
    torch.save(dict(state_dict=pretrained), tmp_path / 'student.pth')
    train_pipeline = [dict(type='LoadImageFromFile'),
                      dict(type='RandomResizedCrop', scale=SIZE, crop_ratio_range=(0.5, 1.0)),
                      dict(type='RandomFlip', prob=0.5, direction='horizontal'),
                      dict(type='PackInputs')]
    config = tmp_path / 'tiny_linear.py'
    config.write_text(f"""
_base_ = [{str(CONFIGS / 'radio-vitb_linear-probe_in1k.py')!r}]
data_preprocessor = dict(num_classes=3)
model = dict(
    backbone=dict(
        arch=dict(_delete_=True, **{TINY_ARCH!r}), cpe_max_size=256,
        init_cfg=dict(checkpoint={str(tmp_path / 'student.pth')!r})),
    # The summary teachers' 3 tokens of 4 (summary_idxs in the config), not SAM's.
    head=dict(num_classes=3, in_channels=3 * {TINY_ARCH['embed_dims']}, topk=(1, 2)))
train_dataloader = {_loader(imagenet_root, train_pipeline, batch_size=4)}
val_dataloader = {_loader(imagenet_root)}
test_dataloader = val_dataloader
val_evaluator = dict(topk=(1, 2))
test_evaluator = val_evaluator
train_cfg = dict(max_epochs=2, val_interval=2)
param_scheduler = [dict(type='LinearLR', start_factor=0.5, by_epoch=True, begin=0, end=1),
                   dict(type='CosineAnnealingLR', T_max=1, by_epoch=True, begin=1, end=2)]
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=2))
""")
    work_dir = tmp_path / 'work'
    run_tool('train.py', config, '--work-dir', work_dir)
    checkpoint = work_dir / 'epoch_2.pth'
    assert checkpoint.is_file()

    state = torch.load(checkpoint, map_location='cpu')['state_dict']
    for key, value in pretrained.items():
        assert torch.equal(state[key], value), f'frozen backbone weight {key} changed'
    # mmpretrain's LinearClsHead starts at bias 0 (Normal init, std 0.01); training moves it.
    assert state['head.fc.weight'].shape == (3, 3 * TINY_ARCH['embed_dims'])
    assert state['head.fc.bias'].abs().sum() > 0

    output = run_tool('test.py', config, checkpoint, '--work-dir', tmp_path / 'test')
    logged = _logged_metrics(tmp_path / 'test')
    assert {'accuracy/top1', 'accuracy/top2'} <= set(logged), output[-2000:]
    for name in ('accuracy/top1', 'accuracy/top2'):
        assert 0 <= logged[name] <= 100, (name, logged[name])
    assert logged['accuracy/top2'] >= logged['accuracy/top1']


def test_knn_finds_near_duplicates(imagenet_root, tiny_student, tmp_path):
    checkpoint, radio_cfg = tiny_student
    config = tmp_path / 'tiny_knn.py'
    config.write_text(f"""
_base_ = [{str(CONFIGS / 'radio-vitb_knn_in1k.py')!r}]
model = dict(backbone=dict(_delete_=True, **{radio_cfg['backbone']!r}),
             summary_idxs={radio_cfg['summary_idxs']!r})
test_dataloader = {_loader(imagenet_root)}
test_evaluator = dict(topk=(1, 2))
""")
    output = run_tool('test.py', config, checkpoint, '--work-dir', tmp_path / 'test')
    assert f'k-NN bank: {TRAIN_PER_CLASS * len(CLASSES)} training images' in output
    logged = _logged_metrics(tmp_path / 'test')
    # The protocol's k=20 exceeds the 12-image bank: every training image votes, weighted.
    assert logged['knn/top1'] > 50, output[-2000:]
    assert logged['knn/top1'] <= logged['knn/top2'] <= 100


def test_clip_zero_shot(imagenet_root, tiny_student, tmp_path):
    checkpoint, radio_cfg = tiny_student
    clip = radio_cfg['adaptors']['clip']
    config = tmp_path / 'tiny_zero_shot.py'
    config.write_text(f"""
_base_ = [{str(CONFIGS / 'radio-vitb_clip-zero-shot_in1k.py')!r}]
model = dict(
    backbone=dict(_delete_=True, **{radio_cfg['backbone']!r}),
    summary_head=dict(in_dims={clip['in_dims']}, hidden_dims={clip['summary_hidden_dims']},
                      out_dims={clip['summary_dims']}, num_inner={clip['summary_num_inner']}),
    summary_slot={clip['summary_slot']},
    text_encoder=dict(_delete_=True, model_name='ViT-B-32', pretrained=None,
                      model_kwargs={TINY_TEXT_TOWER!r}),
    classnames={CLASS_NAMES!r},
    templates=['a photo of a {{}}.', 'a blurry photo of the {{}}.'])
test_dataloader = {_loader(imagenet_root)}
test_evaluator = dict(topk=(1, 2))
""")
    output = run_tool('test.py', config, checkpoint, '--work-dir', tmp_path / 'test')
    assert 'random weights' in output  # the tiny text tower warns that it is untrained
    logged = _logged_metrics(tmp_path / 'test')
    for name in ('accuracy/top1', 'accuracy/top2'):
        value = logged[name]
        assert math.isfinite(value) and 0 <= value <= 100, (name, value)
        # A share of the 6 val images.
        hits = value / 100 * len(CLASSES) * VAL_PER_CLASS
        assert hits == pytest.approx(round(hits), abs=1e-3), (name, value)
    assert logged['accuracy/top2'] >= logged['accuracy/top1']
