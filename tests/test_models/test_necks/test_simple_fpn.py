import pytest
import torch
from mmcv.cnn import ConvModule

from radio_mm.models.necks import SimpleFPN
from radio_mm.models.utils import LN2d

NORM = dict(type='radio_mm.LN2d', requires_grad=True)  # outside any default scope


def _neck(**kwargs):
    return SimpleFPN(backbone_channel=64, in_channels=[16, 32, 64, 64], out_channels=24,
                     num_outs=5, norm_cfg=NORM, **kwargs)


def test_pyramid_strides_and_channels():
    neck = _neck()
    x = torch.randn(2, 64, 8, 12)  # a stride-16 map of a 128x192 image
    outs = neck((x, ))
    assert [tuple(o.shape) for o in outs] == [
        (2, 24, 32, 48), (2, 24, 16, 24), (2, 24, 8, 12), (2, 24, 4, 6), (2, 24, 2, 3)]
    # A bare tensor (the project's ViT output) gives the same pyramid.
    for a, b in zip(outs, neck(x)):
        torch.testing.assert_close(a, b)
    # P6 is P5 subsampled by 2.
    torch.testing.assert_close(outs[4], outs[3][:, :, ::2, ::2])


def test_layers_match_the_vitdet_project():
    neck = _neck(act_cfg=dict(type='ReLU'))
    assert isinstance(neck.fpn1[1], LN2d) and isinstance(neck.fpn1[2], torch.nn.GELU)
    assert [m.out_channels for m in (neck.fpn1[0], neck.fpn1[3], neck.fpn2[0])] == [32, 16, 32]
    assert isinstance(neck.fpn3[0], torch.nn.Identity)
    assert isinstance(neck.fpn4[0], torch.nn.MaxPool2d)
    for conv in (*neck.lateral_convs, *neck.fpn_convs):
        assert isinstance(conv, ConvModule) and conv.conv.bias is None
        assert isinstance(conv.norm, LN2d) and conv.with_activation
    assert [c.conv.kernel_size for c in neck.fpn_convs] == [(3, 3)] * 4
    # No top-down pathway: a level depends only on its own branch.
    neck(torch.randn(1, 64, 4, 4))[3].sum().backward()
    assert neck.lateral_convs[3].conv.weight.grad is not None
    assert neck.fpn1[0].weight.grad is None and neck.lateral_convs[2].conv.weight.grad is None


def test_bad_inputs_name_the_fix():
    with pytest.raises(ValueError, match='norm_cfg'):
        SimpleFPN(64, [16, 32, 64, 64], 24, 5)
    with pytest.raises(TypeError, match='in_channels must be a list'):
        SimpleFPN(64, 64, 24, 5, norm_cfg=NORM)
    with pytest.raises(ValueError, match=r'\(B, 64, H, W\)'):
        _neck()(torch.randn(1, 32, 4, 4))
