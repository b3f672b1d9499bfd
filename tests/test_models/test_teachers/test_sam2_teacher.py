"""SAM2Teacher against the sam2 package's own image encoder and transforms at toy size."""
import copy
import warnings

import pytest
import torch
from sam2.utils.transforms import SAM2Transforms
from skimage import data

from radio_mm.models.teachers import SAM2Teacher
from radio_mm.models.teachers.sam2_teacher import build_sam2_image_encoder

TOY = dict(trunk=dict(embed_dim=8, num_heads=1, stages=[1, 1, 2, 1], global_att_blocks=[3],
                      window_spec=[4, 4, 4, 2], window_pos_embed_bkg_spatial_size=[2, 2]),
           neck=dict(d_model=16, backbone_channel_list=[64, 32, 16, 8],
                     position_encoding=dict(num_pos_feats=16)))


def _teacher(**kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)
        return SAM2Teacher(arch='sam2.1_hiera_l', image_size=128,
                           encoder_overrides=copy.deepcopy(TOY), **kwargs)


def test_full_sam2_checkpoint_loads_and_gives_the_encoders_outputs(photos, tmp_path):
    encoder, _ = build_sam2_image_encoder('sam2.1_hiera_l', copy.deepcopy(TOY))
    with torch.no_grad():
        for param in encoder.parameters():
            param.add_(0.05 * torch.randn_like(param))
    # the published layout: {'model': SAM2Base state dict}, mask decoder and memory beside
    state = {f'image_encoder.{k}': v for k, v in encoder.state_dict().items()}
    state.update({'sam_mask_decoder.conv_s0.weight': torch.zeros(4, 16, 1, 1),
                  'no_mem_embed': torch.zeros(1, 1, 16)})
    path = str(tmp_path / 'sam2.1_hiera_large.pt')
    torch.save({'model': state}, path)

    neck, trunk = _teacher(pretrained=path, features='neck'), _teacher(pretrained=path)
    x = neck.preprocess(photos)
    with torch.no_grad():
        expected = encoder.eval()(x)
        last_stage = encoder.trunk(x)[-1]
    out = neck(photos)
    assert out.summary is None and neck.summary_dim is None
    assert torch.equal(out.features, expected['vision_features'])
    assert out.features.shape == (2, 16, 8, 8) and neck.patch_size == 16
    assert torch.equal(trunk(photos).features, last_stage)
    assert trunk.feature_dim == 64 and trunk.patch_size == 32


def test_preprocess_matches_sam2_transforms():
    teacher = _teacher()
    image = data.chelsea()  # 300x451, squashed to 128x128 by both
    reference = SAM2Transforms(resolution=128, mask_threshold=0.0)(image)[None]
    ours = teacher.preprocess(torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255)
    assert ours.shape == reference.shape == (1, 3, 128, 128)
    assert (ours - reference).abs().mean() < 0.02


def test_unknown_arch_and_features_are_refused():
    with pytest.raises(ValueError, match='sam2.1_hiera_l'):
        SAM2Teacher(arch='sam2.1_hiera_xl')
    with pytest.raises(ValueError, match="'trunk', 'neck'"):
        SAM2Teacher(features='fpn')
