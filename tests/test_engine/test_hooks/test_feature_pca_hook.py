"""The demo's PCA picture: the photo at 512 px, teachers captioned as random, and the same
teachers that the analysis tools rebuild from the config."""
import os.path as osp
import warnings
from types import SimpleNamespace
from unittest import mock

import mmcv
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from PIL import Image
from skimage import data

from radio_mm.analysis import build_model
from radio_mm.engine.hooks import feature_pca_hook
from radio_mm.registry import HOOKS, MODELS

CAPTION = 16  # feature_pca_panel's caption strip


@pytest.fixture(scope='module')
def demo(repo_root):
    path = osp.join(repo_root, 'configs/distill/radio_demo.py')
    cfg = Config.fromfile(path)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)  # random teacher weights
        return path, cfg, MODELS.build(cfg.model)


def test_tools_rebuild_the_teachers_the_demo_trains_with(demo):
    path, cfg, distiller = demo
    for index, name in enumerate(distiller.teachers):
        rebuilt = build_model(f'{path}:model.teachers.{index}', quiet_random_weights=True)
        trained_with = distiller.teachers[name].state_dict()
        assert rebuilt.name == name
        assert all(torch.equal(v, trained_with[k]) for k, v in rebuilt.state_dict().items())


def test_demo_picture_shows_the_photo_at_512_px_and_says_teachers_are_random(demo, tmp_path):
    _, cfg, distiller = demo
    hook_cfg = next(h for h in cfg.custom_hooks if h['type'] == 'FeaturePCAHook')
    hook = HOOKS.build(hook_cfg)
    runner = SimpleNamespace(model=distiller, work_dir=str(tmp_path), iter=160,
                             logger=MMLogger.get_current_instance())
    with mock.patch.object(feature_pca_hook, 'feature_pca_panel',
                           wraps=feature_pca_hook.feature_pca_panel) as panel:
        hook.save(runner)
    captions = list(panel.call_args.args[1])
    assert [c for c in captions if 'teacher' in c] == [
        f'{name} teacher (random weights)' for name in distiller.teachers]
    picture = np.asarray(Image.open(tmp_path / 'feature_pca' / 'iter_160.png'))
    assert picture.shape[0] == 512 + CAPTION
    photo = mmcv.imresize(data.astronaut(), (512, 512))
    shown = picture[CAPTION:, :512].astype(float)
    assert np.abs(shown - photo).mean() < 1  # the photo itself, at full size
