import pytest
import torch
from mmengine.runner.checkpoint import load_state_dict
from tiny_models import tiny_vit

from radio_mm.models.classifiers import RADIOFeatureExtractor

BACKBONE = tiny_vit(num_layers=1, cpe_max_size=64, num_summary_tokens=3)


def test_features_are_unit_summaries_of_the_chosen_tokens():
    model = RADIOFeatureExtractor(BACKBONE, summary_idxs=[0, 2]).eval()
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        samples = model.predict(images)
        summary = model.backbone.forward_radio(images).summary
    expected = torch.nn.functional.normalize(summary[:, [0, 2]].flatten(1), dim=1)
    for sample, feature in zip(samples, expected):
        assert sample.feature.shape == (2 * 32, )
        assert torch.allclose(sample.feature, feature, atol=1e-6)


def _student_state(model):
    return {k: v.clone() + 1 for k, v in model.state_dict().items()}


def test_loads_converted_and_distillation_checkpoints():
    model = RADIOFeatureExtractor(BACKBONE)
    state = _student_state(model)
    converted = dict(state, **{'input_conditioner.norm_mean': torch.zeros(3, 1, 1),
                               'adaptors.clip.summary_mlp.fc1.weight': torch.zeros(4, 32)})
    load_state_dict(model, converted, strict=True)  # extras of a RADIOModel file dropped
    assert torch.equal(model.backbone.blocks[0].attn.qkv.weight,
                       state['backbone.blocks.0.attn.qkv.weight'])

    other = RADIOFeatureExtractor(BACKBONE)
    distilled = {f'student.{k}': v for k, v in state.items()}
    distilled['teachers.clip.model.weight'] = torch.zeros(2)
    load_state_dict(other, distilled, strict=True)
    assert torch.equal(other.backbone.blocks[0].attn.qkv.weight,
                       state['backbone.blocks.0.attn.qkv.weight'])


def test_checkpoints_that_do_not_fit_are_refused():
    model = RADIOFeatureExtractor(BACKBONE)
    state = model.state_dict()
    with pytest.raises(ValueError, match='radio2mm'):
        load_state_dict(model, {'base_model.blocks.0.attn.qkv.weight': torch.zeros(1)})
    with pytest.raises(KeyError, match='head.fc.weight'):  # not a RADIO student's key
        load_state_dict(model, {'head.fc.weight': torch.zeros(1)})
    with pytest.raises(RuntimeError, match='holds no weights'):
        load_state_dict(model, {'adaptors.clip.summary_mlp.fc1.weight': torch.zeros(1)})
    partial = {k: v for k, v in state.items() if 'blocks.0.mlp' not in k}
    with pytest.raises(RuntimeError, match='missing'):
        load_state_dict(model, partial)
    wrong = dict(state, **{'backbone.patch_generator.pos_embed': torch.zeros(1, 4, 32)})
    with pytest.raises(RuntimeError, match='pos_embed'):
        load_state_dict(model, wrong)
