"""radio_mm's registries are plain children of mmengine's: its classes build from every
toolbox's scope by their scoped name, and nothing of radio_mm is written into the root."""
import subprocess
import sys
from importlib import import_module

import mmengine.registry as mmengine_registry
import pytest
from mmengine.registry import DefaultScope
from tiny_models import tiny_vit

import radio_mm  # noqa: F401
from radio_mm import registry as radio_mm_registry
from radio_mm.models.backbones import RADIOViT

TOOLBOXES = ('mmseg', 'mmdet', 'mmpretrain')
# The registries configs of other toolboxes reach radio_mm's classes through.
REGISTRIES = ('MODELS', 'METRICS', 'HOOKS', 'TRANSFORMS', 'OPTIM_WRAPPER_CONSTRUCTORS')
TINY = tiny_vit(num_summary_tokens=1)


def radio_mm_names(name):
    registry = getattr(radio_mm_registry, name)
    registry.import_from_location()
    return sorted(registry.module_dict)


def toolbox_registry(scope, name):
    return getattr(import_module(f'{scope}.registry'), name)


@pytest.mark.parametrize('scope', TOOLBOXES)
@pytest.mark.parametrize('name', REGISTRIES)
def test_every_class_resolves_by_scoped_name_in_every_toolbox_scope(scope, name):
    assert radio_mm_names(name), f'radio_mm registers no {name}'
    registry = toolbox_registry(scope, name)
    ours = getattr(radio_mm_registry, name)
    with DefaultScope.overwrite_default_scope(scope):
        for cls_name in radio_mm_names(name):
            assert registry.get(f'radio_mm.{cls_name}') is ours.get(cls_name), cls_name


@pytest.mark.parametrize('name', REGISTRIES + ('DATASETS', 'LOOPS'))
def test_root_registries_hold_no_radio_mm_name(name):
    root = getattr(mmengine_registry, name)
    ours = getattr(radio_mm_registry, name)
    assert ours.parent is root and ours.scope == 'radio_mm'
    for cls_name in radio_mm_names(name):
        assert root.module_dict.get(cls_name) is not ours.get(cls_name), cls_name


@pytest.mark.parametrize('scope', TOOLBOXES + ('radio_mm', ))
def test_backbone_builds_in_every_scope(scope):
    registry = toolbox_registry(scope, 'MODELS')
    cfg = TINY if scope == 'radio_mm' else dict(TINY, type='radio_mm.RADIOViT')
    with DefaultScope.overwrite_default_scope(scope):
        assert type(registry.build(cfg)) is RADIOViT


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
    registry = toolbox_registry(scope, 'MODELS')
    with DefaultScope.overwrite_default_scope(scope):
        model = registry.build(dict(detector, backbone=dict(TINY, type='radio_mm.RADIOViT')))
    assert type(model.backbone) is RADIOViT


def test_nested_plain_names_inside_radio_mm_classes_build_under_a_toolbox_scope():
    """A RADIOModel builds its backbone and adaptors from radio_mm's registry."""
    registry = toolbox_registry('mmseg', 'MODELS')
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = registry.build(dict(type='radio_mm.RADIOModel', backbone=TINY, adaptors=dict(
            clip=dict(in_dims=32, feature_dims=8, hidden_dims=16))))
    assert type(model.backbone) is RADIOViT


def test_a_toolbox_keeps_its_own_class_of_the_same_name():
    from mmpretrain.registry import MODELS as PRETRAIN_MODELS

    from radio_mm.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        assert PRETRAIN_MODELS.get('LN2d').__module__.startswith('mmpretrain')
        assert PRETRAIN_MODELS.get('radio_mm.LN2d') is MODELS.get('LN2d')
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


def test_a_root_class_of_the_same_name_does_not_clash_at_import():
    """Another package that registered ``RADIOViT`` / ``KNNAccuracy`` at mmengine's root
    first: importing radio_mm still works and each registry keeps its own class."""
    code = '''
from mmengine.registry import METRICS, MODELS
@MODELS.register_module(name='RADIOViT')
class Other:
    pass
@METRICS.register_module(name='KNNAccuracy')
class OtherMetric:
    pass
import radio_mm
from radio_mm.registry import MODELS as RADIO_MODELS
assert MODELS.get('RADIOViT') is Other
assert RADIO_MODELS.get('RADIOViT').__module__ == 'radio_mm.models.backbones.radio_vit'
print('ok')
'''
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == 'ok', result.stderr[-2000:]
