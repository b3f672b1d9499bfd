"""Tiny but real teacher architectures and a batch of real photos for the teacher tests."""
import copy
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage import data

from radio_mm.registry import MODELS

# Each is the real architecture family at toy width/depth, so a forward takes milliseconds.
TINY_TEACHERS = {
    'clip': dict(type='OpenCLIPTeacher', model_name='ViT-B-16',
                 model_cfg=dict(embed_dim=32, vision_cfg=dict(image_size=64, patch_size=16,
                                                              width=64, layers=2,
                                                              head_width=32))),
    'dino_v2': dict(type='DINOv2Teacher', arch='vit_small_patch14_reg4_dinov2', input_size=56,
                    arch_kwargs=dict(embed_dim=64, depth=2, num_heads=2)),
    'sam': dict(type='SAMTeacher', img_size=128,
                arch=dict(embed_dim=64, depth=2, num_heads=2, global_attn_indexes=(1, ),
                          window_size=4)),
    # C-RADIOv3/v4's teachers: SigLIP2-g (no CLS token, attention-pool summary), DINOv3-7B
    # (RoPE, 4 registers, SwiGLU), SAM 2.1 Hiera-L (a two-block-per-stage Hiera)
    'siglip2': dict(type='OpenCLIPTeacher', name='siglip2', model_name='ViT-gopt-16-SigLIP2-384',
                    pretrained_tag='webli',
                    trunk_kwargs=dict(embed_dim=64, depth=2, num_heads=2, img_size=64)),
    'dino_v3': dict(type='DINOv3Teacher', arch='vit_7b_patch16_dinov3', input_size=64,
                    arch_kwargs=dict(embed_dim=64, depth=2, num_heads=2)),
    'sam2': dict(type='SAM2Teacher', arch='sam2.1_hiera_l', image_size=128,
                 encoder_overrides=dict(
                     trunk=dict(embed_dim=8, num_heads=1, stages=[1, 1, 2, 1],
                                global_att_blocks=[3], window_spec=[4, 4, 4, 2],
                                window_pos_embed_bkg_spatial_size=[2, 2]),
                     neck=dict(d_model=16, backbone_channel_list=[64, 32, 16, 8],
                               position_encoding=dict(num_pos_feats=16)))),
}


@pytest.fixture
def tiny_cfgs():
    return copy.deepcopy(TINY_TEACHERS)


@pytest.fixture
def make_teacher():
    """Build a tiny teacher by kind through the registry, without the random-weights warning."""

    def build(kind, **overrides):
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', UserWarning)
            return MODELS.build(dict(TINY_TEACHERS[kind], **overrides))

    return build


@pytest.fixture(scope='session')
def photos():
    """Two real photos as RGB floats in [0, 1], (2, 3, 60, 100): non-square on purpose."""
    images = [torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1).float()[None] / 255
              for img in (data.astronaut(), data.chelsea())]
    return torch.cat([F.interpolate(img, size=(60, 100), mode='bilinear', antialias=True)
                      for img in images]).clamp_(0, 1)
