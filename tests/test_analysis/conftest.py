"""A tiny RADIO checkpoint with adaptors, and tiny teachers whose widths match its heads."""
import os.path as osp
import warnings

import pytest

from radio_mm.apis import radio_model
from radio_mm.registry import MODELS

DATA = osp.join(osp.dirname(osp.dirname(__file__)), 'data')
# Official-layout tiny ViT (width 32, patch 16) with 'clip' (40-channel features, 48-d
# summary) and 'sam' (20 channels, 2x upsampled) adaptor heads.
OFFICIAL_TINY = osp.join(DATA, 'radio_official_tiny.pth.tar')
# The real open_clip / SAM architectures at the widths of those heads.
TINY_CLIP = dict(type='OpenCLIPTeacher', model_name='ViT-B-16',
                 model_cfg=dict(embed_dim=48, vision_cfg=dict(image_size=64, patch_size=16,
                                                              width=40, layers=2,
                                                              head_width=20)))
TINY_SAM = dict(type='SAMTeacher', img_size=128,
                arch=dict(embed_dim=32, depth=2, num_heads=2, global_attn_indexes=(1, ),
                          window_size=4, out_chans=20))


def build_quietly(cfg):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)  # random teacher weights
        return MODELS.build(dict(cfg))


@pytest.fixture(scope='module')
def tiny_radio():
    return radio_model(OFFICIAL_TINY, adaptor_names=['clip', 'sam'])


@pytest.fixture(scope='module')
def tiny_clip():
    return build_quietly(TINY_CLIP)


@pytest.fixture(scope='module')
def tiny_sam():
    return build_quietly(TINY_SAM)
