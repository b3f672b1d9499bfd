"""LN2d: LayerNorm over the channels of (B, C, H, W) maps, as ViTDet's necks and heads use.

mmdet's ViTDet project (`projects/ViTDet/vitdet/vit.py`) registers ``LN2d`` in mmdet's scope,
but the mmdet wheel does not ship ``projects/``. This one is in radio_mm's registry, so
``norm_cfg=dict(type='radio_mm.LN2d')`` resolves under any scope (mmdet, mmseg, mmpretrain)
through mmcv's ``build_norm_layer``; a plain ``'LN2d'`` is mmpretrain's own in the mmpretrain
scope (both compute the same function) and this one in the radio_mm scope.
"""
from timm.layers import LayerNorm2d

from radio_mm.registry import MODELS


@MODELS.register_module()
class LN2d(LayerNorm2d):
    """Channels-first LayerNorm: each pixel's C values normalized, then scaled per channel.

    Args:
        normalized_shape (int): number of channels C.
        eps (float): added to the variance. 1e-6 as in the ViTDet project; note that
            ``build_norm_layer`` sets 1e-5 unless the ``norm_cfg`` gives ``eps``.
    """

    # The project's LN2d is no nn.LayerNorm, so mmcv names it 'norm_layer' inside
    # ConvModule; keeping that name keeps checkpoints of the project's heads loadable.
    _abbr_ = 'norm_layer'

    def __init__(self, normalized_shape, eps=1e-6):
        super().__init__(normalized_shape, eps=eps)
