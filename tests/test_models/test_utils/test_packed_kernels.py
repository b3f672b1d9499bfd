"""pack_kernels(): oneDNN linears and convolutions with weights reordered once and the
following activation fused compute what the plain modules compute, and step aside wherever
the fused kernels do not apply (autograd, tracing, other dtypes, no oneDNN)."""
import copy
import io
import platform
from unittest import mock

import pytest
import torch
from timm.layers import ConvNormAct, Mlp
from torch import nn

from radio_mm.models.utils import kernel_packing
from radio_mm.models.utils.inference_form import fuse_all_conv_norm_act
from radio_mm.models.utils.kernel_packing import pack_kernels
from radio_mm.models.utils.packed_kernels import (
    PackedConv2d,
    PackedLinear,
    packed_kernels_available,
)
from radio_mm.models.utils.winograd_conv import WinogradConv2d


def test_fused_ops_exist_on_x86():
    """The ops are torch-internal (inductor's): a torch upgrade that renames them must fail
    here, not make every deployed model silently slower (the tests below would skip)."""
    if platform.machine() not in ('x86_64', 'AMD64') or not torch.backends.mkldnn.is_available():
        pytest.skip('oneDNN fused ops are expected on x86 builds only')
    assert packed_kernels_available()


needs_fused_ops = pytest.mark.skipif(not packed_kernels_available(),
                                     reason='this torch has no oneDNN fused ops')


def rel_error(ours, reference):
    return ((ours.double() - reference.double()).abs().max()
            / reference.double().abs().max()).item()


class Net(nn.Module):
    """Every pattern pack_kernels fuses, and one it must leave alone."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(ConvNormAct(3, 8, 3, stride=2, apply_act=False), nn.ReLU(),
                                  nn.Conv2d(8, 16, 1), nn.GELU(approximate='tanh'))
        self.block = ConvNormAct(16, 16, 3, act_layer=nn.SiLU)
        self.depthwise = nn.Conv2d(16, 16, 3, padding=1, groups=16)
        self.reflect = nn.Conv2d(16, 16, 3, padding=1, padding_mode='reflect')
        self.mlp = Mlp(16, 64)
        self.head = nn.Linear(16, 5, bias=False)

    def forward(self, x):
        x = self.reflect(self.depthwise(self.block(self.stem(x))))
        return self.head(self.mlp(x.flatten(2).transpose(1, 2)))


def deployed_pair(seed=0):
    torch.manual_seed(seed)
    model = Net().eval()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-1, 1)
                module.running_var.uniform_(0.5, 2)
        fuse_all_conv_norm_act(model)
    packed = copy.deepcopy(model)
    return model, packed, pack_kernels(packed)


@needs_fused_ops
def test_pack_kernels_fuses_activations_and_keeps_outputs():
    model, packed, count = deployed_pair()
    assert count == 4 + 3  # the convs but the reflect-padded one, and the linears
    assert isinstance(packed.stem[0].conv, PackedConv2d) and packed.stem[0].conv.post_op == \
        ('relu', '')
    assert isinstance(packed.stem[1], nn.Identity)
    assert packed.stem[2].post_op == ('gelu', 'tanh') and isinstance(packed.stem[3], nn.Identity)
    assert packed.block.conv.post_op == ('swish', '') and isinstance(packed.block.bn, nn.Identity)
    assert packed.mlp.fc1.post_op == ('gelu', 'none') and isinstance(packed.mlp.act, nn.Identity)
    assert isinstance(packed.depthwise, PackedConv2d)
    assert type(packed.reflect) is nn.Conv2d  # pads in its own forward: left alone
    assert isinstance(packed.head, PackedLinear) and packed.head.bias is None
    assert packed.state_dict().keys() == model.state_dict().keys()
    x = torch.randn(2, 3, 30, 22)
    with torch.no_grad():
        assert rel_error(packed(x), model(x)) <= 1e-5


@needs_fused_ops
def test_fused_path_only_where_it_applies():
    model, packed, _ = deployed_pair()
    x = torch.randn(1, 3, 16, 16)
    calls = []
    real = torch.ops.mkldnn._linear_pointwise

    def counting(*args):
        calls.append(1)
        return real(*args)

    with mock.patch.object(torch.ops.mkldnn, '_linear_pointwise', counting):
        with torch.no_grad():
            packed(x)
        fused = len(calls)
        out = packed(x)  # autograd: plain modules, gradients flow
        out.sum().backward()
        assert len(calls) == fused == 3
    reference = model(x)
    reference.sum().backward()
    assert rel_error(packed.mlp.fc2.weight.grad, model.mlp.fc2.weight.grad) <= 1e-5
    with torch.no_grad():  # float64 runs the plain modules
        double = copy.deepcopy(packed).double()(x.double())
    assert double.dtype == torch.float64 and rel_error(double, reference.detach()) <= 1e-5


@needs_fused_ops
def test_reordered_weight_follows_the_weight_and_is_never_copied():
    _, packed, _ = deployed_pair()
    x = torch.randn(1, 3, 16, 16)
    with torch.no_grad():
        before = packed(x)
        clone = copy.deepcopy(packed)
        buffer = io.BytesIO()
        torch.save(packed, buffer)  # oneDNN tensors cannot be pickled: left out
        assert clone.head._packed is None and packed.head._packed is not None
        assert torch.equal(clone(x), before)
        packed.head.weight.mul_(2)  # in-place change: reordered again
        assert rel_error(packed(x), 2 * before) <= 1e-5
        buffer.seek(0)
        loaded = torch.load(buffer, weights_only=False)
        assert torch.equal(loaded(x), before)


def test_without_onednn_nothing_is_swapped():
    model = Net()
    with mock.patch.object(kernel_packing, 'packed_kernels_available', return_value=False):
        assert pack_kernels(model) == 0
    assert not any(isinstance(m, PackedConv2d) for m in model.modules())


@needs_fused_ops
@pytest.mark.parametrize('shape,activation', [
    ((2, 256, 9, 7), nn.SiLU()),  # odd sizes: one padded row/column, cut off
    ((1, 320, 16, 16), None),
    ((1, 256, 1, 1), None),
])
def test_winograd_conv_equals_the_convolution(shape, activation):
    torch.manual_seed(0)
    conv = nn.Conv2d(shape[1], 288, 3, padding=1)
    winograd = WinogradConv2d.from_conv(conv, activation)
    x = torch.randn(*shape)
    with torch.no_grad():
        reference = nn.functional.conv2d(x.double(), conv.weight.double(),
                                         conv.bias.double(), padding=1)
        if activation is not None:
            reference = nn.functional.silu(reference)
        got = winograd(x)
        channels_last = winograd(x.contiguous(memory_format=torch.channels_last))
    assert got.shape == reference.shape
    assert rel_error(got, reference) <= 2e-6  # the direct kernel's own error is ~1e-6
    assert torch.equal(channels_last, got)


@needs_fused_ops
def test_winograd_only_for_wide_same_padded_3x3():
    assert isinstance(pack_one(nn.Conv2d(256, 256, 3, padding=1)), WinogradConv2d)
    for conv in (nn.Conv2d(128, 256, 3, padding=1), nn.Conv2d(256, 256, 3, stride=2, padding=1),
                 nn.Conv2d(256, 256, 3), nn.Conv2d(256, 256, 1),
                 nn.Conv2d(256, 256, 3, padding=1, groups=2)):
        packed = pack_one(conv)
        assert type(packed) is PackedConv2d, conv
    with pytest.raises(ValueError, match='does not apply'):
        WinogradConv2d.from_conv(nn.Conv2d(256, 256, 1))


def pack_one(conv):
    holder = nn.Sequential(conv)
    pack_kernels(holder)
    return holder[0]


@needs_fused_ops
def test_torch_compile_traces_the_plain_modules():
    """Under torch.compile the packed modules run their plain forward (inductor packs
    weights by itself): dynamo traces them, and the fused ops are not called."""
    model, packed, _ = deployed_pair()
    x = torch.randn(1, 3, 16, 16)
    compiled = torch.compile(packed, backend='eager', fullgraph=True)
    with mock.patch.object(torch.ops.mkldnn, '_linear_pointwise',
                           side_effect=AssertionError('fused op while compiling')), \
            torch.no_grad():
        got = compiled(x)
        expected = model(x)
    assert rel_error(got, expected) <= 1e-5
