"""tools/test.py CHECKPOINT into a frozen classifier: the file's stored architecture and
summary tokens are compared with the config before the weights load."""
import os.path as osp
from types import SimpleNamespace

import pytest

from radio_mm.engine.hooks import RADIOCheckpointCheckHook
from radio_mm.formats.radio_checkpoint import read_radio_checkpoint
from radio_mm.models.classifiers import RADIOCLIPZeroShot, RADIOFeatureExtractor

OFFICIAL = osp.join(osp.dirname(__file__), '..', '..', 'data', 'radio_official_tiny.pth.tar')


@pytest.fixture(scope='module')
def converted():
    """The tiny release as radio2mm.py writes it: 3 summary + 5 register tokens, 2 heads,
    summary teachers clip and dino_v2 (tokens 0 and 1)."""
    return read_radio_checkpoint(OFFICIAL).to_checkpoint()


def _check(model, checkpoint):
    runner = SimpleNamespace(model=model, _load_from='radio_tiny.pth')
    RADIOCheckpointCheckHook().after_load_checkpoint(runner, checkpoint)


def test_summary_tokens_and_token_split_must_match(converted):
    backbone = converted['meta']['radio_model']['backbone']
    _check(RADIOFeatureExtractor(backbone, summary_idxs=[0, 1]), converted)
    with pytest.raises(ValueError, match=r'summary_idxs=None .* own tokens \[0, 1\]'):
        _check(RADIOFeatureExtractor(backbone), converted)  # SAM's untrained token too
    same_total = dict(backbone, num_summary_tokens=4, num_registers=4)
    with pytest.raises(ValueError, match='num_summary_tokens=3 in the checkpoint but 4'):
        _check(RADIOFeatureExtractor(same_total, summary_idxs=[0, 1]), converted)
    head = dict(in_dims=32, hidden_dims=64, out_dims=48, num_inner=1)
    _check(RADIOCLIPZeroShot(backbone, head, summary_slot=0), converted)
    with pytest.raises(ValueError, match="'clip' adaptor .* reads summary token 0"):
        _check(RADIOCLIPZeroShot(backbone, head, summary_slot=1), converted)


def test_a_distiller_student_is_checked_too(converted):
    """load_from / tools/test.py into a distillation config: the RADIODistiller's student."""
    from torch import nn

    from radio_mm.registry import MODELS

    class Distiller(nn.Module):  # what the hook sees of RADIODistiller: its student

        def __init__(self, backbone):
            super().__init__()
            self.student = MODELS.build(dict(type='RADIOModel', backbone=backbone))

    backbone = converted['meta']['radio_model']['backbone']
    _check(Distiller(backbone), converted)
    same_total = dict(backbone, num_summary_tokens=4, num_registers=4)
    with pytest.raises(ValueError, match='num_summary_tokens=3 in the checkpoint but 4'):
        _check(Distiller(same_total), converted)
