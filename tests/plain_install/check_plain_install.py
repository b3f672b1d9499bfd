"""What ``pip install radio_mm`` (no OpenMMLab toolbox) must give, printed as one JSON line.

Run from the repository root by two checks: ``tests/test_utils/test_toolboxes.py`` (this
interpreter, with mmcv/mmseg/mmdet/mmpretrain made unimportable) and
``tools/check_plain_install.sh`` (a fresh virtualenv holding only setup.py's
``install_requires``, run by ``.ci/run``). It exits non-zero when a promise is broken.
"""
import json
import sys

import torch

from radio_mm.apis import radio_model
from radio_mm.models.backbones import ERADIO, RADIOViT  # noqa: F401  (importable)
from radio_mm.models.distillers import RADIODistiller  # noqa: F401  (importable)
from radio_mm.registry import MODELS

TOOLBOXES = ('mmcv', 'mmseg', 'mmdet', 'mmpretrain')

model = radio_model('tests/data/radio_official_tiny.pth.tar', adaptor_names=['clip'])
with torch.no_grad():
    outputs = model(torch.rand(1, 3, 32, 48))
errors = {}
for name in ('BNLinearHead', 'SimpleFPN', 'RADIOCLIPZeroShot', 'RADIOFeatureExtractor'):
    try:
        MODELS.build(dict(type=name))
    except ImportError as error:
        errors[name] = str(error)
from radio_mm.analysis import read_rgb  # noqa: E402

try:
    read_rgb('any.jpg')
except ImportError as error:
    errors['read_rgb'] = str(error)
result = dict(loaded=sorted(m for m in sys.modules if m.split('.')[0] in TOOLBOXES),
              outputs=sorted(outputs), errors=errors)
print(json.dumps(result))
sys.exit(0 if not result['loaded'] and result['outputs'] == ['backbone', 'clip']
         and len(errors) == 5 else 1)
