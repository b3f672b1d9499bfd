"""The same radio_mm class builds by plain type name from each toolbox's configs."""
import pytest
from mmengine.registry import DefaultScope

import radio_mm  # noqa: F401
from radio_mm.models.backbones import RADIOViT

TINY = dict(type='RADIOViT', arch=dict(embed_dims=32, num_layers=2, num_heads=2),
            num_summary_tokens=1)


def _toolbox_models(scope):
    if scope == 'mmseg':
        from mmseg.registry import MODELS
    elif scope == 'mmdet':
        from mmdet.registry import MODELS
    elif scope == 'mmpretrain':
        from mmpretrain.registry import MODELS
    else:
        from radio_mm.registry import MODELS
    return MODELS


@pytest.mark.parametrize('scope', ['mmseg', 'mmdet', 'mmpretrain', 'radio_mm'])
def test_backbone_builds_by_plain_name_in_every_scope(scope):
    registry = _toolbox_models(scope)
    with DefaultScope.overwrite_default_scope(scope):
        backbone = registry.build(TINY)
    assert type(backbone) is RADIOViT


@pytest.mark.parametrize('scope,detector', [
    ('mmseg', dict(type='EncoderDecoder', decode_head=dict(
        type='FCNHead', in_channels=32, channels=32, num_convs=0, concat_input=False,
        num_classes=3))),
    ('mmdet', dict(type='RetinaNet', neck=dict(type='FPN', in_channels=[32], out_channels=32,
                                                num_outs=1),
                   bbox_head=dict(type='RetinaHead', num_classes=2, in_channels=32,
                                  feat_channels=32, anchor_generator=dict(
                                      type='AnchorGenerator', octave_base_scale=4,
                                      scales_per_octave=1, ratios=[1.0], strides=[16]),
                                  bbox_coder=dict(type='DeltaXYWHBBoxCoder')))),
    ('mmpretrain', dict(type='ImageClassifier', head=dict(
        type='LinearClsHead', num_classes=3, in_channels=32))),
])
def test_toolbox_models_take_the_backbone_from_their_own_configs(scope, detector):
    registry = _toolbox_models(scope)
    with DefaultScope.overwrite_default_scope(scope):
        model = registry.build(dict(detector, backbone=TINY))
    assert type(model.backbone) is RADIOViT


def test_explicit_scope_prefix_and_no_shadowing():
    from mmpretrain.registry import MODELS as PRETRAIN_MODELS
    from radio_mm.registry import MODELS
    assert MODELS.get('radio_mm.RADIOViT') is RADIOViT
    # A toolbox's own class of the same name wins inside its scope.
    assert PRETRAIN_MODELS.get('VisionTransformer').__module__.startswith('mmpretrain')


def test_file_format_functions_models_call_are_registered():
    """Model code finds its loaders by name (docs/architecture.md): each name resolves."""
    from radio_mm.models.backbones.radio_backbone import BACKBONE_CHECKPOINT_LOADER
    from radio_mm.models.classifiers.frozen_radio_classifier import RADIO_MODEL_KEYS_HOOK
    from radio_mm.registry import registered_function
    from radio_mm.structures.teacher_cache_manifest import CHECK_CACHE_MATCHES, READ_MANIFEST
    for name in (BACKBONE_CHECKPOINT_LOADER, RADIO_MODEL_KEYS_HOOK, READ_MANIFEST,
                 CHECK_CACHE_MATCHES):
        assert callable(registered_function(name))
    with pytest.raises(RuntimeError, match="no function 'no_such_loader'"):
        registered_function('no_such_loader')
