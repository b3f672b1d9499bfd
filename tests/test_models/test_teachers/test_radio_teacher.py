"""RADIOTeacher: a RADIO release (here the tiny official-layout file) as a teacher."""
import os.path as osp
import warnings

import pytest
import torch
from tiny_models import tiny_eradio, tiny_radio_model

from radio_mm.apis.model_loading import radio_model
from radio_mm.models.teachers import RADIOTeacher
from radio_mm.registry import MODELS

# the tiny official-layout release: adaptors clip, dino_v2, sam (2x upsampling head)
RELEASE = osp.join(osp.dirname(__file__), '..', '..', 'data', 'radio_official_tiny.pth.tar')


def test_release_adaptor_outputs_are_the_targets(photos):
    teacher = MODELS.build(dict(type='RADIOTeacher', pretrained=RELEASE, summary_from='clip',
                                features_from='sam', input_size=64))
    model = radio_model(RELEASE, adaptor_names=['clip', 'sam'], dtype=torch.float32)
    x = torch.nn.functional.interpolate(photos, size=(64, 64), mode='bicubic',
                                        antialias=True).clamp(0, 1)
    with torch.no_grad():
        expected = model(teacher.preprocess(photos), feature_fmt='NCHW')
    out = teacher(photos)
    assert torch.equal(teacher.preprocess(photos), x)  # [0, 1]: the model normalizes itself
    assert torch.allclose(out.summary, expected['clip'].summary)
    assert torch.allclose(out.features, expected['sam'].features)
    # the sam head upsamples 2x: 8 px cells
    assert teacher.patch_size == 8 and out.features.shape[-2:] == teacher.feature_hw == (8, 8)
    assert (teacher.summary_dim, teacher.feature_dim) == (out.summary.shape[1],
                                                          out.features.shape[1])


def test_backbone_outputs_and_no_summary(photos):
    teacher = RADIOTeacher(pretrained=RELEASE, summary_from=None, input_size=(64, 96))
    out = teacher(photos)
    assert out.summary is None and teacher.summary_dim is None
    assert out.features.shape == (2, teacher.feature_dim, 4, 6)
    assert not any(p.requires_grad for p in teacher.parameters())


def test_unknown_output_and_ambiguous_sources_are_refused():
    with pytest.raises(ValueError, match=r"unknown adaptor 'sam3'.*'clip', 'dino_v2', 'sam'"):
        RADIOTeacher(pretrained=RELEASE, features_from='sam3', summary_from='clip')
    with pytest.raises(ValueError, match='either pretrained'):
        RADIOTeacher()
    with pytest.raises(ValueError, match='either pretrained'):
        RADIOTeacher(pretrained=RELEASE, model=tiny_radio_model())


def test_random_eradio_teacher_for_toy_runs(photos):
    with pytest.warns(UserWarning, match='random weights'):
        teacher = RADIOTeacher(model=tiny_radio_model(tiny_eradio()), input_size=64)
    out = teacher(photos)
    assert out.features.shape == (2, teacher.feature_dim, 4, 4)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)
        again = RADIOTeacher(model=tiny_radio_model(tiny_eradio()), input_size=64)
    assert torch.equal(again(photos).features, out.features)  # seeded by name
