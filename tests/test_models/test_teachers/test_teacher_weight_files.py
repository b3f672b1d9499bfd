"""Missing teacher checkpoints: every file named in one message, before any teacher is built."""
import os
import os.path as osp
from unittest import mock

import pytest
from mmengine.config import Config
from tiny_models import tiny_radio_model, tiny_vit

from radio_mm.models.distillers import RADIODistiller
from radio_mm.models.teachers import BaseTeacher
from radio_mm.models.teachers.paper_teachers import (
    AM_RADIO_TEACHERS,
    DEFAULT_CHECKPOINT_DIR,
    am_radio_teacher_cfgs,
)
from radio_mm.models.teachers.teacher_weight_files import check_teacher_weights, fetch_command

STUDENT = tiny_radio_model(tiny_vit(num_layers=1, num_summary_tokens=2))


def test_fetch_command_for_paper_teacher_files_in_any_folder():
    path = osp.join('somewhere', 'teachers', AM_RADIO_TEACHERS['sam'].weights.filename)
    assert fetch_command(path) == ('python tools/fetch_teachers.py --out-dir somewhere/teachers '
                                   '--teachers sam')
    assert fetch_command('my_clip.bin') is None


def test_distiller_lists_every_missing_file_before_building_a_teacher(tmp_path, repo_root):
    teachers = Config.fromfile(
        osp.join(repo_root, 'configs/_base_/models/radio_distill_teachers.py')).teachers
    root = str(tmp_path / 'teachers')
    cfgs = [dict(cfg, pretrained=cfg['pretrained'].replace(DEFAULT_CHECKPOINT_DIR, root))
            for cfg in teachers]
    # one of the three is present: only the other two are reported
    present = cfgs[1]['pretrained']
    os.makedirs(osp.dirname(present), exist_ok=True)
    open(present, 'wb').close()
    with mock.patch.object(BaseTeacher, '__init__', side_effect=AssertionError('built')), \
            pytest.raises(FileNotFoundError) as err:
        RADIODistiller(student=STUDENT, teachers=cfgs)
    message = str(err.value)
    assert 'Traceback' not in message and '2 checkpoints are missing' in message
    for name in ('clip', 'sam'):
        assert cfgs[list(AM_RADIO_TEACHERS).index(name)]['pretrained'] in message
        assert f'python tools/fetch_teachers.py --out-dir {root} --teachers {name}' in message
    assert present not in message


def test_other_files_get_the_teachers_hint(tmp_path):
    with pytest.raises(FileNotFoundError, match="OpenCLIPTeacher 'clip'.*own.bin"):
        check_teacher_weights([dict(type='OpenCLIPTeacher', name='clip',
                                    pretrained=str(tmp_path / 'own.bin'))])
    check_teacher_weights([dict(type='SAMTeacher', name='sam')])  # random weights: no file


def test_zero_shot_text_tower_reads_the_file_fetch_teachers_writes(repo_root):
    """The DFN CLIP checkpoint holds both towers: the zero-shot configs must look for it where
    ``fetch_teachers.py --teachers clip`` puts it (issue 11, item 12)."""
    fetched = am_radio_teacher_cfgs(names=['clip'])[0]['pretrained']
    folder = osp.join(repo_root, 'configs', 'classification')
    configs = sorted(f for f in os.listdir(folder) if 'zero-shot' in f)
    assert configs
    for name in configs:
        cfg = Config.fromfile(osp.join(folder, name))
        assert cfg.model.text_encoder.pretrained == fetched, name
        assert cfg.model.text_encoder.model_name == AM_RADIO_TEACHERS['clip'].cfg['model_name']
