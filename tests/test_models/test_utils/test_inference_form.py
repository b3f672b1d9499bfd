"""The inference form's helpers (switch_to_deploy's rewrites and deployed_copy)."""
import torch
from tiny_models import tiny_radio_model, tiny_vit

from radio_mm.models.utils.inference_form import deployed_copy
from radio_mm.registry import MODELS


def test_deployed_copy_leaves_the_callers_model_as_it_is():
    model = MODELS.build(tiny_vit()).switch_to_deploy().double()
    copy = deployed_copy(model)
    assert copy is not model and next(copy.parameters()).dtype == torch.float32
    assert next(model.parameters()).dtype == torch.float64  # not converted in place
    ready = MODELS.build(tiny_vit()).switch_to_deploy()
    assert deployed_copy(ready) is ready  # nothing to change: no copy
    model = MODELS.build(tiny_radio_model())
    copy = deployed_copy(model)
    assert copy.deployed and not model.deployed and copy.backbone is not model.backbone
