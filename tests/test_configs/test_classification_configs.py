"""The ImageNet configs describe consistent models and evaluations."""
from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope

from radio_mm.formats.radio_checkpoint import meta_backbone
from radio_mm.utils import import_toolbox

REPO = Path(__file__).resolve().parents[2]
CONFIGS = sorted((REPO / 'configs' / 'classification').glob('*.py'))
CLIP_MEAN_255 = [122.770938, 116.746013, 104.093736]


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.stem)
def test_config_is_consistent(path):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmpretrain'
    assert cfg.custom_imports == dict(imports=['radio_mm'], allow_failed_imports=False)
    assert cfg.data_preprocessor.mean == CLIP_MEAN_255 and cfg.data_preprocessor.to_rgb
    backbone = cfg.model.backbone
    built = meta_backbone(backbone)
    width = built.embed_dims
    crop = cfg.test_dataloader.dataset.pipeline[2]
    assert crop.type == 'CenterCrop' and crop.crop_size % built.size_multiple == 0
    # The embedding is the summary teachers' tokens only (summary_idxs), never every slot
    # of a ViT (SAM's token is untrained); E-RADIO has one pooled summary.
    num_tokens = getattr(built, 'num_summary_tokens', 1)
    if cfg.model.type == 'ImageClassifier':  # linear probe
        assert backbone.frozen and backbone.out_type == 'summary'
        summary_idxs = backbone.get('summary_idxs') or range(num_tokens)
        assert cfg.model.head.in_channels == len(summary_idxs) * width
        assert cfg.train_dataloader.dataset.split == 'train'
        return
    assert cfg.get('train_dataloader') is None  # evaluation only
    assert cfg.default_hooks.radio_checkpoint.type == 'radio_mm.RADIOCheckpointCheckHook'
    assert cfg.test_dataloader.dataset.split == 'val'
    if cfg.model.type == 'radio_mm.RADIOFeatureExtractor':
        assert cfg.test_evaluator.type == 'radio_mm.KNNAccuracy'
        assert (cfg.test_evaluator.k, cfg.test_evaluator.temperature) == (20, 0.07)
        assert cfg.custom_hooks == [dict(type='radio_mm.KNNBankHook', dataset=dict(split='train'))]
        assert cfg.model.summary_idxs is not None
    else:
        assert cfg.model.type == 'radio_mm.RADIOCLIPZeroShot'
        assert cfg.model.summary_head.in_dims == width
        assert cfg.model.summary_head.out_dims == 1024  # DFN CLIP ViT-H/14-378
        assert cfg.test_evaluator.type == 'Accuracy'


@pytest.mark.parametrize('name', ['linear-probe', 'knn', 'clip-zero-shot'])
def test_vitb_models_build(name):
    cfg = Config.fromfile(REPO / 'configs/classification' / f'radio-vitb_{name}_in1k.py')
    import_toolbox(cfg.default_scope)
    from mmpretrain.registry import MODELS
    model_cfg = cfg.model.copy()
    model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)  # as the Runner does
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(model_cfg)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == ({'head.fc.weight', 'head.fc.bias'} if name == 'linear-probe'
                         else set())
    assert model.data_preprocessor.mean.flatten().tolist() == pytest.approx(CLIP_MEAN_255)
