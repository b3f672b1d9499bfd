"""Layer-wise lr decay on RADIOViT detectors: ours (ViTDet keys) and mmpretrain's."""
import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

from radio_mm.engine.optimizers import LayerDecayOptimizerConstructor
from radio_mm.engine.optimizers.layer_decay_optim_constructor import vit_layer_id
from radio_mm.models.necks import SimpleFPN
from radio_mm.models.utils import LN2d

# mmdet projects/ViTDet/configs/vitdet_mask-rcnn_vit-b-mae_lsj-100e.py and its
# lsj-100e_coco-instance.py optim_wrapper, word for word except custom_imports and the
# backbone (the project's ViT -> RADIOViT-B).
VITDET_PROJECT_CONFIG = '''
_base_ = ['mmdet::_base_/models/mask-rcnn_r50_fpn.py']
custom_imports = dict(imports=['radio_mm'], allow_failed_imports=False)
norm_cfg = dict(type='radio_mm.LN2d', requires_grad=True)
image_size = (1024, 1024)
batch_augments = [dict(type='BatchFixedSizePad', size=image_size, pad_mask=True)]
model = dict(
    data_preprocessor=dict(pad_size_divisor=32, batch_augments=batch_augments),
    backbone=dict(_delete_=True, type='radio_mm.RADIOViT', arch='b', window_size=16,
                  drop_path_rate=0.1),
    neck=dict(_delete_=True, type='radio_mm.SimpleFPN', backbone_channel=768,
              in_channels=[192, 384, 768, 768], out_channels=256, num_outs=5,
              norm_cfg=norm_cfg),
    rpn_head=dict(num_convs=2),
    roi_head=dict(
        bbox_head=dict(type='Shared4Conv1FCBBoxHead', conv_out_channels=256,
                       norm_cfg=norm_cfg),
        mask_head=dict(norm_cfg=norm_cfg)))
optim_wrapper = dict(
    type='AmpOptimWrapper',
    constructor='radio_mm.LayerDecayOptimizerConstructor',
    paramwise_cfg={'decay_rate': 0.7, 'decay_type': 'layer_wise', 'num_layers': 12},
    optimizer=dict(type='AdamW', lr=0.0001, betas=(0.9, 0.999), weight_decay=0.1))
'''
BASE_LR, WD = 1e-4, 0.1


@pytest.fixture(scope='module')
def vitdet_cfg(tmp_path_factory):
    import mmdet.utils
    mmdet.utils.register_all_modules(init_default_scope=False)
    path = tmp_path_factory.mktemp('vitdet') / 'vitdet_mask-rcnn_radio-b.py'
    path.write_text(VITDET_PROJECT_CONFIG)
    cfg = Config.fromfile(str(path))
    cfg.optim_wrapper.type = 'OptimWrapper'  # AmpOptimWrapper refuses to build without a GPU
    return cfg


@pytest.fixture(scope='module')
def detector(vitdet_cfg):
    from mmdet.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmdet'):
        return MODELS.build(vitdet_cfg.model)


def _by_param(optimizer):
    return {name: group for group in optimizer.param_groups
            for name in group['param_names']}


def test_vitdet_project_config_builds_unchanged(detector, vitdet_cfg):
    assert isinstance(detector.neck, SimpleFPN)
    assert isinstance(detector.roi_head.bbox_head.shared_convs[0].norm, LN2d)
    assert isinstance(detector.roi_head.mask_head.convs[0].norm, LN2d)

    groups = _by_param(build_optim_wrapper(detector, vitdet_cfg.optim_wrapper).optimizer)
    assert set(groups) == {n for n, p in detector.named_parameters() if p.requires_grad}
    # 12 blocks -> ids 0..13; scale = 0.7 ** (13 - id), as in the project.
    expected_scale = {
        'backbone.patch_generator.pos_embed': 0.7**13,
        'backbone.patch_generator.embedder.weight': 0.7**13,
        'backbone.blocks.0.attn.qkv.weight': 0.7**12,
        'backbone.blocks.11.mlp.fc2.weight': 0.7,
        'neck.fpn1.0.weight': 1.0,
        'roi_head.bbox_head.fc_cls.weight': 1.0,
    }
    for name, scale in expected_scale.items():
        assert groups[name]['lr_scale'] == pytest.approx(scale), name
        assert groups[name]['lr'] == pytest.approx(BASE_LR * scale), name
    # No decay: backbone norms and embeddings/tokens; the rest (heads' LN2d too) decays.
    for name in ('backbone.blocks.1.norm1.weight', 'backbone.blocks.1.norm2.bias',
                 'backbone.patch_generator.pos_embed',
                 'backbone.patch_generator.cls_token.token'):
        assert groups[name]['weight_decay'] == 0, name
    for name in ('backbone.blocks.1.attn.qkv.weight', 'backbone.blocks.1.attn.qkv.bias',
                 'neck.fpn1.1.weight', 'roi_head.mask_head.convs.0.norm_layer.weight'):
        assert groups[name]['weight_decay'] == WD, name


def test_frozen_params_are_left_out(detector, vitdet_cfg):
    detector.backbone.blocks[0].requires_grad_(False)
    try:
        groups = _by_param(build_optim_wrapper(detector, vitdet_cfg.optim_wrapper).optimizer)
    finally:
        detector.backbone.blocks[0].requires_grad_(True)
    assert not any(name.startswith('backbone.blocks.0.') for name in groups)
    assert 'backbone.blocks.1.attn.qkv.weight' in groups


def test_num_layers_must_match_the_backbone(detector, vitdet_cfg):
    cfg = vitdet_cfg.optim_wrapper.copy()
    cfg.paramwise_cfg = dict(decay_rate=0.7, num_layers=24)
    with pytest.raises(ValueError, match='set num_layers=12'):
        build_optim_wrapper(detector, cfg)
    cfg.paramwise_cfg = dict(decay_rate=0.7)  # optional: the backbone knows its depth
    groups = _by_param(build_optim_wrapper(detector, cfg).optimizer)
    assert groups['backbone.blocks.0.attn.qkv.weight']['lr_scale'] == pytest.approx(0.7**12)


def test_unknown_keys_and_decay_types_are_refused():
    optimizer = dict(type='AdamW', lr=BASE_LR)
    with pytest.raises(ValueError, match='layer_decay_rate'):
        LayerDecayOptimizerConstructor(dict(optimizer=optimizer),
                                       dict(decay_rate=0.7, layer_decay_rate=0.7))
    with pytest.raises(ValueError, match='decay_rate'):
        LayerDecayOptimizerConstructor(dict(optimizer=optimizer), dict(num_layers=12))
    with pytest.raises(ValueError, match="'layer_wise'"):
        LayerDecayOptimizerConstructor(dict(optimizer=optimizer),
                                       dict(decay_rate=0.7, decay_type='stage_wise'))


def test_vit_naming_rule_for_backbones_without_get_layer_depth():
    assert vit_layer_id('backbone.patch_embed.proj.weight', 12) == 0
    assert vit_layer_id('backbone.pos_embed', 12) == 0
    assert vit_layer_id('backbone.blocks.0.attn.qkv.weight', 12) == 1
    assert vit_layer_id('backbone.blocks.11.mlp.fc1.bias', 12) == 12
    assert vit_layer_id('neck.lateral_convs.0.conv.weight', 12) == 13

    class PlainViT(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.patch_embed = torch.nn.Linear(4, 4)
            self.blocks = torch.nn.ModuleList(torch.nn.Linear(4, 4) for _ in range(2))

    model = torch.nn.Module()
    model.backbone, model.head = PlainViT(), torch.nn.Linear(4, 2)
    constructor = LayerDecayOptimizerConstructor(
        dict(optimizer=dict(type='SGD', lr=1.0)), dict(decay_rate=0.5, num_layers=2))
    groups = _by_param(constructor(model).optimizer)
    assert groups['backbone.patch_embed.weight']['lr'] == 0.5**3
    assert groups['backbone.blocks.1.weight']['lr'] == 0.5
    assert groups['head.weight']['lr'] == 1.0
    with pytest.raises(ValueError, match='get_layer_depth'):
        LayerDecayOptimizerConstructor(dict(optimizer=dict(type='SGD', lr=1.0)),
                                       dict(decay_rate=0.5))(model)


def test_mmpretrain_constructor_with_radio_backbone():
    """mmpretrain's LearningRateDecayOptimWrapperConstructor asks the classifier, which asks
    RADIOViT.get_layer_depth: the same scales as ours for the same rate."""
    import mmpretrain.utils
    from mmpretrain.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS
    mmpretrain.utils.register_all_modules(init_default_scope=False)
    tiny = dict(embed_dims=32, num_layers=3, num_heads=2)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(dict(
            type='ImageClassifier',
            backbone=dict(type='radio_mm.RADIOViT', arch=tiny, cpe_max_size=64,
                          out_type='summary'),
            head=dict(type='LinearClsHead', num_classes=5, in_channels=3 * 32)))
        constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(dict(
            type='LearningRateDecayOptimWrapperConstructor',
            optim_wrapper_cfg=dict(optimizer=dict(type='AdamW', lr=BASE_LR, weight_decay=WD)),
            paramwise_cfg=dict(layer_decay_rate=0.7, norm_decay_mult=0.0)))
        groups = {g['param_name']: g for g in constructor(model).optimizer.param_groups}
    expected = {
        'backbone.patch_generator.pos_embed': 0.7**4,
        'backbone.blocks.0.attn.qkv.weight': 0.7**3,
        'backbone.blocks.2.attn.qkv.weight': 0.7,
        'head.fc.weight': 1.0,
    }
    for name, scale in expected.items():
        assert groups[name]['lr_scale'] == pytest.approx(scale), name
        assert groups[name]['lr'] == pytest.approx(BASE_LR * scale), name
    # timm's LayerNorm is an nn.LayerNorm, so norm_decay_mult reaches RADIOViT's norms.
    assert groups['backbone.blocks.1.norm1.weight']['weight_decay'] == 0
    assert groups['backbone.blocks.1.attn.qkv.weight']['weight_decay'] == WD


def test_eradio_decays_by_stage():
    """E-RADIO's get_layer_depth counts stem, 4 levels and neck: decay goes by stage."""
    from radio_mm.models.backbones.eradio import ERADIO

    model = torch.nn.Module()
    model.backbone, model.neck = ERADIO(arch='xxxtiny'), torch.nn.Linear(4, 4)
    constructor = LayerDecayOptimizerConstructor(
        dict(optimizer=dict(type='AdamW', lr=1.0, weight_decay=WD)), dict(decay_rate=0.5))
    groups = _by_param(constructor(model).optimizer)
    lrs = {name.split('.')[1]: group['lr'] for name, group in groups.items()
           if name.startswith('backbone.')}
    assert lrs['patch_embed'] == 0.5**6 and lrs['high_res_neck'] == 0.5
    assert groups['neck.weight']['lr'] == 1.0
    for level in range(4):
        assert {g['lr'] for n, g in groups.items()
                if n.startswith(f'backbone.levels.{level}.')} == {0.5**(5 - level)}
