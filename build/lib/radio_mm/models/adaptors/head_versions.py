"""Which head class builds a released adaptor head, read from the head's weights.

The official adaptors (NVlabs/RADIO `radio/adaptor_mlp.py`, `radio/adaptor_attn.py`) come in
three layouts: the 'v1' and 'v2' MLPs and C-RADIOv4's 'attn' feature head.
"""
from .adaptor_mlp import MLP_VERSIONS
from .attn_fd_head import AttnFDHead

# Feature heads by `spatial_mlp_version` (`radio/adaptor_module_factory.py` MLP_FD_FACTORY).
FEATURE_HEAD_VERSIONS = dict(MLP_VERSIONS, attn=AttnFDHead)


def mlp_version_of(state_dict):
    """'v1', 'v2' or 'attn' (:class:`~radio_mm.models.adaptors.AttnFDHead`) from a released
    head's keys; an error for any other layout."""
    if 'mlp.fc1.weight' in state_dict and 'blocks.0.attn.qkv.weight' in state_dict:
        return 'attn'
    if 'fc1.weight' in state_dict and 'final.2.weight' in state_dict:
        return 'v2'
    if 'fc1.weight' in state_dict and 'fc2.weight' in state_dict:
        return 'v1'
    raise KeyError(
        "adaptor weights are in neither the 'v2' MLP layout (fc1, blocks.i, final.2) nor the "
        f"'v1' one (fc1, norm, inner, fc2) nor the 'attn' one (blocks.i, mlp.*); got keys "
        f"{sorted(state_dict)[:6]}...")


def adaptor_mlp_from_state_dict(state_dict, upsample_factor=1):
    """A released head (any version of :func:`mlp_version_of`) sized from its weights."""
    return FEATURE_HEAD_VERSIONS[mlp_version_of(state_dict)].from_state_dict(
        state_dict, upsample_factor)
