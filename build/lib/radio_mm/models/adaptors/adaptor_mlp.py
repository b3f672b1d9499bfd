"""The MLP that maps student tokens into one teacher's space (AM-RADIO sec. 3, "adaptor heads").

Layout and names follow the released models' 'v2' MLP (NVlabs/RADIO `radio/adaptor_mlp.py`,
``MLP2``), so released ``_heads.*`` / ``_feature_projections.*`` weights load without renaming:
``pre_norm`` [LayerNorm, GELU] (optional) -> ``fc1`` -> residual ``blocks.i``
[LayerNorm, GELU, Linear] -> ``final`` [LayerNorm, GELU, Linear] -> optional pixel-shuffle
upsampling of spatial tokens.

RADIOv1 released the older 'v1' MLP (``MLP`` in the same file): ``fc1`` -> ``norm``
[LayerNorm] -> ReLU -> ``inner`` [Linear, LayerNorm, ReLU]* -> ``fc2``, kept here as
:class:`AdaptorMLPv1` so that v1 heads load unchanged too.
"""
import re

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
        """Infer the sizes of a released 'v2' head from its weights (no config needed)."""
        hidden_dims, in_dims = state_dict['fc1.weight'].shape
        num_inner = 0
        while f'blocks.{num_inner}.0.weight' in state_dict:
            num_inner += 1
        out_dims = state_dict['final.2.weight'].shape[0] // upsample_factor**2
        return cls(in_dims, hidden_dims, out_dims, num_inner=num_inner,
                   pre_norm='pre_norm.0.weight' in state_dict, upsample_factor=upsample_factor)


@MODELS.register_module()
class AdaptorMLPv1(nn.Module):
    """RADIOv1's token-wise MLP head (no residuals, ReLU, no upsampling).

    Args:
        in_dims, hidden_dims, out_dims (int): student, hidden and teacher widths.
        num_inner (int): extra [Linear, LayerNorm, ReLU] layers.
        upsample_factor (int): must be 1; v1 heads have none (the official v1 ``MLP``
            ignores ``fd_upsample_factor``).
    """

    def __init__(self, in_dims, hidden_dims, out_dims, num_inner=0, pre_norm=False,
                 upsample_factor=1):
        super().__init__()
        if pre_norm:
            raise ValueError("the 'v1' adaptor MLP has no pre_norm")
        self.upsample_factor = 1
        self.out_dims = out_dims
        self.fc1 = nn.Linear(in_dims, hidden_dims)
        self.norm = nn.LayerNorm(hidden_dims)
        self.relu = nn.ReLU()
        layers = []
        for _ in range(num_inner):
            layers += [nn.Linear(hidden_dims, hidden_dims), nn.LayerNorm(hidden_dims), nn.ReLU()]
        self.inner = nn.Sequential(*layers)
        self.fc2 = nn.Linear(hidden_dims, out_dims)

    def forward(self, x, hw=None):
        """(B, N, in_dims) -> (B, N, out_dims)."""
        return self.fc2(self.inner(self.relu(self.norm(self.fc1(x)))))

    @classmethod
    def from_state_dict(cls, state_dict, upsample_factor=1):
        hidden_dims, in_dims = state_dict['fc1.weight'].shape
        # `inner` is flat: [Linear, LayerNorm, ReLU] per layer, two weights each.
        num_inner = sum(1 for k in state_dict if re.fullmatch(r'inner\.\d+\.weight', k)) // 2
        return cls(in_dims, hidden_dims, state_dict['fc2.weight'].shape[0], num_inner=num_inner)


MLP_VERSIONS = {'v1': AdaptorMLPv1, 'v2': AdaptorMLP}
