"""The releases' teacher base configs: every teacher is fetchable and builds, shrunk by the
all-configs smoke test's own rules (so recipes that use them can run there)."""
import os.path as osp
import sys
import warnings

import pytest
import torch
from mmengine.config import Config

from radio_mm.models.teachers.teacher_weight_files import fetch_command
from radio_mm.registry import MODELS

sys.path.insert(0, osp.dirname(__file__))
from shrink_rules import shrink_teacher  # noqa: E402

BASE = osp.join(osp.dirname(__file__), '..', '..', 'configs', '_base_', 'models')
RELEASES = {
    'radio_v2.5_teachers.py': ['clip', 'siglip', 'dino_v2', 'sam'],
    'c-radio_v3_teachers.py': ['clip', 'siglip2-g', 'dino_v2', 'sam'],
    'c-radio_v4_teachers.py': ['siglip2-g', 'dino_v3', 'sam2'],
}


@pytest.mark.parametrize('filename', list(RELEASES))
def test_release_teachers_are_fetchable_and_build_shrunk(filename, tmp_path):
    teachers = Config.fromfile(osp.join(BASE, filename)).teachers
    assert [t['name'] for t in teachers] == RELEASES[filename]
    images = torch.rand(1, 3, 48, 64)
    for cfg in teachers:
        assert fetch_command(cfg['pretrained']) is not None, cfg['name']
        tiny = shrink_teacher(cfg.to_dict(), str(tmp_path))
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', UserWarning)
            teacher = MODELS.build(dict(tiny, dtype=None))
        out = teacher(images)
        assert out.features.shape[1:] == (teacher.feature_dim, *teacher.feature_hw)
        assert (out.summary is None) == (teacher.summary_dim is None)


def test_a_radio_release_teacher_shrinks_to_a_tiny_model_with_its_adaptors(tmp_path):
    cfg = dict(type='RADIOTeacher', name='c-radio_v4', pretrained='c-radio_v4-h_half.pth.tar',
               summary_from='siglip2-g', features_from='backbone', input_size=512)
    tiny = shrink_teacher(cfg, str(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)
        teacher = MODELS.build(tiny)
    assert teacher.input_size == (64, 64) and teacher.summary_dim == 32
