"""One reading of RADIO checkpoints for radio_model(), backbone Pretrained and classifiers.

The distillation run here is written the way tools/train.py writes one: mmengine's EMAHook
(averaged weights in ``state_dict``, raw ones in ``ema_state_dict``) and RADIOModelMetaHook
(the student config in ``meta['radio_model']``), around a module with the distiller's
``student.*`` key layout.
"""
import copy
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from mmengine.hooks import EMAHook
from mmengine.runner.checkpoint import load_state_dict
from tiny_models import tiny_vit
from torch import nn

from radio_mm.apis import radio_model
from radio_mm.engine.hooks.radio_model_meta_hook import RADIOModelMetaHook
from radio_mm.models.classifiers import RADIOFeatureExtractor
from radio_mm.registry import MODELS

BACKBONE = tiny_vit(num_layers=1, cpe_max_size=64, num_summary_tokens=3, register_multiple=8)
STUDENT = dict(type='RADIOModel', backbone=BACKBONE, summary_idxs=[0, 1], adaptors=dict(
    clip=dict(in_dims=32, feature_dims=24, summary_dims=16, hidden_dims=32, summary_slot=0)))


class _Run(nn.Module):
    """The distiller's checkpoint layout: ``student.*`` and the saved ``student_cfg``."""

    def __init__(self):
        super().__init__()
        self.student_cfg = copy.deepcopy(STUDENT)
        self.student = MODELS.build(copy.deepcopy(STUDENT))


def _qkv(module):
    return module.blocks[0].attn.qkv.weight


@pytest.fixture(scope='module')
def ema_run(tmp_path_factory):
    """-> (path, averaged qkv weight, raw qkv weight) of a run with EMA."""
    run = _Run()
    runner = SimpleNamespace(model=run)
    hook = EMAHook(momentum=0.5)
    hook.before_run(runner)
    hook.ema_model.update_parameters(run)  # first update copies the model
    with torch.no_grad():
        for param in run.parameters():
            param.add_(1.0)
    hook.ema_model.update_parameters(run)
    checkpoint = dict(meta={}, state_dict=run.state_dict())
    hook.before_save_checkpoint(runner, checkpoint)
    RADIOModelMetaHook().before_save_checkpoint(runner, checkpoint)
    path = tmp_path_factory.mktemp('run') / 'iter_2.pth'
    torch.save(checkpoint, path)
    averaged = _qkv(hook.ema_model.module.student.backbone).detach().clone()
    raw = _qkv(run.student.backbone).detach().clone()
    assert not torch.equal(averaged, raw)
    return str(path), averaged, raw


def _pretrained(path, **kwargs):
    backbone = MODELS.build(dict(BACKBONE, init_cfg=dict(type='Pretrained', checkpoint=path,
                                                          **kwargs)))
    backbone.init_weights()
    return backbone


def test_every_loader_takes_the_ema_weights_and_the_raw_ones_on_request(ema_run):
    path, averaged, raw = ema_run
    assert torch.equal(_qkv(radio_model(Path(path)).backbone), averaged)
    assert torch.equal(_qkv(radio_model(path, use_ema=False).backbone), raw)
    assert torch.equal(_qkv(_pretrained(path)), averaged)
    assert torch.equal(_qkv(_pretrained(path, use_ema=False)), raw)
    classifier = RADIOFeatureExtractor(BACKBONE, summary_idxs=[0, 1])
    load_state_dict(classifier, torch.load(path)['state_dict'], strict=True)
    assert torch.equal(_qkv(classifier.backbone), averaged)


def test_unknown_keys_are_errors_naming_them(ema_run, tmp_path):
    checkpoint = torch.load(ema_run[0])
    checkpoint['state_dict']['optimizer_trick.scale'] = torch.ones(1)
    path = str(tmp_path / 'odd.pth')
    torch.save(checkpoint, path)
    with pytest.raises(KeyError, match='optimizer_trick.scale'):
        radio_model(path)
    with pytest.raises(KeyError, match='optimizer_trick.scale'):
        _pretrained(path)
    with pytest.raises(KeyError, match='optimizer_trick.scale'):
        load_state_dict(RADIOFeatureExtractor(BACKBONE), checkpoint['state_dict'])
    # Inside the student too.
    checkpoint = torch.load(ema_run[0])
    checkpoint['state_dict']['student.head.fc.weight'] = torch.ones(1)
    torch.save(checkpoint, path)
    with pytest.raises(KeyError, match='student.head.fc.weight'):
        radio_model(path)


@pytest.mark.parametrize('change, message', [
    (dict(num_summary_tokens=4), 'num_summary_tokens=3 in the checkpoint but 4'),
    (dict(arch=dict(embed_dims=32, num_layers=1, num_heads=4)), 'num_heads=2 in the checkpoint'),
])
def test_same_shapes_other_architecture_is_refused(ema_run, change, message):
    """3 summary + 5 registers and 4 + 4 are both (8, C); 2 and 4 heads share one qkv."""
    wrong = dict(BACKBONE, **change, init_cfg=dict(type='Pretrained', checkpoint=ema_run[0]))
    backbone = MODELS.build(wrong)
    assert backbone.patch_generator.cls_token.token.shape == (8, 32)
    with pytest.raises(ValueError, match=message):
        backbone.init_weights()


def test_a_damaged_checkpoint_is_refused_by_radio_model_naming_the_last_good_one(
        ema_run, tmp_path):
    import shutil

    from radio_mm.utils.checksums import write_sidecar
    good, damaged = tmp_path / 'iter_2.pth', tmp_path / 'iter_4.pth'
    for path in (good, damaged):
        shutil.copy(ema_run[0], path)
        write_sidecar(str(path))
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2:len(data) // 2 + 64] = bytes(64)  # inside the tensors: still loads
    damaged.write_bytes(bytes(data))
    torch.load(damaged, weights_only=False)
    with pytest.raises(RuntimeError, match=f"cannot load from '{damaged}'.*SHA-256.*damaged"
                       f'.*last complete checkpoint in {tmp_path} is {good}'):
        radio_model(str(damaged))
    radio_model(str(good))
