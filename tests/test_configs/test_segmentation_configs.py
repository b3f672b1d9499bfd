"""The ADE20K configs build the models they describe, at full size, with random weights."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from radio_mm.models.backbones.radio_vit import ARCH_SETTINGS as VIT_ARCHS
from radio_mm.utils import import_toolbox

REPO = Path(__file__).resolve().parents[2]
CONFIGS = sorted((REPO / 'configs' / 'segmentation').glob('*.py'))


def _config(name):
    return Config.fromfile(REPO / 'configs' / 'segmentation' / f'{name}_ade20k-512x512.py')


def _output_channels(backbone):
    if backbone.type == 'radio_mm.RADIOViT':
        return VIT_ARCHS[backbone.arch]['embed_dims']
    eradio = pytest.importorskip('radio_mm.models.backbones.eradio')
    assert tuple(backbone.out_indices) == (eradio.NECK_INDEX, )
    return eradio.ARCH_SETTINGS[backbone.arch]['neck_channels']


def _build(cfg):
    import_toolbox(cfg.default_scope)
    # The segmentor builds its parts by type name (radio_mm's scoped), as the Runner does.
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        return MODELS.build(cfg.model)


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.stem)
def test_head_widths_follow_the_backbone(path):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmseg'
    assert cfg.custom_imports == dict(imports=['radio_mm'], allow_failed_imports=False)
    assert cfg.model.decode_head.num_classes == 150
    backbone = cfg.model.backbone
    channels = _output_channels(backbone)
    if cfg.model.decode_head.type == 'radio_mm.BNLinearHead':
        assert backbone.frozen and cfg.model.get('neck') is None
        assert cfg.model.decode_head.in_channels == [channels]
    else:
        levels = len(backbone.out_indices)
        assert cfg.model.neck.in_channels == [channels] * levels
        assert cfg.model.decode_head.in_channels == [cfg.model.neck.out_channels] * levels


def test_linear_probe_trains_only_the_head_and_predicts_at_image_size():
    model = _build(_config('radio-vitb_linear'))
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {'decode_head.conv_seg.weight', 'decode_head.conv_seg.bias',
                         'decode_head.bn.weight', 'decode_head.bn.bias'}
    model.eval()
    # A test image whose sides are not multiples of 16: the preprocessor pads it and the
    # segmentor crops the logits back.
    image = torch.randint(0, 256, (3, 50, 70), dtype=torch.uint8)
    sample = SegDataSample(metainfo=dict(ori_shape=(50, 70), img_shape=(50, 70)))
    data = model.data_preprocessor(dict(inputs=[image], data_samples=[sample]), False)
    assert data['inputs'].shape[-2:] == (64, 80)
    with torch.no_grad():
        result = model.predict(**data)[0]
    assert result.pred_sem_seg.shape == (50, 70)
    assert result.seg_logits.data.shape == (150, 50, 70)


def test_upernet_pyramid_and_trainable_backbone():
    cfg = _config('radio-vitb_upernet')
    model = _build(cfg).eval()
    assert all(p.requires_grad for p in model.backbone.parameters())
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        optimizer = build_optim_wrapper(model, cfg.optim_wrapper).optimizer
    lr_of = {name: group['lr'] for group in optimizer.param_groups
             for name in group['param_names']}
    # radio_mm's layer decay (not mmseg's same-named constructor): 0.65 per block.
    assert lr_of['decode_head.conv_seg.weight'] == pytest.approx(1e-4)
    assert lr_of['backbone.blocks.11.attn.qkv.weight'] == pytest.approx(1e-4 * 0.65)
    assert lr_of['backbone.patch_generator.pos_embed'] == pytest.approx(1e-4 * 0.65**13)
    with torch.no_grad():
        pyramid = model.extract_feat(torch.randn(1, 3, 64, 96))
    assert [tuple(x.shape) for x in pyramid] == [(1, 768, 16, 24), (1, 768, 8, 12),
                                                 (1, 768, 4, 6), (1, 768, 2, 3)]
    assert model.decode_head(pyramid).shape == (1, 150, 16, 24)


def test_eradio_linear_probe_reads_the_neck_map():
    pytest.importorskip('radio_mm.models.backbones.eradio')
    model = _build(_config('eradio-l_linear')).eval()
    with torch.no_grad():
        (features, ) = model.extract_feat(torch.randn(1, 3, 64, 96))
    assert features.shape == (1, 1536, 4, 6)
    assert not any(p.requires_grad for p in model.backbone.parameters())
