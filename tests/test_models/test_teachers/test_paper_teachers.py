"""The AM-RADIO teacher presets and tools/fetch_teachers.py's plan."""
import os.path as osp
import runpy
import sys

import open_clip
import pytest
import torch

from radio_mm.models.teachers import AM_RADIO_TEACHERS, am_radio_teacher_cfgs
from radio_mm.registry import MODELS

REPO_ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..', '..'))

# (input_size, patch_size, summary_dim, feature_dim) of the full-size teachers
PAPER_GEOMETRY = {
    'clip': ((378, 378), 14, 1024, 1280),
    'dino_v2': ((224, 224), 14, 1536, 1536),
    'sam': ((1024, 1024), 16, None, 256),
}


@pytest.mark.parametrize('name', list(AM_RADIO_TEACHERS))
def test_paper_teacher_builds_with_its_published_geometry(name):
    cfg = am_radio_teacher_cfgs(names=[name])[0]
    cfg['pretrained'] = None
    # the meta device builds the billion-parameter architecture without allocating it
    with torch.device('meta'), pytest.warns(UserWarning, match='random weights'):
        teacher = MODELS.build(cfg)
    got = (teacher.input_size, teacher.patch_size, teacher.summary_dim, teacher.feature_dim)
    assert got == PAPER_GEOMETRY[name]
    assert teacher.name == name


def test_cfgs_point_into_the_checkpoint_folder():
    cfgs = am_radio_teacher_cfgs('/ckpt', names=['sam', 'clip'], dtype='bf16')
    assert [c['name'] for c in cfgs] == ['sam', 'clip']
    assert cfgs[0]['pretrained'] == '/ckpt/sam_vit_h_4b8939.pth'
    assert all(c['dtype'] == 'bf16' for c in cfgs)
    assert 'pretrained' not in AM_RADIO_TEACHERS['sam'].cfg  # presets are not mutated
    with pytest.raises(KeyError, match='dino_v2'):
        am_radio_teacher_cfgs(names=['dinov2'])


def test_clip_source_is_the_one_open_clip_publishes():
    cfg = AM_RADIO_TEACHERS['clip'].cfg
    published = open_clip.get_pretrained_cfg(cfg['model_name'], cfg['pretrained_tag'])
    assert published['hf_hub'].rstrip('/') == AM_RADIO_TEACHERS['clip'].weights.hf_repo


def _run_tool(monkeypatch, *args):
    monkeypatch.setattr(sys, 'argv', ['fetch_teachers.py', *args])
    runpy.run_path(osp.join(REPO_ROOT, 'tools', 'fetch_teachers.py'), run_name='__main__')


def test_fetch_dry_run_prints_sources_and_targets_and_downloads_nothing(
        monkeypatch, capsys, tmp_path):
    (tmp_path / 'sam_vit_h_4b8939.pth').write_bytes(b'')
    _run_tool(monkeypatch, '--dry-run', '--out-dir', str(tmp_path))
    printed = capsys.readouterr().out
    for teacher in AM_RADIO_TEACHERS.values():
        assert teacher.weights.source in printed
        assert osp.join(str(tmp_path), teacher.weights.filename) in printed
    assert 'sam_vit_h_4b8939.pth (present)' in printed
    assert 'dinov2_vitg14_reg4_pretrain.pth (missing)' in printed
    assert sorted(p.name for p in tmp_path.iterdir()) == ['sam_vit_h_4b8939.pth']


def test_fetch_help_describes_the_options(monkeypatch, capsys):
    with pytest.raises(SystemExit) as exit_info:
        _run_tool(monkeypatch, '--help')
    assert exit_info.value.code == 0
    assert '--dry-run' in capsys.readouterr().out
