"""SimpleFPN: ViTDet's feature pyramid built from one stride-16 ViT map.

Li et al., "Exploring Plain Vision Transformer Backbones for Object Detection" (ECCV 2022),
sec. 3 "simple feature pyramid": a plain ViT has one scale, so the pyramid is made by
upsampling (deconvolutions) and downsampling (pooling) that single map, without the
top-down path of an FPN. Constructor and behaviour follow mmdet's
`projects/ViTDet/vitdet/simple_fpn.py`, which the mmdet wheel does not ship.
"""
from typing import List

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule, build_norm_layer
from mmengine.model import BaseModule
from torch import nn

from radio_mm.registry import MODELS


@MODELS.register_module()
class SimpleFPN(BaseModule):
    """Strides 4, 8, 16, 32 from one stride-16 map, then extra stride-2 levels.

    Args:
        backbone_channel (int): channels C of the backbone map.
        in_channels (list[int]): channels of the four scale branches, C/4, C/2, C, C.
        out_channels (int): channels of every output level.
        num_outs (int): output levels; those beyond ``len(in_channels)`` subsample the last.
        conv_cfg (dict): conv layer config of the lateral and output convs.
        norm_cfg (dict): norm layer config, e.g. ``dict(type='radio_mm.LN2d',
            requires_grad=True)`` (plain ``'LN2d'`` under the radio_mm scope); required, as
            it also normalizes inside the stride-4 branch.
        act_cfg (dict): activation after the lateral and output convs (None: none).
        init_cfg (dict): mmengine init config.
    """

    def __init__(self, backbone_channel: int, in_channels: List[int], out_channels: int,
                 num_outs: int, conv_cfg=None, norm_cfg=None, act_cfg=None, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if not isinstance(in_channels, (list, tuple)):
            raise TypeError(f'in_channels must be a list of per-level channels, e.g. '
                            f'[{backbone_channel // 4}, {backbone_channel // 2}, '
                            f'{backbone_channel}, {backbone_channel}], got {in_channels!r}')
        if norm_cfg is None:
            raise ValueError("SimpleFPN needs norm_cfg (e.g. dict(type='radio_mm.LN2d', "
                             "requires_grad=True)) for its stride-4 branch")
        self.backbone_channel = backbone_channel
        self.in_channels = list(in_channels)
        self.out_channels = out_channels
        self.num_ins = len(in_channels)
        self.num_outs = num_outs
        if self.num_ins > 4 or num_outs < self.num_ins:
            raise ValueError(f'SimpleFPN makes at most 4 scales and needs num_outs >= '
                             f'len(in_channels); got {self.num_ins} and {num_outs}')

        c = backbone_channel
        self.fpn1 = nn.Sequential(
            nn.ConvTranspose2d(c, c // 2, 2, stride=2),
            build_norm_layer(norm_cfg, c // 2)[1],
            nn.GELU(),
            nn.ConvTranspose2d(c // 2, c // 4, 2, stride=2))
        self.fpn2 = nn.Sequential(nn.ConvTranspose2d(c, c // 2, 2, stride=2))
        self.fpn3 = nn.Sequential(nn.Identity())
        self.fpn4 = nn.Sequential(nn.MaxPool2d(kernel_size=2, stride=2))

        conv_kwargs = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg, inplace=False)
        self.lateral_convs = nn.ModuleList(
            ConvModule(in_channels[i], out_channels, 1, **conv_kwargs)
            for i in range(self.num_ins))
        self.fpn_convs = nn.ModuleList(
            ConvModule(out_channels, out_channels, 3, padding=1, **conv_kwargs)
            for _ in range(self.num_ins))

    def forward(self, inputs):
        """(B, C, H, W) stride-16 map, or a backbone tuple whose last map is it ->
        ``num_outs`` maps (B, out_channels, 4H/2**i, 4W/2**i), strides 4, 8, 16, 32, 64..."""
        x = inputs[-1] if isinstance(inputs, (list, tuple)) else inputs
        if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[1] != self.backbone_channel:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f'SimpleFPN expects a (B, {self.backbone_channel}, H, W) map '
                             f'(backbone_channel), got {shape}')
        branches = (self.fpn1, self.fpn2, self.fpn3, self.fpn4)[:self.num_ins]
        outs = [fpn_conv(lateral(branch(x))) for branch, lateral, fpn_conv in
                zip(branches, self.lateral_convs, self.fpn_convs)]
        while len(outs) < self.num_outs:
            # Extra levels (P6, ...) subsample the coarsest level, as the project does.
            outs.append(F.max_pool2d(outs[-1], kernel_size=1, stride=2))
        return tuple(outs)
