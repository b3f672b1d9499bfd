"""DINOv3Teacher against timm's DINOv3 (Eva with RoPE, CLS + 4 registers) at toy size."""
import json
import os.path as osp
import warnings

import pytest
import timm
import torch

from radio_mm.models.teachers import DINOv3Teacher

TOY = dict(embed_dim=64, depth=2, num_heads=2)


def _teacher(**kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)
        return DINOv3Teacher(**kwargs)


def test_targets_are_the_normed_cls_token_and_patch_tokens_without_registers(photos, tmp_path):
    model = timm.create_model('vit_7b_patch16_dinov3', pretrained=False, num_classes=0,
                              img_size=64, **TOY).eval()
    with torch.no_grad():  # weights no random initialization gives
        for param in model.parameters():
            param.add_(0.05 * torch.randn_like(param))
    path = str(tmp_path / 'model.pth')
    torch.save(model.state_dict(), path)  # timm's layout (huggingface timm/*.lvd1689m)

    teacher = _teacher(arch='vit_7b_patch16_dinov3', input_size=64, arch_kwargs=TOY,
                       pretrained=path)
    out = teacher(photos)
    with torch.no_grad():
        tokens = model.forward_features(teacher.preprocess(photos))
    assert model.num_prefix_tokens == 5  # CLS + 4 registers
    assert torch.allclose(out.summary, tokens[:, 0], atol=1e-5)
    patches = tokens[:, 5:].transpose(1, 2).reshape(2, 64, 4, 4)
    assert torch.allclose(out.features, patches, atol=1e-5)
    assert teacher.mean == (0.485, 0.456, 0.406)  # LVD-1689M weights: ImageNet statistics


def test_rope_runs_at_any_multiple_of_16_and_takes_other_statistics(photos):
    teacher = _teacher(arch='vit_small_patch16_dinov3', input_size=(48, 80), arch_kwargs=TOY,
                       mean=(0.43, 0.411, 0.296), std=(0.213, 0.156, 0.143))
    assert teacher(photos).features.shape == (2, 64, 3, 5)
    assert teacher.std == (0.213, 0.156, 0.143)


def test_unknown_arch_lists_the_dinov3_models():
    with pytest.raises(ValueError, match='vit_7b_patch16_dinov3'):
        DINOv3Teacher(arch='vit_giant_patch14_reg4_dinov2')


def test_facebookresearch_checkpoint_layout_loads(tmp_path):
    """The names and shapes of facebookresearch/dinov3's own state dict (``storage_tokens``,
    ``rope_embed.periods``, ``ls1.gamma``, SwiGLU ``w1/w2/w3``, ``local_cls_norm``), written
    by its ``DinoVisionTransformer`` with ``dinov3_vit7b16``'s options at 64 wide, 2 blocks
    (tests/data/dinov3_vit7b16_toy_keys.json). timm's Eva filter maps them onto the teacher;
    with the same weights the teacher's CLS and patch tokens equalled the original's
    ``x_norm_clstoken`` / ``x_norm_patchtokens`` exactly (checked when the file was made)."""
    shapes = json.load(open(osp.join(osp.dirname(__file__), '..', '..', 'data',
                                     'dinov3_vit7b16_toy_keys.json')))
    assert 'storage_tokens' in shapes and 'blocks.0.mlp.w3.weight' in shapes
    path = str(tmp_path / 'dinov3_vit7b16_pretrain_lvd1689m.pth')
    torch.save({k: torch.randn(v) for k, v in shapes.items()}, path)
    teacher = _teacher(arch='vit_7b_patch16_dinov3', input_size=64, arch_kwargs=TOY,
                       pretrained=path)  # strict: a missing or unexpected key raises
    assert torch.equal(teacher.encoder.reg_token.detach(),
                       torch.load(path)['storage_tokens'])
