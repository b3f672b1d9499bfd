"""PHI-S at inference: an adaptor trained on standardized targets answers in teacher space.

The distiller trains the ``sam`` head against PHI-S standardized SAM features; SAM's mask
decoder reads SAM's own features. So the student keeps the standardizer and inverts it.
"""
import copy
import warnings
from types import SimpleNamespace

import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub
from tiny_models import tiny_radio_model, tiny_vit

from radio_mm.apis import radio_model
from radio_mm.engine.hooks.radio_model_meta_hook import RADIOModelMetaHook
from radio_mm.models.distillers import RADIODistiller
from radio_mm.models.losses import PHISStandardizer, estimate_phi_s

SAM = dict(type='SAMTeacher', name='sam', img_size=64,
           arch=dict(embed_dim=32, depth=1, num_heads=2, global_attn_indexes=(0, ),
                     window_size=2))
STUDENT = tiny_radio_model(tiny_vit(num_layers=1, cpe_max_size=64, num_summary_tokens=1,
                                     register_multiple=4))


def test_unstandardize_inverts_the_standardizer():
    torch.manual_seed(0)
    features = torch.randn(2, 12, 4, 4) * 3 + 1
    mean, transform = estimate_phi_s(features.permute(0, 2, 3, 1).reshape(-1, 12))
    standardizer = PHISStandardizer(12, from_checkpoint=True)
    standardizer.mean.copy_(mean)
    standardizer.transform.copy_(transform)
    tokens = standardizer(features).flatten(2).transpose(1, 2)  # (B, h*w, C)
    back = standardizer.unstandardize(tokens).transpose(1, 2).unflatten(2, (4, 4))
    assert torch.allclose(back, features, atol=1e-4)


def test_phi_s_sam_head_of_a_run_gives_sam_features(tmp_path):
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)  # random-weight teacher
        distiller = RADIODistiller(
            student=copy.deepcopy(STUDENT), teachers=[copy.deepcopy(SAM)],
            adaptor_cfg=dict(hidden_dims=32), resolutions=[(64, 64)],
            phi_s=dict(sam=dict(momentum=1.0)),
            teacher_losses=dict(sam=dict(feature_loss=dict(type='MSEFeatureLoss'))))
    images = torch.rand(2, 3, 64, 64)
    MessageHub.get_current_instance().update_info('iter', 0)
    distiller.train().loss(images)  # one step estimates the statistics
    checkpoint = dict(meta={}, state_dict=distiller.state_dict())
    RADIOModelMetaHook().before_save_checkpoint(SimpleNamespace(model=distiller), checkpoint)
    path = str(tmp_path / 'iter_1.pth')
    torch.save(checkpoint, path)
    assert checkpoint['meta']['radio_model']['adaptors']['sam']['phi_s'] == dict(
        from_checkpoint=True)  # no stats file needed where the student goes

    model = radio_model(path, adaptor_names=['sam'])
    standardizer = model.adaptors['sam'].phi_s
    assert torch.equal(standardizer.transform, distiller.phi_s['sam'].transform)
    # A head that learned its targets exactly: it emits the standardized SAM features.
    with torch.no_grad():
        sam_features = distiller.teachers['sam'](images).features  # (B, C, h, w)
        target = distiller.phi_s['sam'].eval()(sam_features)
    grid = sam_features.shape[-2:]
    model.adaptors['sam'].feature_mlp.forward = lambda tokens, hw: F.interpolate(
        target, size=hw).flatten(2).transpose(1, 2)
    with torch.no_grad():
        out = model(images, feature_fmt='NCHW')['sam'].features
    out = F.interpolate(out, size=grid)
    # Round trip: what SAM's decoder receives is SAM's own features.
    assert torch.allclose(out, sam_features, atol=1e-4 * sam_features.abs().max())
    assert not torch.allclose(target, sam_features, atol=1e-2)
