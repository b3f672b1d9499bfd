"""``pip install radio_mm`` without the OpenMMLab toolboxes: the model, the students and the
distiller import and run; the task parts say which extra to install.

A fresh interpreter gets an import hook that makes mmcv, mmseg, mmdet and mmpretrain
unimportable (as in a virtualenv holding only setup.py's install_requires), then imports
radio_mm. A true clean-venv check (pip install . into an empty virtualenv) needs mmengine,
timm, open_clip and torch wheels and a few minutes; this one needs neither.
"""
import json
import os.path as osp
import subprocess
import sys

import pytest

from radio_mm.utils.toolboxes import MissingToolbox, require_toolbox

REPO = osp.dirname(osp.dirname(osp.dirname(__file__)))
WITHOUT_TOOLBOXES = '''
import json, sys
BLOCKED = ('mmcv', 'mmseg', 'mmdet', 'mmpretrain')

class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in BLOCKED:
            raise ModuleNotFoundError(f'No module named {name!r}', name=name)

sys.meta_path.insert(0, NotInstalled())
import torch
import radio_mm
from radio_mm.apis import radio_model
from radio_mm.models.backbones import ERADIO, RADIOViT
from radio_mm.models.distillers import RADIODistiller
from radio_mm.registry import MODELS
model = radio_model('tests/data/radio_official_tiny.pth.tar', adaptor_names=['clip'])
with torch.no_grad():
    outputs = model(torch.rand(1, 3, 32, 48))
errors = {}
for name in ('BNLinearHead', 'SimpleFPN', 'RADIOCLIPZeroShot', 'RADIOFeatureExtractor'):
    try:
        MODELS.build(dict(type=name))
    except ImportError as error:
        errors[name] = str(error)
from radio_mm.analysis import read_rgb
try:
    read_rgb('any.jpg')
except ImportError as error:
    errors['read_rgb'] = str(error)
print(json.dumps(dict(
    loaded=sorted(m for m in sys.modules if m.split('.')[0] in BLOCKED),
    outputs=sorted(outputs), errors=errors)))
'''


@pytest.fixture(scope='module')
def plain_install():
    result = subprocess.run([sys.executable, '-c', WITHOUT_TOOLBOXES], cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
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
