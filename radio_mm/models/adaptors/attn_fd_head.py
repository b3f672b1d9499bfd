"""The attention feature head of C-RADIOv4 ('attn' feature heads).

NVlabs/RADIO `radio/adaptor_attn.py` (commit c0f3701), ``AttnFDHead``: two timm ``Block``s
(16 heads, LayerScale initialised at 1e-5, timm's defaults otherwise: no qkv bias, MLP ratio 4,
LayerNorm eps 1e-5) over the spatial tokens alone, then the 'v2' MLP
(:class:`~radio_mm.models.adaptors.AdaptorMLP`, keys ``mlp.*``) with no inner blocks, whose
optional pixel-shuffle gives ``fd_upsample_factor`` denser features. A release selects it with
``spatial_mlp_version='attn'`` in its teacher config or its ``args``
(`radio/adaptor_generic.py` ``GenericAdaptor``); summary heads are never attention heads
(`radio/adaptor_module_factory.py` ``MLP_SUMMARY_FACTORY``).
"""
import re

from timm.models.vision_transformer import Block
from torch import nn

from radio_mm.registry import MODELS

from .adaptor_mlp import AdaptorMLP

# `radio/adaptor_attn.py` hard-codes both.
ATTN_HEAD_BLOCKS = 2
ATTN_HEAD_NUM_HEADS = 16


@MODELS.register_module()
class AttnFDHead(nn.Module):
    """Attention feature head: ``num_blocks`` ViT blocks, then a 'v2' MLP.

    Args:
        in_dims (int): student width (the blocks' width).
        hidden_dims (int): hidden width of the MLP.
        out_dims (int): teacher width.
        num_inner (int): must be 0; the official head always builds its MLP without inner
            blocks.
        pre_norm (bool): must be False, as in every official head built from a state.
        upsample_factor (int): see :class:`AdaptorMLP`.
        num_blocks (int): attention blocks (2 in the releases).
        num_heads (int): heads of each block (16 in the releases); ``in_dims`` must be a
            multiple.
    """

    def __init__(self, in_dims, hidden_dims, out_dims, num_inner=0, pre_norm=False,
                 upsample_factor=1, num_blocks=ATTN_HEAD_BLOCKS, num_heads=ATTN_HEAD_NUM_HEADS):
        super().__init__()
        if num_inner or pre_norm:
            raise ValueError('the attention feature head (AttnFDHead) has no inner MLP blocks '
                             f'and no pre_norm; got num_inner={num_inner}, pre_norm={pre_norm}')
        if in_dims % num_heads:
            raise ValueError(f'AttnFDHead: width {in_dims} is not a multiple of '
                             f'num_heads={num_heads}')
        self.blocks = nn.Sequential(*[Block(in_dims, num_heads=num_heads, init_values=1e-5)
                                      for _ in range(num_blocks)])
        self.mlp = AdaptorMLP(in_dims, hidden_dims, out_dims, upsample_factor=upsample_factor)

    @property
    def upsample_factor(self):
        return self.mlp.upsample_factor

    @property
    def out_dims(self):
        return self.mlp.out_dims

    @property
    def fc1(self):
        """The MLP's first Linear (its in/out features give the head's sizes)."""
        return self.mlp.fc1

    def forward(self, x, hw=None):
        """(B, h*w, in_dims) spatial tokens -> (B, h*w * u**2, out_dims)."""
        return self.mlp(self.blocks(x), hw)

    @classmethod
    def from_state_dict(cls, state_dict, upsample_factor=1):
        """Sizes of a released 'attn' head from its weights."""
        mlp = AdaptorMLP.from_state_dict(_strip(state_dict, 'mlp.'), upsample_factor)
        num_blocks = 1 + max(int(m[1]) for m in map(re.compile(r'blocks\.(\d+)\.').match,
                                                     state_dict) if m)
        return cls(mlp.fc1.in_features, mlp.fc1.out_features, mlp.out_dims,
                   upsample_factor=upsample_factor, num_blocks=num_blocks)


def _strip(state_dict, prefix):
    return {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}
