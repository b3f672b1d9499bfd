"""DINOv2Teacher against timm's ViT, in both published checkpoint layouts."""
import warnings

import pytest
import timm
import torch

from radio_mm.models.teachers import DINOv2Teacher

# the giant's SwiGLU MLP at toy width: 48 * 5.33 = 256 hidden units, packed as w12/w3 upstream
TINY_GIANT = dict(arch='vit_giant_patch14_reg4_dinov2', input_size=56,
                  arch_kwargs=dict(embed_dim=48, depth=2, num_heads=2))


def _teacher(**kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)
        return DINOv2Teacher(**kwargs)


def _to_facebook_layout(timm_state):
    """The original facebookresearch/dinov2 keys for a timm reg4 state dict (inverse of
    timm's ``_convert_dinov2``): the CLS position lives in pos_embed, registers are named
    register_tokens, the SwiGLU layers w12/w3, and a mask token is stored."""
    state = dict(timm_state)
    cls_pos = torch.zeros_like(state['cls_token'])
    state['pos_embed'] = torch.cat([cls_pos, state['pos_embed']], dim=1)
    state['register_tokens'] = state.pop('reg_token')
    state['mask_token'] = torch.zeros(1, state['cls_token'].shape[-1])
    return {k.replace('mlp.fc1', 'mlp.w12').replace('mlp.fc2', 'mlp.w3'): v
            for k, v in state.items()}


def test_targets_are_normed_cls_and_patch_tokens_without_registers(photos):
    teacher = _teacher(**TINY_GIANT)
    assert teacher.encoder.num_prefix_tokens == 5  # CLS + 4 registers
    out = teacher(photos)
    x = teacher.preprocess(photos)
    with torch.no_grad():
        final, prefix = teacher.encoder.forward_intermediates(
            x, indices=1, norm=True, return_prefix_tokens=True, intermediates_only=True)[-1]
    assert out.features.shape == (2, 48, 4, 4)
    assert torch.allclose(out.features, final, atol=1e-5)
    assert torch.allclose(out.summary, prefix[:, 0], atol=1e-5)


def test_uses_timms_dinov2_normalization():
    teacher = _teacher(**TINY_GIANT)
    timm_cfg = timm.data.resolve_data_config({}, model=teacher.encoder)
    assert teacher.mean == timm_cfg['mean'] and teacher.std == timm_cfg['std']
    assert teacher.interpolation == timm_cfg['interpolation']


def test_facebook_layout_checkpoint_reproduces_outputs(photos, tmp_path):
    source = _teacher(**TINY_GIANT)
    path = str(tmp_path / 'dinov2_vitg14_reg4_pretrain.pth')
    torch.save(_to_facebook_layout(source.encoder.state_dict()), path)
    loaded = _teacher(**TINY_GIANT, pretrained=path)
    expected, got = source(photos), loaded(photos)
    assert torch.allclose(got.features, expected.features, atol=1e-5)
    assert torch.allclose(got.summary, expected.summary, atol=1e-5)


def test_checkpoint_from_another_resolution_is_resampled(photos, tmp_path):
    # published weights are at 518 px (37x37 positions); the teacher may run at another size
    path = str(tmp_path / 'model.pth')
    torch.save(_teacher(**TINY_GIANT).encoder.state_dict(), path)
    teacher = _teacher(**dict(TINY_GIANT, input_size=84), pretrained=path)
    assert teacher.encoder.pos_embed.shape[1] == 6 * 6
    assert teacher(photos).features.shape == (2, 48, 6, 6)


def test_bad_arch_and_size_are_explained():
    with pytest.raises(ValueError, match='vit_giant_patch14_reg4_dinov2'):
        DINOv2Teacher('vit_giant_patch14_reg_dinov2')
    with pytest.raises(ValueError, match='multiple of the patch size 14'):
        _teacher(**dict(TINY_GIANT, input_size=60))
