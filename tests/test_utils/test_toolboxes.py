"""``pip install radio_mm`` without the OpenMMLab toolboxes: the model, the students and the
distiller import and run; the task parts say which extra to install.

A fresh interpreter gets an import hook that makes mmcv, mmseg, mmdet and mmpretrain
unimportable (as in a virtualenv holding only setup.py's install_requires), then runs
tests/plain_install/check_plain_install.py. The same script runs in a real fresh virtualenv
(``pip install .``) in ``tools/check_plain_install.sh``, which CI runs after the suite.
"""
import json
import os.path as osp
import subprocess
import sys

import pytest

from radio_mm.utils.toolboxes import MissingToolbox, require_toolbox

REPO = osp.dirname(osp.dirname(osp.dirname(__file__)))
CHECK = osp.join(REPO, 'tests', 'plain_install', 'check_plain_install.py')
# A fresh interpreter in which the toolboxes cannot be imported, then the check script.
WITHOUT_TOOLBOXES = '''
import runpy, sys
BLOCKED = ('mmcv', 'mmseg', 'mmdet', 'mmpretrain')

class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in BLOCKED:
            raise ModuleNotFoundError(f'No module named {name!r}', name=name)

sys.meta_path.insert(0, NotInstalled())
runpy.run_path(sys.argv[1], run_name='__main__')
'''


@pytest.fixture(scope='module')
def plain_install():
    result = subprocess.run([sys.executable, '-c', WITHOUT_TOOLBOXES, CHECK], cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    assert result.stdout.strip(), result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_model_students_and_distiller_need_no_toolbox(plain_install):
    assert plain_install['loaded'] == []
    assert plain_install['outputs'] == ['backbone', 'clip']


@pytest.mark.parametrize('name,extra', [
    ('BNLinearHead', "pip install 'radio_mm[seg]'"),
    ('RADIOCLIPZeroShot', "pip install 'radio_mm[cls]'"),
    ('RADIOFeatureExtractor', "pip install 'radio_mm[cls]'"),
    ('SimpleFPN', "'[det]'"),  # mmcv: any task extra brings it
    ('read_rgb', "'[all]'")])
def test_task_parts_name_the_extra_to_install(plain_install, name, extra):
    message = plain_install['errors'][name]
    assert name in message or name == 'read_rgb'
    assert extra in message


def test_a_broken_toolbox_is_not_reported_as_missing(monkeypatch):
    import importlib

    def broken(name):
        raise ImportError('cannot import name X from torch', name='torch')

    monkeypatch.setattr(importlib, 'import_module', broken)
    with pytest.raises(ImportError) as error:
        require_toolbox('mmseg', 'test')
    assert not isinstance(error.value, MissingToolbox)


def test_a_toolbox_without_mmcv_counts_as_missing(monkeypatch):
    import importlib.util

    from radio_mm.utils.toolboxes import toolbox_available
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, 'find_spec',
                        lambda name, *a: None if name == 'mmcv' else find_spec(name, *a))
    assert not toolbox_available('mmseg')
    monkeypatch.undo()
    assert toolbox_available('mmseg')
