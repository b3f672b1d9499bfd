"""BNLinearHead: the linear probe that AM-RADIO and DINOv2 report ADE20K/VOC mIoU with.

A frozen backbone's patch features go through one BatchNorm and a 1x1 conv (no hidden
layer, no context module), so the score measures the features rather than the decoder.
AM-RADIO (Ranzinger et al., CVPR 2024) follows the "linear" segmentation protocol of DINOv2
(Oquab et al., 2023): NVlabs/RADIO `mmseg/linear_head.py` is DINOv2's `BNHead`
(`dinov2/eval/segmentation/models/decode_heads/linear_head.py`). The module names ``bn``
and ``conv_seg`` are theirs, so a head trained with either codebase loads unchanged under
``decode_head.``.
"""
from mmcv.cnn import build_norm_layer
from mmseg.models.decode_heads.decode_head import BaseDecodeHead

from radio_mm.registry import MODELS


@MODELS.register_module()
class BNLinearHead(BaseDecodeHead):
    """BatchNorm + 1x1 conv on one feature map, or on several maps resized and concatenated.

    With ``input_transform='resize_concat'`` the maps picked by ``in_index`` are bilinearly
    resized to the first one's size and concatenated along channels (DINOv2's multi-layer
    linear probe, e.g. the last four ViT blocks).

    Args:
        in_channels (int | Sequence[int]): channels of the selected map(s).
        channels (int, optional): must equal the (summed) input channels; it is derived
            from ``in_channels`` when omitted, since a linear probe has no hidden width.
        dropout_ratio (float): dropout before ``conv_seg``; 0 for a plain linear probe.
        norm_cfg (dict): the normalization before ``conv_seg``. Use SyncBN in configs (the
            Runner turns it into BN when training is not distributed).
        **kwargs: num_classes, in_index, input_transform, loss_decode, align_corners, ...
            (see mmseg's ``BaseDecodeHead``).

    Shapes:
        forward(inputs): inputs[i] (B, C_i, H_i, W_i) -> logits (B, num_classes, H_0, W_0).
    """

    def __init__(self, in_channels, channels=None, dropout_ratio=0.0,
                 norm_cfg=dict(type='BN', requires_grad=True), **kwargs):
        total = sum(in_channels) if isinstance(in_channels, (list, tuple)) else in_channels
        channels = total if channels is None else channels
        super().__init__(in_channels, channels, dropout_ratio=dropout_ratio,
                         norm_cfg=norm_cfg, **kwargs)
        if self.input_transform == 'multiple_select':
            raise ValueError("BNLinearHead classifies one map; use input_transform="
                             "'resize_concat' (or None) instead of 'multiple_select'")
        if self.in_channels != self.channels:
            raise ValueError(
                f'BNLinearHead has no hidden layer, so channels ({self.channels}) must equal '
                f'the input channels ({self.in_channels}); drop `channels` from the config '
                'or set it to the sum of in_channels')
        _, self.bn = build_norm_layer(norm_cfg, self.in_channels)

    def forward(self, inputs):
        """inputs: tuple of (B, C_i, H_i, W_i) maps -> (B, num_classes, H_0, W_0) logits."""
        return self.cls_seg(self.bn(self._transform_inputs(inputs)))
