"""tools/fetch_teachers.py without a network: one line naming the source and the target."""
import os.path as osp
import sys

import pytest
from script_loader import load_script

from radio_mm.models.teachers.paper_teachers import AM_RADIO_TEACHERS


@pytest.fixture
def offline(monkeypatch):
    """Every request fails at once: proxies that nobody listens on, Hugging Face offline
    (its client would otherwise retry the refused proxy for half a minute)."""
    import huggingface_hub.constants
    monkeypatch.setattr(huggingface_hub.constants, 'HF_HUB_OFFLINE', True)
    for var in ('http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY'):
        monkeypatch.setenv(var, 'http://127.0.0.1:9')
    for var in ('no_proxy', 'NO_PROXY'):
        monkeypatch.delenv(var, raising=False)


@pytest.mark.parametrize('name', ['sam', 'clip'])  # a plain URL and a Hugging Face file
def test_offline_download_fails_in_one_line(name, tmp_path, offline, monkeypatch):
    tool = load_script('tools/fetch_teachers.py')
    monkeypatch.setattr(sys, 'argv', ['fetch_teachers.py', '--out-dir', str(tmp_path),
                                      '--teachers', name])
    with pytest.raises(SystemExit) as exit_:
        tool.main()
    error = exit_.value.code  # what Python prints to stderr, alone, before exiting with 1
    weights = AM_RADIO_TEACHERS[name].weights
    target = osp.join(str(tmp_path), weights.filename)
    assert isinstance(error, str) and '\n' not in error
    assert error.startswith('fetch_teachers.py: cannot download')
    assert weights.source in error and target in error
    assert not osp.exists(target) and not osp.exists(target + '.part')


def test_dry_run_names_the_later_releases_teachers_and_radio_files(tmp_path, monkeypatch,
                                                                   capsys):
    tool = load_script('tools/fetch_teachers.py')
    monkeypatch.setattr(sys, 'argv', ['fetch_teachers.py', '--dry-run', '--out-dir',
                                      str(tmp_path), '--teachers', 'siglip2-g', 'dino_v3',
                                      'sam2', 'c-radio_v4-h'])
    tool.main()
    printed = capsys.readouterr().out
    for source in ('huggingface.co/timm/ViT-gopt-16-SigLIP2-384/',
                   'huggingface.co/timm/vit_7b_patch16_dinov3.lvd1689m/',
                   'dl.fbaipublicfiles.com/segment_anything_2/092824/sam2.1_hiera_large.pt',
                   'huggingface.co/nvidia/C-RADIOv4-H/'):
        assert source in printed
    assert osp.join(str(tmp_path), 'c-radio_v4-h_half.pth.tar') in printed
    assert not list(tmp_path.iterdir())  # a dry run writes nothing


def test_missing_later_teacher_file_names_its_fetch_command():
    from radio_mm.models.teachers.teacher_weight_files import fetch_command
    assert fetch_command('ckpt/sam2.1_hiera_large.pt') == \
        'python tools/fetch_teachers.py --out-dir ckpt --teachers sam2'
