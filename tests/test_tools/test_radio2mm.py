"""radio2mm.py on a distillation run: ready-to-paste configs whose summary is the summary
teachers' tokens only (as the official summary_idxs), and that load the run.

The run's student has a spare summary token (3 tokens, 2 summary teachers + SAM), so an
embedding of every slot would be 3 x width instead of 2 x width.
"""
import ast
import copy
import subprocess
import warnings
from types import SimpleNamespace

import pytest
import torch
from mmengine.runner.checkpoint import load_state_dict
from tiny_models import tiny_radio_model, tiny_vit

from radio_mm.apis import radio_model
from radio_mm.engine.hooks.radio_model_meta_hook import RADIOModelMetaHook
from radio_mm.models.distillers import RADIODistiller
from radio_mm.registry import MODELS

WIDTH = 32
TEACHERS = [
    dict(type='OpenCLIPTeacher', name='clip', model_name='ViT-B-16',
         model_cfg=dict(embed_dim=24, vision_cfg=dict(image_size=32, patch_size=16, width=32,
                                                      layers=1, head_width=16))),
    dict(type='DINOv2Teacher', name='dino_v2', arch='vit_small_patch14_reg4_dinov2',
         input_size=28, arch_kwargs=dict(embed_dim=32, depth=1, num_heads=2)),
    dict(type='SAMTeacher', name='sam', img_size=64,
         arch=dict(embed_dim=32, depth=1, num_heads=2, global_attn_indexes=(0, ),
                   window_size=2)),
]
STUDENT = tiny_radio_model(tiny_vit(embed_dims=WIDTH, num_layers=1, cpe_max_size=64,
                                     num_summary_tokens=3, register_multiple=4))


@pytest.fixture(scope='module')
def run_checkpoint(tmp_path_factory):
    """A distillation checkpoint as tools/train.py saves it (meta hook, teachers dropped)."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)  # random-weight teachers
        distiller = RADIODistiller(student=copy.deepcopy(STUDENT),
                                   teachers=copy.deepcopy(TEACHERS),
                                   adaptor_cfg=dict(hidden_dims=WIDTH))
    checkpoint = dict(meta={}, state_dict=distiller.state_dict())
    RADIOModelMetaHook().before_save_checkpoint(SimpleNamespace(model=distiller), checkpoint)
    path = tmp_path_factory.mktemp('run') / 'iter_10.pth'
    torch.save(checkpoint, path)
    return str(path), checkpoint


def _printed(stdout, header):
    """The Python literal printed after the comment line starting with ``header``."""
    block = stdout.split(header, 1)[1].split('\n', 1)[1].split('\n\n')[0]
    return ast.literal_eval(block.split(' = ', 1)[1])


def test_prints_configs_that_load_a_distillation_run(run_checkpoint, repo_root, python):
    path, checkpoint = run_checkpoint
    stdout = subprocess.run([python, 'tools/model_converters/radio2mm.py', path],
                            cwd=repo_root, capture_output=True, text=True, check=True).stdout
    assert '(distillation, raw weights)' in stdout
    assert 'summary_idxs = [0, 1]' in stdout

    # k-NN: the embedding is (number of summary teachers) x width.
    knn = _printed(stdout, '# k-NN')
    extractor = MODELS.build(knn)
    load_state_dict(extractor, checkpoint['state_dict'], strict=True)
    images = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        assert extractor.extract_feat(images).shape == (2, 2 * WIDTH)
        # radio_model() gives the same backbone summary.
        assert radio_model(path)(images).summary.shape == (2, 2 * WIDTH)

    # Linear probe: the printed frozen backbone loads the run and feeds a head of that width.
    probe = _printed(stdout, '# linear probe')
    assert probe['head']['in_channels'] == 2 * WIDTH
    backbone = MODELS.build(probe['backbone'])
    backbone.init_weights()
    with torch.no_grad():
        (summary, ) = backbone(images)
    assert summary.shape == (2, 2 * WIDTH)

    # Zero-shot: the 'clip' summary head's sizes, as the classification README promises.
    zero_shot = _printed(stdout, "# CLIP zero-shot with the 'clip' adaptor")
    assert zero_shot['summary_head'] == dict(in_dims=WIDTH, hidden_dims=WIDTH, out_dims=24,
                                             num_inner=1)
    assert zero_shot['summary_slot'] == 0
