"""C-RADIOv4's attention feature head (NVlabs/RADIO `radio/adaptor_attn.py`, AttnFDHead)."""

import pytest
import torch
from release_checkpoints import _mlp_state, reference_mlp

from radio_mm.models.adaptors import AttnFDHead, TeacherAdaptor, adaptor_mlp_from_state_dict


def test_attn_head_loads_release_weights_and_equals_reference():
    state = _mlp_state('attn', 32, 40, 24 * 4, torch.Generator().manual_seed(0))
    head = adaptor_mlp_from_state_dict(state, upsample_factor=2)
    assert isinstance(head, AttnFDHead)
    assert (head.fc1.in_features, head.fc1.out_features, head.out_dims) == (32, 40, 24)
    head.load_state_dict(state, strict=True)
    x = torch.randn(2, 9, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ours = head(x, hw=(3, 3))
        reference = reference_mlp(state, x)  # (2, 9, 4 * 24) before the pixel shuffle
    shuffled = reference.view(2, 3, 3, 2, 2, 24).permute(0, 1, 3, 2, 4, 5).reshape(2, 36, 24)
    assert ((ours - shuffled).abs().max() / shuffled.abs().max()).item() <= 1e-5


def test_attn_head_refuses_options_it_does_not_have():
    with pytest.raises(ValueError, match='num_inner'):
        AttnFDHead(32, 40, 24, num_inner=1)
    with pytest.raises(ValueError, match='multiple of num_heads'):
        AttnFDHead(40, 40, 24)
    with pytest.raises(ValueError, match='feature_mlp_version'):
        TeacherAdaptor(32, 24, feature_mlp_version='attention')
