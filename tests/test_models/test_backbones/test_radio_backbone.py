"""What every RADIO backbone shares: here, refusing to probe random features."""
import pytest
from mmengine.registry import MODELS, DefaultScope

from radio_mm.apis.run_config import load_config

TINY_VIT = dict(_delete_=True, embed_dims=32, num_layers=2, num_heads=2)
PROBES = {
    'configs/classification/radio-vitb_linear-probe_in1k.py': {'model.head.in_channels': 128},
    'configs/segmentation/radio-vitb_linear_ade20k-512x512.py': {
        'model.decode_head.in_channels': [32]},
}


@pytest.mark.parametrize('config', sorted(PROBES))
def test_a_frozen_probe_without_weights_is_refused(config, repo_root, monkeypatch):
    """The linear-probe configs as shipped, shrunk, with the weights left out."""
    monkeypatch.chdir(repo_root)
    shrink = {'model.backbone.arch': TINY_VIT, 'model.backbone.init_cfg': None, **PROBES[config]}
    cfg = load_config(config, cfg_options=shrink)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        # init_weights is what the Runner calls before training.
        with pytest.raises(ValueError, match='frozen but has no pretrained weights'):
            MODELS.build(cfg.model).init_weights()
        cfg.model.backbone.allow_random_init = True
        MODELS.build(cfg.model).init_weights()
        cfg.model.backbone.update(allow_random_init=False, frozen=False)  # fine-tuning
        MODELS.build(cfg.model).init_weights()
