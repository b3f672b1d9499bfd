"""switch_to_deploy(): the inference form computes what the eval model computes, does no
per-call work that depends only on the input size, and refuses training and old weights."""
import copy
import os.path as osp
from unittest import mock

import pytest
import torch
from test_eradio import TINY as TINY_ERADIO_ARCH  # noqa: I100 (sibling test module)
from test_eradio import arch_from_official_config
from torch import nn

from radio_mm.analysis import build_model, load_model_cfg
from radio_mm.apis import radio_model
from radio_mm.models import RADIOModel
from radio_mm.models.backbones import ERADIO, RADIOViT
from radio_mm.models.backbones.cpe_patch_generator import CPEPatchGenerator
from radio_mm.models.backbones.eradio_blocks import ContinuousPositionBias
from radio_mm.models.utils.packed_kernels import PackedConv2d, packed_kernels_available
from radio_mm.models.utils.winograd_conv import WinogradConv2d

DATA = osp.join(osp.dirname(__file__), '..', '..', 'data')
TINY_VIT = dict(arch=dict(embed_dims=32, num_layers=3, num_heads=2), cpe_max_size=256,
                num_summary_tokens=2, register_multiple=4)


def rel_error(ours, reference):
    return ((ours - reference).abs().max() / reference.abs().max()).item()


def tiny_eradio(arch=TINY_ERADIO_ARCH, **kwargs):
    torch.manual_seed(0)
    model = ERADIO(arch=arch, **kwargs)
    with torch.no_grad():  # running statistics that make folding matter
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-1, 1)
                module.running_var.uniform_(0.5, 2)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.5, 0.5)
    return model.eval()


def count_calls(owner, name):
    return mock.patch.object(owner, name, autospec=True, side_effect=getattr(owner, name))


def test_eradio_deploy_equals_eval_model():
    model = tiny_eradio(out_indices=(0, 1, 2, 3, 4))
    deployed = copy.deepcopy(model).switch_to_deploy()
    assert not any(isinstance(m, nn.BatchNorm2d) for m in deployed.modules())
    conv = deployed.levels[2].blocks[0].attention_blocks[1].pre_conv.conv
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    # The position-bias MLPs do not run again: their biases were precomputed.
    mlp_calls = []
    for module in deployed.modules():
        if isinstance(module, ContinuousPositionBias):
            module.cpb_mlp.register_forward_hook(lambda *args: mlp_calls.append(1))
    # 96 x 160: stage maps the windows do not tile (resized inside).
    for hw in [(128, 128), (96, 160)]:
        x = torch.randn(1, 3, *hw)
        with torch.no_grad():
            expected, got = model(x), deployed(x)
            radio = deployed.forward_radio(x)
        assert all(rel_error(g, e) <= 1e-4 for g, e in zip(got, expected))
        assert rel_error(radio.features, model.forward_radio(x).features) <= 1e-4
    assert not mlp_calls


@pytest.mark.skipif(not packed_kernels_available(), reason='this torch has no oneDNN fused ops')
def test_eradio_deploy_runs_wide_convs_as_winograd_and_fuses_activations():
    """E-RADIO-L's stride-16/32 ``pre_conv`` are 768/1536 wide; 256/512 here, narrow levels
    keep oneDNN's direct kernel with SiLU fused."""
    model = tiny_eradio(dict(TINY_ERADIO_ARCH, base_channels=64, neck_channels=64))
    deployed = copy.deepcopy(model).switch_to_deploy()
    pre_convs = [block.pre_conv.conv for level in deployed.levels[2:]
                 for multi in level.blocks for block in multi.attention_blocks
                 if hasattr(block, 'pre_conv')]
    assert pre_convs and all(isinstance(conv, WinogradConv2d) for conv in pre_convs)
    bottleneck = deployed.levels[0].blocks.m[0].cv1
    assert type(bottleneck.conv) is PackedConv2d and bottleneck.conv.post_op == ('swish', '')
    x = torch.randn(1, 3, 96, 160)
    with torch.no_grad():
        for got, expected in zip(deployed(x), model(x)):
            assert rel_error(got, expected) <= 1e-5


def test_eradio_deploy_matches_the_official_outputs():
    """Deployed weights of the official fixture still give the official eval outputs."""
    official = torch.load(osp.join(DATA, 'eradio_official_tiny.pth'))
    case = official['cases'][1]  # 96 x 160: a resized stage
    model = ERADIO(arch=arch_from_official_config(official['official_config']))
    model.load_state_dict(official['official_state_dict'], strict=False)
    model.switch_to_deploy()
    mean, std = official['mean'].view(1, 3, 1, 1), official['std'].view(1, 3, 1, 1)
    with torch.no_grad():
        radio = model.forward_radio((case['image'].float() / 255 - mean) / std)
    assert rel_error(radio.features, case['features']) <= 1e-4


def test_vit_deploy_caches_the_position_encoding_per_size():
    torch.manual_seed(0)
    model = RADIOViT(**TINY_VIT, out_indices=(1, 2)).eval()
    deployed = copy.deepcopy(model).switch_to_deploy()
    sizes = [(64, 64), (96, 128), (64, 64)]
    with count_calls(CPEPatchGenerator, '_resize_and_crop') as resizes, torch.no_grad():
        for hw in sizes:
            x = torch.randn(2, 3, *hw)
            for got, expected in zip(deployed(x), model(x)):
                assert rel_error(got, expected) <= 1e-5  # other kernels, same maths
    assert resizes.call_count == 3 + 2  # eval model every call; deployed once per size
    assert list(deployed.patch_generator.position_cache) == [(6, 8), (4, 4)]
    deployed.double()  # a cached encoding follows the model's dtype and device
    assert not deployed.patch_generator.position_cache
    with torch.no_grad():
        assert deployed(torch.randn(1, 3, 64, 64, dtype=torch.float64))[0].dtype == \
            torch.float64


def test_deployed_model_refuses_training_and_weights_from_before():
    model = RADIOModel(backbone=dict(type='ERADIO', arch=TINY_ERADIO_ARCH))
    weights = copy.deepcopy(model.state_dict())
    assert model.switch_to_deploy() is model and not model.training
    with pytest.raises(RuntimeError, match='ERADIO was switched to its inference form.*'
                       'cannot be trained'):
        model.train()
    with pytest.raises(RuntimeError, match='cannot load weights saved before'):
        model.load_state_dict(weights)


def test_radio_model_deploy_equals_official_form():
    path = osp.join(DATA, 'radio_official_tiny.pth.tar')
    model, deployed = radio_model(path, adaptor_names='clip'), radio_model(
        path, adaptor_names='clip', deploy=True)
    assert deployed.backbone.deployed and not model.backbone.deployed
    images = torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        expected, got = model(images), deployed(images)
    for name in ('backbone', 'clip'):
        assert rel_error(got[name].features, expected[name].features) <= 1e-5


def test_config_flag_deploys_in_eval_and_refuses_training(repo_root):
    """A shipped evaluation config with ``model.backbone.deploy=True`` (what
    ``--cfg-options model.backbone.deploy=True`` sets), shrunk in width."""
    cfg, _ = load_model_cfg(f'{repo_root}/configs/classification/radio-vitb_knn_in1k.py:model')
    cfg['backbone'].update(TINY_VIT, deploy=True)
    model = build_model(cfg)
    with pytest.raises(RuntimeError, match=r'RADIOViT\(deploy=True\).*remove deploy=True'):
        model.train()
    assert not model.backbone.deployed
    model.eval()  # what the test loop does
    assert model.backbone.deployed
    assert model.backbone.patch_generator.position_cache is not None
