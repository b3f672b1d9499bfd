"""init_model / inference_model, the toolbox Inferencers on radio_mm's configs, and
RADIOInferencer.

The downstream configs are the repository's own, shrunk by tests/test_configs/
config_shrinker.py (tiny RADIOViT, random weights saved as a checkpoint); the images come
from the end-to-end fixtures' writers.
"""
import os.path as osp
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from radio_mm.apis import RADIOInferencer, inference_model, init_model, radio_model

REPO = osp.dirname(osp.dirname(osp.dirname(__file__)))
OFFICIAL = osp.join(REPO, 'tests', 'data', 'radio_official_tiny.pth.tar')
sys.path.insert(0, osp.join(REPO, 'tests', 'test_configs'))
from config_shrinker import Fixtures, shrink, tiny_model_checkpoint  # noqa: E402


@pytest.fixture(scope='module')
def fixtures(tmp_path_factory):
    return Fixtures(str(tmp_path_factory.mktemp('fixtures')))


def shrunk_config(path, fixtures, folder):
    """(shrunk config file, checkpoint of its random weights)."""
    from mmengine.config import Config
    cfg = shrink(Config.fromfile(osp.join(REPO, path)), fixtures, str(folder))
    checkpoint = tiny_model_checkpoint(cfg, str(folder))
    # As a training run saves it: mmseg's init_model reads checkpoint['meta'].
    torch.save(dict(torch.load(checkpoint), meta={}), checkpoint)
    target = str(folder / 'config.py')
    cfg.dump(target)
    return target, checkpoint


def first_image(root):
    from radio_mm.analysis.images import image_paths
    return image_paths(root)[0]


def test_mmseg_inferencer_and_init_model(fixtures, tmp_path):
    from mmseg.apis import MMSegInferencer
    config, checkpoint = shrunk_config(
        'configs/segmentation/radio-vitb_linear_ade20k-512x512.py', fixtures, tmp_path)
    image = first_image(osp.join(fixtures.ade20k, 'images', 'validation'))
    result = MMSegInferencer(model=config, weights=checkpoint, device='cpu')(
        image, return_datasamples=True)
    h, w = np.asarray(Image.open(image)).shape[:2]
    assert result.pred_sem_seg.data.shape == (1, h, w)
    model = init_model(config, checkpoint)
    assert inference_model(model, image).pred_sem_seg.data.shape == (1, h, w)


def test_mmdet_inferencer_and_init_model(fixtures, tmp_path):
    from mmdet.apis import DetInferencer
    config, checkpoint = shrunk_config(
        'configs/detection/radio-vitb_vitdet-mask-rcnn_lsj-100e_coco.py', fixtures, tmp_path)
    image = first_image(osp.join(fixtures.coco, 'val2017'))
    result = DetInferencer(model=config, weights=checkpoint, device='cpu', show_progress=False)(
        image, return_datasamples=True)['predictions'][0]
    assert 'pred_instances' in result
    model = init_model(config, checkpoint)
    assert 'pred_instances' in inference_model(model, image)


def test_mmpretrain_inferencer_and_init_model(fixtures, tmp_path):
    from mmpretrain.apis import ImageClassificationInferencer
    config, checkpoint = shrunk_config(
        'configs/classification/radio-vitb_linear-probe_in1k.py', fixtures, tmp_path)
    image = first_image(osp.join(fixtures.imagenet, 'val'))
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmpretrain'):  # after the other toolboxes
        (result, ) = ImageClassificationInferencer(model=config, pretrained=checkpoint,
                                                   device='cpu')(image)
    assert 0 <= result['pred_label'] < len(result['pred_scores'])
    model = init_model(config, checkpoint)
    assert inference_model(model, image)['pred_label'] == result['pred_label']


def test_init_model_of_a_distillation_config_is_its_student():
    model = init_model(osp.join(REPO, 'configs/distill/radio_demo.py'))
    assert type(model).__name__ == 'RADIOModel' and not model.training
    (result, ) = inference_model(model, np.zeros((40, 56, 3), np.uint8))
    assert result['backbone']['features'].dim() == 3
    released = init_model(osp.join(REPO, 'configs/distill/radio_demo.py'), OFFICIAL)
    assert released.embed_dim == 32  # the file's own student, not the config's


def test_radio_inferencer_folders_arrays_and_pca(tmp_path):
    from skimage import data
    folder = tmp_path / 'images'
    folder.mkdir()
    Image.fromarray(data.astronaut()[:100, :140]).save(folder / 'a.png')
    Image.fromarray(data.coffee()[:70, :90]).save(folder / 'b.jpg')
    inferencer = RADIOInferencer(OFFICIAL, adaptor_names=['clip', 'sam'], size=64)
    results = inferencer([str(folder), data.chelsea()], pca_dir=str(tmp_path / 'pca'))
    assert [osp.basename(r['path'] or 'array') for r in results] == ['a.png', 'b.jpg', 'array']
    first = results[0]
    assert set(first) == {'path', 'backbone', 'clip', 'sam', 'pca'}
    assert first['backbone']['summary'].shape == (2 * 32, )
    assert first['backbone']['features'].shape == (32, 3, 4)  # 100x140 -> 48x64 -> 3x4
    assert first['sam']['features'].shape[1:] == (6, 8)  # the sam head upsamples 2x
    assert osp.isfile(first['pca']) and osp.isfile(tmp_path / 'pca' / 'image_2_pca.png')
    # The same numbers as calling the model on the resized image.
    model = radio_model(OFFICIAL, adaptor_names=['clip', 'sam'])
    resized = np.asarray(Image.open(folder / 'a.png').resize((64, 48), Image.BICUBIC))
    with torch.no_grad():
        expected = model(torch.tensor(resized).permute(2, 0, 1)[None].float() / 255,
                         feature_fmt='NCHW')
    assert torch.allclose(first['clip']['features'], expected['clip'].features[0])
    with pytest.raises(FileNotFoundError, match='neither an image file'):
        inferencer(str(tmp_path / 'missing'))
