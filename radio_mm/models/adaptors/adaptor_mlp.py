"""The MLP that maps student tokens into one teacher's space (AM-RADIO sec. 3, "adaptor heads").

Layout and names follow the released models' 'v2' MLP (NVlabs/RADIO `radio/adaptor_mlp.py`,
``MLP2``), so released ``_heads.*`` / ``_feature_projections.*`` weights load without renaming:
``pre_norm`` [LayerNorm, GELU] (optional) -> ``fc1`` -> residual ``blocks.i``
[LayerNorm, GELU, Linear] -> ``final`` [LayerNorm, GELU, Linear] -> optional pixel-shuffle
upsampling of spatial tokens.
"""
from einops import rearrange
from torch import nn

from radio_mm.registry import MODELS


def _norm_act_linear(in_dims, out_dims):
    return nn.Sequential(nn.LayerNorm(in_dims), nn.GELU(), nn.Linear(in_dims, out_dims))


@MODELS.register_module()
class AdaptorMLP(nn.Module):
    """Token-wise MLP head.

    Args:
        in_dims (int): student width.
        hidden_dims (int): hidden width.
        out_dims (int): teacher width.
        num_inner (int): residual hidden blocks.
        pre_norm (bool): LayerNorm + GELU on the input.
        upsample_factor (int): spatial tokens come out ``upsample_factor`` times denser per
            side; ``final`` then emits ``out_dims * upsample_factor**2`` channels.
    """

    def __init__(self, in_dims, hidden_dims, out_dims, num_inner=0, pre_norm=False,
                 upsample_factor=1):
        super().__init__()
        self.upsample_factor = upsample_factor
        self.out_dims = out_dims
        self.pre_norm = nn.Sequential(nn.LayerNorm(in_dims), nn.GELU()) if pre_norm \
            else nn.Identity()
        self.fc1 = nn.Linear(in_dims, hidden_dims)
        self.blocks = nn.ModuleList(
            _norm_act_linear(hidden_dims, hidden_dims) for _ in range(num_inner))
        self.final = _norm_act_linear(hidden_dims, out_dims * upsample_factor**2)

    def forward(self, x, hw=None):
        """(B, N, in_dims) -> (B, N * u**2, out_dims); ``hw`` = token grid when u > 1."""
        x = self.fc1(self.pre_norm(x))
        for block in self.blocks:
            x = x + block(x)
        x = self.final(x)
        u = self.upsample_factor
        if u > 1:
            if hw is None:
                raise ValueError('AdaptorMLP with upsample_factor > 1 needs the token grid hw')
            # Channel order (u1, u2, c), u1 outermost, as the released heads were trained.
            x = rearrange(x, 'b (h w) (u1 u2 c) -> b (h u1 w u2) c', h=hw[0], w=hw[1], u1=u,
                          u2=u)
        return x

    @classmethod
    def from_state_dict(cls, state_dict, upsample_factor=1):
        """Infer the sizes of a released head from its weights (no config needed)."""
        if 'fc1.weight' not in state_dict or 'final.2.weight' not in state_dict:
            raise KeyError(
                "adaptor weights are not in the 'v2' MLP layout (fc1, blocks.i, final.2); got "
                f'keys {sorted(state_dict)[:6]}... Only v2 adaptor heads are supported.')
        hidden_dims, in_dims = state_dict['fc1.weight'].shape
        num_inner = 0
        while f'blocks.{num_inner}.0.weight' in state_dict:
            num_inner += 1
        out_dims = state_dict['final.2.weight'].shape[0] // upsample_factor**2
        return cls(in_dims, hidden_dims, out_dims, num_inner=num_inner,
                   pre_norm='pre_norm.0.weight' in state_dict, upsample_factor=upsample_factor)
