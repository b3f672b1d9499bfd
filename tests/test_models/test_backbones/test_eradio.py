import os.path as osp
from unittest import mock

import pytest
import torch
from mmengine.registry import DefaultScope

from radio_mm.formats.eradio_release import eradio_arch_from_state_dict, eradio_cfg_from_official
from radio_mm.models.backbones import ERADIO, eradio_blocks

# Official NVlabs/RADIO ERADIO (c0f3701) with random weights, its config and its eval outputs
# on skimage photos (astronaut + coffee at 128x256; chelsea at 96x160, whose stage maps the
# windows do not tile; chelsea again after the official change_window_size(2)).
FIXTURE = osp.join(osp.dirname(__file__), '..', '..', 'data', 'eradio_official_tiny.pth')

TINY = dict(stem_channels=8, base_channels=8, depths=(1, 1, 2, 1), num_heads=(1, 1, 2, 2),
            window_sizes=(None, None, 4, 4), sr_ratios=(1, 1, (2, 1), 1), neck_channels=24,
            neck_start_stage=2, cpb_mlp_hidden=16)


def tiny_eradio(**kwargs):
    torch.manual_seed(0)
    return ERADIO(arch=TINY, **kwargs)


def arch_from_official_config(cfg):
    """Official ERADIO kwargs -> ERADIO arch (the renames listed in eradio.py)."""
    return dict(stem_channels=cfg['in_dim'], base_channels=cfg['dim'], depths=cfg['depths'],
                num_heads=cfg['num_heads'], window_sizes=cfg['window_size'],
                sr_ratios=cfg['sr_ratio'], neck_channels=cfg['full_features_head_dim'],
                neck_start_stage=cfg['neck_start_stage'],
                cpb_mlp_hidden=cfg['cpb_mlp_hidden'])


@pytest.fixture(scope='module')
def official():
    return torch.load(FIXTURE)


@pytest.mark.parametrize('case_index', [0, 1, 2])
def test_matches_official_implementation(official, case_index):
    case = official['cases'][case_index]
    model = ERADIO(arch=arch_from_official_config(official['official_config']),
                   window_size=case['window_size'], out_indices=(3, 4))
    state = dict(official['official_state_dict'])
    state['norm.weight'] = torch.ones(64)  # the final BatchNorm hubconf drops
    # Strict: every official key is used, the derived CPB buffers and `norm` are dropped.
    model.load_state_dict(state, strict=True)
    model.eval()
    mean, std = official['mean'].view(1, 3, 1, 1), official['std'].view(1, 3, 1, 1)
    x = (case['image'].float() / 255 - mean) / std
    with torch.no_grad():
        radio = model.forward_radio(x)
        stride32, neck = model(x)
    torch.testing.assert_close(radio.features, case['features'], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(radio.summary, case['summary'], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(stride32, case['final'], rtol=1e-4, atol=1e-5)
    assert torch.equal(neck.flatten(2).transpose(1, 2), radio.features)
    assert radio.hw == (x.shape[2] // 16, x.shape[3] // 16)


def test_config_is_read_off_official_weights(official):
    state = official['official_state_dict']
    cfg = eradio_cfg_from_official('eradio_custom', {}, state)
    assert cfg['type'] == 'ERADIO'
    expected = ERADIO.arch_settings(arch_from_official_config(official['official_config']))
    found = ERADIO.arch_settings(cfg['arch'])
    assert found['num_heads'][2:] == expected['num_heads'][2:]  # conv levels have no heads
    found['num_heads'] = expected['num_heads']
    assert found == expected


def test_unsupported_official_variants_are_named(official):
    state = dict(official['official_state_dict'])
    state['levels.2.blocks.0.attention_blocks.0.attn.qkv.bias'] = torch.zeros(96)
    with pytest.raises(ValueError, match=r'variant ERADIO does not build.*qkv\.bias'):
        eradio_cfg_from_official('eradio_custom', {}, state)
    without_buffers = {k: v for k, v in official['official_state_dict'].items()
                       if 'relative_' not in k}
    with pytest.raises(ValueError, match='pass the training window_size'):
        eradio_arch_from_state_dict(without_buffers)
    with pytest.raises(ValueError, match='use_shift'):
        eradio_cfg_from_official('eradio', dict(use_shift=True), state)


def test_large_arch_matches_the_release():
    with torch.device('meta'):
        model = ERADIO(arch='l')
    # NVlabs/RADIO e-radio_v2 backbone without the final norm hubconf drops.
    assert sum(p.numel() for p in model.parameters()) == 389_598_784
    state = model.state_dict()
    assert state['levels.2.blocks.4.attention_blocks.0.upsample_op.weight'].shape == \
        (768, 768, 2, 2)
    assert state['levels.3.blocks.4.attention_blocks.0.attn.pos_emb_funct.cpb_mlp.2.weight'] \
        .shape == (16, 512)
    assert state['high_res_neck.neck_features_proj.1.conv2.weight'].shape == (1536, 1536, 1, 1)
    assert not any('relative_' in k for k in state)  # derived buffers are not saved
    assert model.embed_dims == 1536 and model.patch_size == 16
    assert model.stage_channels == (192, 384, 768, 1536, 1536)


@pytest.mark.parametrize('hw', [(224, 224), (512, 512), (448, 640)])
def test_shapes_and_out_indices(hw):
    model = tiny_eradio(out_indices=(0, 1, 2, 3, 4)).eval()
    x = torch.rand(2, 3, *hw)
    with torch.no_grad():
        maps = model(x)
        radio = model.forward_radio(x)
    expected = [(8, 4), (16, 8), (32, 16), (64, 32), (24, 16)]  # (channels, stride)
    assert [tuple(m.shape) for m in maps] == [
        (2, c, hw[0] // s, hw[1] // s) for c, s in expected]
    grid = (hw[0] // 16, hw[1] // 16)
    assert radio.hw == grid
    assert radio.features.shape == (2, grid[0] * grid[1], 24)
    assert radio.summary.shape == (2, 1, 24)
    assert torch.allclose(radio.summary[:, 0], radio.features.mean(1))


def test_xxxtiny_preset_at_224():
    model = ERADIO(arch='xxxtiny', out_indices=(2, -1)).eval()
    with torch.no_grad():
        stride16, neck = model(torch.rand(1, 3, 224, 224))
    assert stride16.shape == (1, 128, 14, 14)
    assert neck.shape == (1, 256, 14, 14)


def test_non_multiple_size_raises_clear_error_or_pads():
    with pytest.raises(ValueError, match=r'multiples of 32.*pad_to_multiple=True'):
        tiny_eradio().eval()(torch.rand(1, 3, 100, 100))
    padded = tiny_eradio(pad_to_multiple=True).eval()
    with torch.no_grad():
        (out, ) = padded(torch.rand(1, 3, 100, 100))
    assert out.shape == (1, 24, 8, 8)  # padded to 128x128


def test_window_size_override_changes_the_windows():
    x = torch.rand(1, 3, 128, 128)
    default = tiny_eradio().eval()
    small = tiny_eradio(window_size=2).eval()
    small.load_state_dict(default.state_dict())
    assert small.levels[2].map_multiple == 4 and default.levels[2].map_multiple == 8
    with torch.no_grad():
        assert not torch.allclose(small(x)[0], default(x)[0], atol=1e-3)


def test_with_cp_gives_same_outputs_and_gradients():
    x = torch.rand(2, 3, 64, 96)
    outs, grads = [], []
    for with_cp in (False, True):
        model = tiny_eradio(with_cp=with_cp).train()
        with mock.patch.object(eradio_blocks, 'checkpoint', wraps=eradio_blocks.checkpoint) as cp:
            out = model(x)[0]
        # Each C2f stage and each attention block (2 + 2 + 1) is checkpointed.
        assert cp.call_count == (5 if with_cp else 0)
        out.square().mean().backward()
        outs.append(out.detach())
        grads.append([p.grad.clone() for p in model.parameters()])
    assert torch.allclose(outs[0], outs[1], atol=1e-6)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(*grads))


def test_frozen_stages_freezes_stem_and_first_levels():
    model = tiny_eradio(frozen_stages=2)
    model.train()
    assert not any(p.requires_grad for p in model.patch_embed.parameters())
    assert not any(p.requires_grad for p in model.levels[1].parameters())
    assert all(p.requires_grad for p in model.levels[2].parameters())
    assert all(p.requires_grad for p in model.high_res_neck.parameters())
    assert not model.levels[1].training and model.levels[2].training


def test_frozen_freezes_everything_and_stays_in_eval():
    model = tiny_eradio(frozen=True)
    model.train()
    assert not any(p.requires_grad for p in model.parameters())
    assert not model.high_res_neck.neck_features_proj[1].norm.training


def test_summary_out_type_for_classifiers():
    with torch.no_grad():
        (summary, ) = tiny_eradio(out_type='summary').eval()(torch.rand(2, 3, 64, 64))
    assert summary.shape == (2, 24)


def test_layer_depth_for_layer_decay():
    model = tiny_eradio()
    assert model.get_layer_depth('backbone.patch_embed.conv_down.0.conv.weight',
                                 'backbone.') == (0, 7)
    assert model.get_layer_depth('backbone.levels.2.blocks.0.attention_blocks.1.mlp.fc1.weight',
                                 'backbone.') == (3, 7)
    assert model.get_layer_depth('backbone.high_res_neck.neck_features_proj.0.conv1.weight',
                                 'backbone.') == (5, 7)
    assert model.get_layer_depth('decode_head.conv_seg.weight', 'backbone.') == (6, 7)


def test_invalid_arch_is_reported():
    with pytest.raises(ValueError, match="unknown ERADIO arch 'xl'"):
        ERADIO(arch='xl')
    with pytest.raises(ValueError, match=r'window_sizes\[2\] must be one int'):
        ERADIO(arch=dict(TINY, window_sizes=(None, None, (4, 8), 4)))
    with pytest.raises(ValueError, match='conv levels'):
        ERADIO(arch=dict(TINY, window_sizes=(4, None, 4, 4)))


@pytest.mark.parametrize('scope', ['mmseg', 'mmdet', 'mmpretrain'])
def test_builds_by_scoped_name_in_each_toolbox(scope):
    import importlib
    registry = importlib.import_module(f'{scope}.registry').MODELS
    with DefaultScope.overwrite_default_scope(scope):
        model = registry.build(dict(type='radio_mm.ERADIO', arch=TINY))
    assert isinstance(model, ERADIO)
