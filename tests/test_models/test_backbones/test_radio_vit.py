from functools import partial

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from radio_mm.models.backbones import RADIOViT
from radio_mm.models.backbones.radio_vit import default_global_blocks

TINY = dict(embed_dims=32, num_layers=4, num_heads=2)


def tiny_vit(**kwargs):
    torch.manual_seed(0)
    return RADIOViT(arch=TINY, cpe_max_size=1024, num_summary_tokens=3, register_multiple=8,
                    **kwargs)


@pytest.mark.parametrize('hw', [(224, 224), (512, 512), (432, 640)])
def test_shapes(hw):
    model = tiny_vit(out_indices=(1, 3)).eval()
    x = torch.rand(2, 3, *hw)
    with torch.no_grad():
        maps = model(x)
        radio = model.forward_radio(x)
    grid = (hw[0] // 16, hw[1] // 16)
    assert [m.shape for m in maps] == [torch.Size([2, 32, *grid])] * 2
    assert radio.summary.shape == (2, 3, 32)
    assert radio.features.shape == (2, grid[0] * grid[1], 32)
    # 3 summary + 5 registers (padded to a multiple of 8) precede the patches.
    assert model.num_prefix_tokens == 8
    assert torch.equal(maps[-1].flatten(2).transpose(1, 2), radio.features)


def test_base_arch_at_224():
    model = RADIOViT(arch='b', num_summary_tokens=3, register_multiple=8).eval()
    assert sum(p.numel() for p in model.blocks.parameters()) == 12 * 7_087_872
    with torch.no_grad():
        (out, ) = model(torch.rand(1, 3, 224, 224))
    assert out.shape == (1, 768, 14, 14)


def test_cpe_is_deterministic_in_eval_and_crops_in_train():
    model = tiny_vit()
    x = torch.rand(1, 3, 224, 224)
    model.eval()
    with torch.no_grad():
        a, b = model(x)[0], model(x)[0]
    assert torch.equal(a, b)
    pos_eval = model.patch_generator.position_encoding(4, (14, 14))
    model.train()
    torch.manual_seed(1)
    pos_train = model.patch_generator.position_encoding(4, (14, 14))
    assert pos_train.shape == (4, 196, 32)
    # Every image gets its own crop, none equal to the inference grid.
    assert not torch.allclose(pos_train[0], pos_train[1])
    assert not torch.allclose(pos_train[0], pos_eval[0])


def test_eval_position_grid_resizes_then_crops_top_left():
    model = tiny_vit().eval()
    gen = model.patch_generator
    grid = gen.pos_embed.reshape(1, 64, 64, 32).permute(0, 3, 1, 2)
    wide = gen.position_encoding(1, (16, 32)).transpose(1, 2).unflatten(2, (16, 32))
    full = F.interpolate(grid, size=(32, 32), mode='bilinear', align_corners=False)
    assert torch.allclose(wide, full[..., :16, :32])
    assert torch.equal(gen.position_encoding(1, (64, 64)), gen.pos_embed)


def test_one_window_covering_the_image_equals_global_attention():
    # Summary/register tokens skip windowed blocks (as released), so compare without them.
    def vit(**kwargs):
        torch.manual_seed(0)
        return RADIOViT(arch=TINY, cpe_max_size=1024, num_summary_tokens=0, **kwargs).eval()

    global_model = vit()
    windowed = vit(window_size=14)
    windowed.load_state_dict(global_model.state_dict())
    assert windowed.global_blocks == {3}  # the others really are windowed
    x = torch.rand(1, 3, 224, 224)
    with torch.no_grad():
        assert torch.allclose(windowed(x)[0], global_model(x)[0], atol=1e-5)
        # Smaller windows change the result: the windowing is really applied.
        small = vit(window_size=7)
        small.load_state_dict(global_model.state_dict())
        assert not torch.allclose(small(x)[0], global_model(x)[0], atol=1e-3)


def test_windowed_blocks_leave_summary_tokens_out():
    model = tiny_vit(window_size=7).eval()
    x = torch.rand(1, 3, 112, 112)
    tokens = model.patch_generator(x)
    with torch.no_grad():
        out = model._run_block(0, tokens, (7, 7))
    assert torch.equal(out[:, :8], tokens[:, :8])
    assert not torch.allclose(out[:, 8:], tokens[:, 8:])


@pytest.mark.parametrize('hw', [(5, 7), (6, 6)])
def test_windowed_block_pads_the_grid_as_vitdet(hw):
    """A windowed block equals timm's ViTDet/SAM block (pad after norm1, attention in
    windows, unpad, MLP) on the patch tokens, whether the windows tile the grid or not."""
    from timm.models.vision_transformer_sam import Block as ViTDetBlock

    model = tiny_vit(window_size=3, init_values=0.5).eval()
    # A non-zero norm1 bias tells padding after the norm (ViTDet) from padding before it.
    nn.init.normal_(model.blocks[0].norm1.bias)
    reference = ViTDetBlock(32, 2, window_size=3, init_values=0.5,
                            norm_layer=partial(nn.LayerNorm, eps=1e-6)).eval()
    reference.load_state_dict(model.blocks[0].state_dict())
    tokens = torch.randn(2, 8 + hw[0] * hw[1], 32)
    with torch.no_grad():
        out = model._run_block(0, tokens, hw)
        expected = reference(tokens[:, 8:].unflatten(1, hw)).flatten(1, 2)
    assert torch.equal(out[:, :8], tokens[:, :8])
    assert torch.allclose(out[:, 8:], expected, atol=1e-5)


def test_windows_need_not_tile_the_input():
    # 80x112 px = 5x7 patches: 3-patch windows overhang both sides; inputs need only be
    # multiples of the patch size, and the padding never reaches the outputs or gradients.
    model = tiny_vit(window_size=3, out_indices=(1, 3), cpe_train_crop=False)
    assert model.size_multiple == 16
    x = torch.rand(2, 3, 80, 112, requires_grad=True)
    maps = model(x)
    assert [m.shape for m in maps] == [torch.Size([2, 32, 5, 7])] * 2
    maps[-1].square().mean().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    with pytest.raises(ValueError, match='multiples of 16'):
        model(torch.rand(1, 3, 80, 100))


def test_default_global_blocks_follow_the_released_layout():
    assert default_global_blocks(32) == (7, 15, 23, 31)
    assert default_global_blocks(12) == (2, 5, 8, 11)
    assert default_global_blocks(2) == (1, )  # one-block periods: only the last is global


def test_with_cp_gives_same_outputs_and_gradients():
    x = torch.rand(2, 3, 64, 96)
    grads = []
    outs = []
    for with_cp in (False, True):
        model = tiny_vit(with_cp=with_cp, drop_path_rate=0.0, cpe_train_crop=False).train()
        out = model(x)[0]
        out.square().mean().backward()
        outs.append(out.detach())
        grads.append(model.blocks[0].attn.qkv.weight.grad.clone())
    assert torch.allclose(outs[0], outs[1], atol=1e-6)
    assert torch.allclose(grads[0], grads[1], atol=1e-6)


def test_frozen_freezes_everything_and_stays_in_eval():
    model = tiny_vit(frozen=True)
    model.train()
    assert not any(p.requires_grad for p in model.parameters())
    assert not model.training and not model.blocks[0].training


def test_frozen_stages_freezes_stem_and_first_blocks():
    model = tiny_vit(frozen_stages=2)
    model.train()
    assert not model.patch_generator.pos_embed.requires_grad
    assert not any(p.requires_grad for p in model.blocks[1].parameters())
    assert all(p.requires_grad for p in model.blocks[2].parameters())
    assert model.blocks[2].training and not model.blocks[1].training


def test_non_multiple_size_raises_clear_error_or_pads():
    with pytest.raises(ValueError, match=r'multiples of 16.*pad_to_multiple=True'):
        tiny_vit().eval()(torch.rand(1, 3, 225, 224))
    padded = tiny_vit(pad_to_multiple=True).eval()
    with torch.no_grad():
        (out, ) = padded(torch.rand(1, 3, 225, 230))
    assert out.shape == (1, 32, 15, 15)


def test_wrong_channels_are_reported():
    with pytest.raises(ValueError, match=r'\(B, 3, H, W\)'):
        tiny_vit()(torch.rand(1, 1, 32, 32))


def test_unknown_arch_lists_choices():
    with pytest.raises(ValueError, match="unknown RADIOViT arch 'xl'"):
        RADIOViT(arch='xl')


def test_summary_out_types_for_classifiers():
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        (summary, ) = tiny_vit(out_type='summary').eval()(x)
        (both, ) = tiny_vit(out_type='summary_avgpool').eval()(x)
    assert summary.shape == (2, 3 * 32)
    assert both.shape == (2, 4 * 32)
    assert torch.allclose(both[:, :96], summary)


def test_layer_depth_for_layer_decay():
    model = tiny_vit()
    assert model.get_layer_depth('backbone.patch_generator.pos_embed', 'backbone.') == (0, 6)
    assert model.get_layer_depth('backbone.blocks.2.attn.qkv.weight', 'backbone.') == (3, 6)
    assert model.get_layer_depth('backbone.norm.weight', 'backbone.') == (5, 6)
    assert model.get_layer_depth('head.fc.weight', 'backbone.') == (5, 6)


def test_patch_14_and_long_arch_names():
    model = RADIOViT(arch=TINY, patch_size=14, cpe_max_size=1050, num_summary_tokens=3).eval()
    assert model.patch_generator.grid_size == 75  # round(1050 / 14), the radio_v1 grid
    with torch.no_grad():
        (out, ) = model(torch.rand(1, 3, 378, 224))
    assert out.shape == (1, 32, 27, 16)
    with pytest.raises(ValueError, match='multiples of 14'):
        model(torch.rand(1, 3, 224, 224 + 16))
    with torch.device('meta'):
        huge = RADIOViT(arch='huge')
    assert (huge.embed_dims, huge.num_layers) == (1280, 32)


@pytest.mark.parametrize('window_size', [0, -1, 2.5])
def test_impossible_window_sizes_fail_at_construction(window_size):
    with pytest.raises(ValueError, match=r'window_size \(vitdet_window_size\) must be a positive'):
        tiny_vit(window_size=window_size)
