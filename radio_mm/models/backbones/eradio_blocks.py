"""E-RADIO building blocks: YOLOv8 C2f conv stages, windowed attention with a SwinV2
continuous position bias, multi-resolution (subsampled) attention, and the HiRes neck.

AM-RADIO (Ranzinger et al., CVPR 2024, sec. 5 "Efficient students") builds E-RADIO from
FasterViT, Swin and YOLOv8 parts. Attribute names follow NVlabs/RADIO
`radio/eradio_model.py` (commit c0f3701; line numbers below refer to it), so the official
``base_model.*`` weights load after a prefix strip; the maths is that file's eval path.
"""
from collections import OrderedDict

import torch
import torch.nn.functional as F
from timm.layers import (
    ConvNormAct,
    DropPath,
    Mlp,
    gen_relative_log_coords,
    gen_relative_position_index,
)
from timm.models.vision_transformer_sam import window_partition, window_unpartition
from torch import nn
from torch.utils.checkpoint import checkpoint

from ..utils.inference_form import (
    add_identity_to_conv,
    fuse_all_conv_norm_act,
    fuse_conv_norm,
    is_tracing,
)


def conv_bn(in_channels, out_channels, kernel_size=1, stride=1, act_layer=None):
    """Bias-free conv, BatchNorm, optional activation; keys ``conv.*``, ``bn.*`` (official
    ``Conv2d_BN`` without, YOLO ``Conv`` with SiLU). Padding is ``kernel_size // 2``."""
    return ConvNormAct(in_channels, out_channels, kernel_size, stride=stride,
                       apply_act=act_layer is not None, act_layer=act_layer)


def downsample(channels):
    """Stride-2 3x3 conv-BN doubling the channels, no activation (official ``Downsample``)."""
    return nn.Sequential(OrderedDict(reduction=conv_bn(channels, 2 * channels, 3, stride=2)))


class Stem(nn.Module):
    """(B, 3, H, W) -> (B, C, H/4, W/4): two stride-2 conv-BN-ReLU (official ``PatchEmbed``)."""

    def __init__(self, in_channels, mid_channels, out_channels):
        super().__init__()
        self.conv_down = nn.Sequential(
            conv_bn(in_channels, mid_channels, 3, stride=2), nn.ReLU(),
            conv_bn(mid_channels, out_channels, 3, stride=2), nn.ReLU())

    def forward(self, x):
        return self.conv_down(x)


class Bottleneck(nn.Module):
    """Residual pair of 3x3 conv-BN-SiLU (YOLOv8 ``Bottleneck`` with shortcut)."""

    def __init__(self, channels):
        super().__init__()
        self.cv1 = conv_bn(channels, channels, 3, act_layer=nn.SiLU)
        self.cv2 = conv_bn(channels, channels, 3, act_layer=nn.SiLU)

    def forward(self, x):
        return x + self.cv2(self.cv1(x))


class C2f(nn.Module):
    """YOLOv8 CSP block: split in two halves, chain bottlenecks on the second half, and fuse
    every intermediate result with a 1x1 conv (Jocher et al., Ultralytics YOLOv8)."""

    def __init__(self, channels, depth):
        super().__init__()
        hidden = channels // 2
        self.cv1 = conv_bn(channels, 2 * hidden, 1, act_layer=nn.SiLU)
        self.cv2 = conv_bn((2 + depth) * hidden, channels, 1, act_layer=nn.SiLU)
        self.m = nn.ModuleList(Bottleneck(hidden) for _ in range(depth))

    def forward(self, x):
        """(B, C, H, W) -> (B, C, H, W)."""
        parts = list(self.cv1(x).chunk(2, dim=1))
        for bottleneck in self.m:
            parts.append(bottleneck(parts[-1]))
        return self.cv2(torch.cat(parts, dim=1))


class ContinuousPositionBias(nn.Module):
    """SwinV2 continuous relative position bias (Liu et al., 2022, sec. 3.3): an MLP maps
    log-spaced (dy, dx) offsets to one bias per head, squashed to (0, 16) by 16*sigmoid.

    Offsets are normalised by the *pretrained* window, so a model can run with another window
    (official ``PosEmbMLPSwinv2D`` after ``change_window_size``). The coordinate table and
    index are derived from the window, so they are non-persistent buffers; the official
    ``relative_coords_table`` / ``relative_position_index`` / ``relative_bias`` entries of a
    checkpoint are dropped on load: in eval mode upstream recomputes the bias from the MLP on
    every call (l.323-366), so those values never reach the output.
    """

    _DERIVED = ('relative_coords_table', 'relative_position_index', 'relative_bias')

    def __init__(self, num_heads, window_size, pretrained_window_size, hidden_dims):
        super().__init__()
        self.num_heads = num_heads
        self.window_size = window_size
        self.cpb_mlp = nn.Sequential(
            nn.Linear(2, hidden_dims), nn.ReLU(inplace=True),
            nn.Linear(hidden_dims, num_heads, bias=False))
        window, pretrained = (window_size, ) * 2, (pretrained_window_size, ) * 2
        self.register_buffer('relative_coords_table',
                             gen_relative_log_coords(window, pretrained, dtype=torch.float32),
                             persistent=False)
        self.register_buffer('relative_position_index', gen_relative_position_index(window),
                             persistent=False)

    def switch_to_deploy(self):
        """Compute the bias once: it depends only on the window (official ``deploy``)."""
        self.register_buffer('deploy_bias', self.forward(), persistent=False)

    def forward(self):
        """-> (1, heads, N, N) additive attention bias, N = window_size**2."""
        if hasattr(self, 'deploy_bias'):
            return self.deploy_bias
        table = self.cpb_mlp(self.relative_coords_table).view(-1, self.num_heads)
        n = self.window_size**2
        bias = table[self.relative_position_index.view(-1)].view(n, n, self.num_heads)
        return 16 * torch.sigmoid(bias.permute(2, 0, 1)).unsqueeze(0)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        for name in self._DERIVED:
            state_dict.pop(prefix + name, None)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


class WindowAttention(nn.Module):
    """Multi-head self-attention inside a window plus the continuous position bias; qkv and
    proj have no bias (official ``WindowAttention``)."""

    def __init__(self, dims, num_heads, window_size, pretrained_window_size, cpb_mlp_hidden):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dims, 3 * dims, bias=False)
        self.proj = nn.Linear(dims, dims, bias=False)
        self.pos_emb_funct = ContinuousPositionBias(num_heads, window_size,
                                                    pretrained_window_size, cpb_mlp_hidden)

    def forward(self, x):
        """(B * windows, N, C) -> same shape."""
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, c // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        x = F.scaled_dot_product_attention(q, k, v, attn_mask=self.pos_emb_funct().to(q.dtype))
        return self.proj(x.transpose(1, 2).reshape(b, n, c))


class SubsampledWindowBlock(nn.Module):
    """Pre-norm transformer block on windows of a map subsampled by ``subsample_ratio``.

    With ratio r > 1 a stride-r conv shrinks the map first and a stride-r transposed conv
    restores it, so each window covers r times more pixels (the "multi-resolution attention"
    of E-RADIO; official ``GRAAttentionBlock`` with ``conv_base=True``). With r == 1 a 3x3
    conv-BN residual mixes across window borders first. The block output is the mean of the
    result and the block input (l.515-522).
    """

    def __init__(self, dims, num_heads, window_size, pretrained_window_size, subsample_ratio,
                 cpb_mlp_hidden, drop_path=0.0):
        super().__init__()
        self.window_size = window_size
        self.subsample_ratio = subsample_ratio
        r = subsample_ratio
        if r > 1:
            self.downsample_op = nn.Conv2d(dims, dims, r, stride=r)
            self.upsample_op = nn.ConvTranspose2d(dims, dims, r, stride=r)
        else:
            self.pre_conv = conv_bn(dims, dims, 3)
        self.pre_conv_has_residual = r == 1  # until switch_to_deploy folds it in
        self.norm1 = nn.LayerNorm(dims)
        self.attn = WindowAttention(dims, num_heads, window_size, pretrained_window_size,
                                    cpb_mlp_hidden)
        self.norm2 = nn.LayerNorm(dims)
        self.mlp = Mlp(dims, 4 * dims, bias=False)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def switch_to_deploy(self):
        if self.pre_conv_has_residual:
            fuse_all_conv_norm_act(self.pre_conv)
            add_identity_to_conv(self.pre_conv.conv)  # x + conv(x) as one conv
            self.pre_conv_has_residual = False

    def forward(self, x):
        """(B, C, H, W) -> (B, C, H, W); H and W are multiples of ratio * window."""
        skip = x
        if self.subsample_ratio > 1:
            x = self.downsample_op(x)
        elif self.pre_conv_has_residual:
            x = x + self.pre_conv(x)
        else:
            x = self.pre_conv(x)
        hw = x.shape[2:]
        windows, pad_hw = window_partition(x.permute(0, 2, 3, 1), self.window_size)
        tokens = windows.flatten(1, 2)
        tokens = tokens + self.drop_path(self.attn(self.norm1(tokens)))
        tokens = tokens + self.drop_path(self.mlp(self.norm2(tokens)))
        # reshape with -1 (not unflatten): traced exports keep the window count symbolic.
        windows = tokens.reshape(-1, self.window_size, self.window_size, tokens.shape[-1])
        x = window_unpartition(windows, self.window_size, hw, pad_hw).permute(0, 3, 1, 2)
        if self.subsample_ratio > 1:
            x = self.upsample_op(x)
        return torch.lerp(skip, x, 0.5)  # 0.5 * x + 0.5 * skip in one pass


class MultiResolutionBlock(nn.Module):
    """One block per subsample ratio, applied in order (official
    ``MultiResolutionAttention``); E-RADIO-L's stride-16 stage uses ratios (2, 1)."""

    def __init__(self, dims, num_heads, window_size, pretrained_window_size, sr_ratios,
                 cpb_mlp_hidden, drop_path=0.0):
        super().__init__()
        self.attention_blocks = nn.ModuleList(
            SubsampledWindowBlock(dims, num_heads, window_size, pretrained_window_size, r,
                                  cpb_mlp_hidden, drop_path) for r in sr_ratios)

    def forward(self, x):
        for block in self.attention_blocks:
            x = block(x)
        return x


class Stage(nn.Module):
    """A resolution level: ``blocks`` then an optional stride-2 ``downsample``.

    ``forward`` returns ``(output, pre_downsample_map)``; the second feeds out_indices and
    the neck.
    """

    def __init__(self, channels, with_downsample):
        super().__init__()
        self.downsample = downsample(channels) if with_downsample else None

    def forward_blocks(self, x, with_cp):
        raise NotImplementedError

    def forward(self, x, with_cp=False):
        pre = self.forward_blocks(x, with_cp)
        return (pre if self.downsample is None else self.downsample(pre)), pre


def run_checkpointed(module, x, with_cp):
    return checkpoint(module, x, use_reentrant=False) if with_cp else module(x)


class ConvStage(Stage):
    """Strides 4 and 8: one C2f block (official ``ERADIOLayer`` with ``yolo_arch=True``)."""

    def __init__(self, channels, depth, with_downsample=True):
        super().__init__(channels, with_downsample)
        self.blocks = C2f(channels, depth)

    def forward_blocks(self, x, with_cp):
        return run_checkpointed(self.blocks, x, with_cp)


class AttentionStage(Stage):
    """Strides 16 and 32: a sequence of multi-resolution windowed-attention blocks.

    A map that the largest window (``window_size * max(sr_ratios)``) does not tile is
    nearest-resized up to the next multiple and back afterwards, as upstream does (l.911-952:
    resizing hurts the trained model less than padding).
    """

    def __init__(self, channels, depth, num_heads, window_size, pretrained_window_size,
                 sr_ratios, cpb_mlp_hidden, drop_path_rates, with_downsample=True):
        super().__init__(channels, with_downsample)
        self.map_multiple = window_size * max(sr_ratios)
        self.blocks = nn.Sequential(*[
            MultiResolutionBlock(channels, num_heads, window_size, pretrained_window_size,
                                 sr_ratios, cpb_mlp_hidden, drop_path_rates[i])
            for i in range(depth)])

    def forward_blocks(self, x, with_cp):
        hw = x.shape[2:]
        m = self.map_multiple
        # Integer arithmetic on sizes, not math.ceil: a trace records it, so an exported
        # graph resizes correctly at every input size (always resizing when tracing;
        # a nearest resize to the same size is exact).
        tiled = tuple((s + m - 1) // m * m for s in hw)
        resize = is_tracing() or tiled != tuple(hw)
        if resize:
            x = F.interpolate(x, size=tiled, mode='nearest')
        for block in self.blocks:
            x = run_checkpointed(block, x, with_cp)
        if resize:
            x = F.interpolate(x, size=hw, mode='nearest')
        return x


class NeckProjection(nn.Module):
    """Nearest upsample by ``scale``, depthwise 3x3 conv, BN, 1x1 conv to the neck width; no
    activation (one entry of the official ``HiResNeck.neck_features_proj``)."""

    def __init__(self, in_channels, out_channels, scale):
        super().__init__()
        self.scale = scale
        self.conv1 = nn.Conv2d(in_channels, in_channels, 3, padding=1, groups=in_channels)
        self.norm = nn.BatchNorm2d(in_channels)
        self.conv2 = nn.Conv2d(in_channels, out_channels, 1)

    def switch_to_deploy(self):
        if isinstance(self.norm, nn.BatchNorm2d):
            self.conv1 = fuse_conv_norm(self.conv1, self.norm)
            self.norm = nn.Identity()

    def forward(self, x):
        if self.scale > 1:
            x = F.interpolate(x, scale_factor=self.scale, mode='nearest')
        return self.conv2(self.norm(self.conv1(x)))


class HiResNeck(nn.Module):
    """Sum of the projected pre-downsample maps of levels ``start_stage``.., each brought to
    the resolution of level ``start_stage`` (official ``HiResNeck``). A level that already
    has the neck width at that resolution passes unchanged (an empty entry upstream)."""

    def __init__(self, level_channels, start_stage, out_channels):
        super().__init__()
        self.start_stage = start_stage
        self.neck_features_proj = nn.ModuleList(
            nn.Identity() if i == 0 and channels == out_channels else
            NeckProjection(channels, out_channels, 2**i)
            for i, channels in enumerate(level_channels[start_stage:]))

    def forward(self, level_maps):
        """Pre-downsample map of every level -> (B, C_neck, H_start, W_start)."""
        maps = level_maps[self.start_stage:]
        fused = self.neck_features_proj[0](maps[0])
        for proj, x in zip(self.neck_features_proj[1:], maps[1:]):
            fused = fused + proj(x)
        return fused
