"""3x3 convolutions through Winograd's minimal filtering F(2x2, 3x3), for deployed models.

Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks" (CVPR 2016), sec. 4: each
2x2 output tile is computed from a 4x4 input tile with 16 multiplies per (input, output)
channel pair instead of 36, i.e. the convolution becomes 16 independent GEMMs in the
transformed domain, (tiles, C_in) @ (C_in, C_out), between two cheap add/subtract
transforms. For wide 3x3 convs on small maps, E-RADIO's 768- and 1536-channel ``pre_conv``
at strides 16 and 32, this is 1.7x faster than oneDNN's direct convolution on this CPU
(benchmarks/README.md); with few channels the transforms dominate, so narrower convs keep
the direct kernel. F(2x2, 3x3)'s transforms hold only 0, +-1 and 1/2, so float32 results are
as close to the exact convolution as the direct kernel's (measured ~5e-7 relative to a
float64 reference, against ~1e-6 for the direct kernel).

The 16 GEMMs run oneDNN's linear kernel on weights transformed and reordered once; like
:class:`~radio_mm.models.utils.packed_kernels.PackedConv2d`, the module keeps its plain
``weight`` and falls back to ``F.conv2d`` wherever the fused path does not apply.
"""
import torch
import torch.nn.functional as F
from torch import nn

from .packed_kernels import PackedConv2d

# G of F(2, 3) (Lavin & Gray, eq. 7): the filter transform, U = G g G^T per channel pair.
FILTER_TRANSFORM = ((1.0, 0.0, 0.0), (0.5, 0.5, 0.5), (0.5, -0.5, 0.5), (0.0, 0.0, 1.0))
# The narrowest input width at which F(2x2, 3x3) beat the direct kernel here (192 channels
# at 64 x 64 was a tie, 96 at 128 x 128 1.3x slower; 768 and 1536 1.7x faster).
MIN_CHANNELS = 256


def winograd_applies(conv):
    """A 3x3, stride-1, 'same'-padded, ungrouped, undilated conv wide enough to gain."""
    return (conv.kernel_size == (3, 3) and conv.stride == (1, 1) and conv.padding == (1, 1)
            and conv.dilation == (1, 1) and conv.groups == 1
            and conv.in_channels >= MIN_CHANNELS)


def transform_filters(weight):
    """(C_out, C_in, 3, 3) -> (16, C_out, C_in): U = G g G^T, computed in float64."""
    g = torch.tensor(FILTER_TRANSFORM, dtype=torch.float64, device=weight.device)
    u = torch.einsum('ai,ocij,bj->aboc', g, weight.double(), g)
    return u.reshape(16, *weight.shape[:2]).to(weight.dtype).contiguous()


def _transform_taps(taps, out=None):
    """B^T along one axis, B^T = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]:
    taps d0..d3 of every tile -> d0 - d2, d1 + d2, d2 - d1, d1 - d3 (into ``out`` if given)."""
    rows = (torch.sub, 0, 2), (torch.add, 1, 2), (torch.sub, 2, 1), (torch.sub, 1, 3)
    if out is None:
        return [op(taps[a], taps[b]) for op, a, b in rows]
    for target, (op, a, b) in zip(out, rows):
        op(taps[a], taps[b], out=target)


def _input_tiles(x):
    """(B, C, H, W) with H, W even -> (16, B*H/2*W/2, C): B^T d B of every 4x4 input tile
    (tiles at stride 2 over the map zero-padded by 1)."""
    b, c, h, w = x.shape
    padded = F.pad(x.permute(0, 2, 3, 1), (0, 0, 1, 1, 1, 1))  # (B, H+2, W+2, C)
    out = x.new_empty(16, b, h // 2, w // 2, c)
    rows = _transform_taps([padded[:, k:k + h:2] for k in range(4)])
    for i, row in enumerate(rows):
        _transform_taps([row[:, :, k:k + w:2] for k in range(4)], out=out[4 * i:4 * i + 4])
    return out.view(16, -1, c)


def _output_tiles(products, bias, shape):
    """16 (B*H/2*W/2, C_out) products -> (B, C_out, H, W) (channels-last): A^T m A per tile,
    A^T = [[1, 1, 1, 0], [0, 1, -1, -1]], plus the bias."""
    b, h, w = shape
    c = products[0].shape[-1]
    m = [p.view(b, h // 2, w // 2, c) for p in products]
    out = products[0].new_empty(b, h // 2, 2, w // 2, 2, c)
    # Along the first tap index, then the second; bias joins the last sums.
    first = ([m[j] + m[4 + j] + m[8 + j] for j in range(4)],
             [m[4 + j] - m[8 + j] - m[12 + j] for j in range(4)])
    for row, t in enumerate(first):
        left, right = t[0] + t[1] + t[2], t[1] - t[2] - t[3]
        if bias is not None:
            left, right = left.add_(bias), right.add_(bias)
        out[:, :, row, :, 0] = left
        out[:, :, row, :, 1] = right
    return out.view(b, h, w, c).permute(0, 3, 1, 2)


class WinogradConv2d(PackedConv2d):
    """``activation(conv3x3(x))`` as Winograd F(2x2, 3x3) over oneDNN GEMMs (module
    docstring); the reordered weight is the 16 transformed filter matrices."""

    @classmethod
    def from_conv(cls, conv, activation=None):
        if not winograd_applies(conv):
            raise ValueError(f'Winograd F(2x2, 3x3) does not apply to {conv}')
        return super().from_conv(conv, activation)

    def _reorder(self, weight, x):
        tiles = x.shape[0] * ((x.shape[2] + 1) // 2) * ((x.shape[3] + 1) // 2)
        return [torch.ops.mkldnn._reorder_linear_weight(u, tiles)
                for u in transform_filters(weight)]

    def forward(self, x):
        if not (self._fused_path(x) and x.dim() == 4):
            return self.activation(nn.Conv2d.forward(self, x))
        h, w = x.shape[2:]
        if h % 2 or w % 2:  # one more zero row/column, cut from the output
            x = F.pad(x, (0, w % 2, 0, h % 2))
        tiles = _input_tiles(x)
        products = [torch.ops.mkldnn._linear_pointwise(tiles[i], u, None, 'none', [], '')
                    for i, u in enumerate(self._packed_weight(x))]
        out = _output_tiles(products, self.bias, (x.shape[0], *x.shape[2:]))
        return self.activation(out[:, :, :h, :w])
