"""tools/model_converters/mm2radio.py: radio_mm students -> official release layout.

The inputs are checkpoints in the layout distillation runs write (``student.*`` weights,
``meta['radio_model']``, and with EMA the mmengine ``ema_state_dict``); the round trip
through radio_mm's own release loader must give the student's outputs back.
"""
import copy
import os.path as osp
import runpy
import sys

import pytest
import torch

from radio_mm.apis import radio_model
from radio_mm.apis.official_export import export_official_checkpoint
from radio_mm.models.losses.phi_s import hadamard_matrix
from radio_mm.registry import MODELS

RELEASE_PREFIXES = ('base_model.', 'input_conditioner.', '_heads.', '_feature_projections.')
NAMES = ['clip', 'dino_v2', 'sam']


def _adaptors(in_dims, slots):
    return dict(
        clip=dict(in_dims=in_dims, feature_dims=24, summary_dims=16, hidden_dims=32,
                  summary_slot=slots[0]),
        dino_v2=dict(in_dims=in_dims, feature_dims=20, summary_dims=12, hidden_dims=32,
                     summary_slot=slots[1]),
        sam=dict(in_dims=in_dims, feature_dims=8, summary_dims=None, hidden_dims=16,
                 upsample_factor=2))


VIT_STUDENT = dict(
    type='RADIOModel', adaptors=_adaptors(48, slots=(1, 0)),  # slots not in teacher order
    backbone=dict(type='RADIOViT', arch=dict(embed_dims=48, num_layers=2, num_heads=3,
                                             mlp_ratio=3.0),
                  patch_size=14, cpe_max_size=224, num_summary_tokens=2, register_multiple=8,
                  init_values=0.1, final_norm=True, drop_path_rate=0.1))
ERADIO_STUDENT = dict(
    type='RADIOModel', adaptors=_adaptors(24, slots=(0, 0)),
    backbone=dict(type='ERADIO', arch=dict(
        stem_channels=8, base_channels=8, depths=(1, 1, 2, 1), num_heads=(1, 2, 2, 4),
        window_sizes=(None, None, 4, 4), sr_ratios=(1, 1, (2, 1), 1), neck_channels=24,
        cpb_mlp_hidden=16)))


def write_run(cfg, path, ema):
    """A distillation-run checkpoint: EMA weights in state_dict, raw in ema_state_dict."""
    torch.manual_seed(0)
    student = MODELS.build(copy.deepcopy(cfg))
    for param in student.parameters():  # no identity norms or zero biases left
        param.data.add_(torch.randn_like(param) * 0.05)
    state = {f'student.{k}': v for k, v in student.state_dict().items()}
    checkpoint = dict(meta=dict(radio_model=cfg), state_dict=state)
    if ema:
        checkpoint['ema_state_dict'] = {f'module.{k}': v + 1 for k, v in state.items()
                                        if v.is_floating_point()}
        checkpoint['meta']['ema'] = dict(momentum=1e-4, averaged_prefix='student.')
    torch.save(checkpoint, path)
    return state


def run_mm2radio(repo_root, src, dst, monkeypatch):
    monkeypatch.setattr(sys, 'argv', ['mm2radio.py', str(src), str(dst)])
    runpy.run_path(osp.join(repo_root, 'tools/model_converters/mm2radio.py'),
                   run_name='__main__')
    return torch.load(dst, weights_only=False)


def assert_same_outputs(src, dst, x):
    with torch.no_grad():
        ours = radio_model(str(src), adaptor_names=NAMES)(x)
        exported = radio_model(str(dst), adaptor_names=NAMES)(x)
    for name in ['backbone'] + NAMES:
        assert torch.allclose(exported[name].features, ours[name].features, atol=1e-6), name
        if ours[name].summary is not None:
            assert torch.allclose(exported[name].summary, ours[name].summary, atol=1e-6), name
    # A teacher without a summary head gets a zero one (the official hub needs one).
    assert torch.equal(exported['sam'].summary, torch.zeros(x.shape[0], 1))


def test_vit_run_with_ema_round_trips(tmp_path, repo_root, monkeypatch):
    src, dst = tmp_path / 'iter_10.pth', tmp_path / 'release' / 'student.pth.tar'
    state = write_run(VIT_STUDENT, src, ema=True)
    release = run_mm2radio(repo_root, src, dst, monkeypatch)

    args = release['args']
    assert args.model == 'vit_base_patch16_224'
    assert args.model_kwargs == dict(embed_dim=48, depth=2, num_heads=3, mlp_ratio=3.0,
                                     patch_size=14, qkv_bias=True, init_values=0.1)
    assert (args.cpe_max_size, args.cls_token_per_teacher, args.model_norm) == (224, True, True)
    # 2 summary + 6 registers = 8 tokens; the official layout gives each teacher one.
    assert args.cpe_num_registers == 5
    assert [(t['name'], t['use_summary'], t['token_slot']) for t in args.teachers] == [
        ('dino_v2', True, 0), ('clip', True, 1), ('sam', False, 0)]
    assert args.teachers[2]['fd_upsample_factor'] == 2
    for weights in ('state_dict', 'state_dict_ema'):
        assert all(k.startswith(RELEASE_PREFIXES) for k in release[weights])
    # EMA weights where the hub looks first, the raw ones in state_dict.
    key = 'blocks.0.attn.qkv.weight'
    assert torch.equal(release['state_dict_ema'][f'base_model.{key}'],
                       state[f'student.backbone.{key}'])
    assert torch.equal(release['state_dict'][f'base_model.{key}'],
                       state[f'student.backbone.{key}'] + 1)
    assert torch.equal(release['state_dict_ema']['_feature_projections.0.fc1.weight'],
                       state['student.adaptors.dino_v2.feature_mlp.fc1.weight'])
    assert_same_outputs(src, dst, torch.rand(2, 3, 56, 84))


def test_vit_with_mlp_norm_round_trips(tmp_path):
    cfg = copy.deepcopy(VIT_STUDENT)
    cfg['backbone'].update(mlp_norm=True, init_values=None, final_norm=False)
    src, dst = tmp_path / 'run.pth', tmp_path / 'mlpnorm.pth.tar'
    write_run(cfg, src, ema=False)
    release = export_official_checkpoint(str(src))
    assert release['args'].model == 'vit_huge_patch16_224_mlpnorm'
    assert 'base_model.blocks.1.mlp.norm.weight' in release['state_dict']
    torch.save(release, dst)
    assert_same_outputs(src, dst, torch.rand(1, 3, 42, 70))


def test_custom_eradio_round_trips(tmp_path, repo_root, monkeypatch):
    src, dst = tmp_path / 'eradio.pth', tmp_path / 'eradio.pth.tar'
    write_run(ERADIO_STUDENT, src, ema=False)
    release = run_mm2radio(repo_root, src, dst, monkeypatch)
    assert set(release) == {'args', 'state_dict'}
    args = release['args']
    # No official name builds these widths: they travel in model_kwargs.
    assert args.model == 'eradio' and args.model_kwargs['dim'] == 8
    assert args.model_kwargs['window_size'] == (None, None, 4, 4)
    assert not args.cls_token_per_teacher and args.cpe_max_size is None
    table = 'base_model.levels.2.blocks.0.attention_blocks.0.attn.pos_emb_funct.'
    assert release['state_dict'][table + 'relative_coords_table'].shape == (1, 7, 7, 2)
    assert_same_outputs(src, dst, torch.rand(1, 3, 64, 128))


def test_unexportable_inputs_are_refused(tmp_path):
    cfg = copy.deepcopy(VIT_STUDENT)
    cfg['backbone']['num_summary_tokens'] = 4  # tokens 3 and 4 belong to no teacher
    src = tmp_path / 'run.pth'
    write_run(cfg, src, ema=False)
    with pytest.raises(ValueError, match=r'reads tokens \[0, 1, 2, 3\].*summary_idxs'):
        export_official_checkpoint(str(src))
    official = osp.join(osp.dirname(osp.dirname(__file__)), 'data', 'radio_official_tiny.pth.tar')
    with pytest.raises(ValueError, match='not a radio_mm model checkpoint'):
        export_official_checkpoint(official)


def test_phi_s_adaptor_and_feature_normalizer_survive_export(tmp_path):
    """The release layout has no PHI-S: its inverse is folded into the feature head, so the
    exported `sam` head still emits SAM-space features; the whitening travels as
    `_feature_normalizer.*`."""
    cfg = copy.deepcopy(VIT_STUDENT)
    cfg['feature_normalizer'] = True
    cfg['adaptors']['sam']['phi_s'] = dict(from_checkpoint=True)
    torch.manual_seed(1)
    student = MODELS.build(copy.deepcopy(cfg))
    for param in student.parameters():
        param.data.add_(torch.randn_like(param) * 0.05)
    rotation, _ = torch.linalg.qr(torch.randn(8, 8))
    phi_s = student.adaptors['sam'].phi_s
    phi_s.transform.copy_(hadamard_matrix(8).float() @ rotation.T / 0.7)  # PHI-S form: H U^T / s
    phi_s.mean.copy_(torch.randn(8))
    student.feature_normalizer.mean.copy_(torch.randn(48) * 0.1)
    student.feature_normalizer.tx.copy_(torch.linalg.qr(torch.randn(48, 48))[0])
    src, dst = tmp_path / 'phi_s.pth', tmp_path / 'phi_s.pth.tar'
    torch.save(dict(meta=dict(radio_model=cfg), state_dict={
        f'student.{k}': v for k, v in student.state_dict().items()}), src)
    release = export_official_checkpoint(str(src))
    assert not any('phi_s' in k for k in release['state_dict'])
    assert '_feature_normalizer.tx' in release['state_dict']
    torch.save(release, dst)
    x = torch.rand(1, 3, 56, 56)
    with torch.no_grad():
        radio = student.eval().forward_backbone(x)
        sam = student.adaptors['sam']
        assert not torch.allclose(sam(radio).features, sam(radio, standardized=True).features)
    assert_same_outputs(src, dst, x)


def test_eradio_release_name_follows_the_built_architecture():
    """A preset is named only when ERADIO would build exactly it: an alias is, a dict that
    leaves out E-RADIO-L's subsample ratios (so builds ratios of 1) is not and gets its
    widths spelled out."""
    from radio_mm.apis.official_export import _eradio_args
    from radio_mm.models.backbones.eradio import ARCH_SETTINGS, ERADIO
    assert _eradio_args(ERADIO, dict(arch='large'), []).model_kwargs == dict(
        return_full_features=True)
    no_ratios = {k: v for k, v in ARCH_SETTINGS['l'].items() if k != 'sr_ratios'}
    kwargs = _eradio_args(ERADIO, dict(arch=no_ratios), []).model_kwargs
    assert kwargs['sr_ratio'] == ((1, ), ) * 4  # ERADIO's per-level form
    assert _eradio_args(ERADIO, dict(arch=dict(ARCH_SETTINGS['l'])), []).model_kwargs == dict(
        return_full_features=True)


def test_attention_head_release_round_trips(tmp_path):
    """A C-RADIOv4 release with attention heads converts and exports back, heads included."""
    from release_checkpoints import build_release

    from radio_mm.formats.radio_checkpoint import read_radio_checkpoint
    release, _ = build_release('c-radio_v4-h')
    torch.save(read_radio_checkpoint(release, source='v4').to_checkpoint(),
               tmp_path / 'v4.pth')
    exported = export_official_checkpoint(str(tmp_path / 'v4.pth'))
    assert {t['name']: t.get('spatial_mlp_version') for t in exported['args'].teachers} == {
        'siglip2-g': 'attn', 'dino_v3': 'attn', 'sam3': 'attn'}
    torch.save(exported, tmp_path / 'v4.pth.tar')
    names = ['siglip2-g', 'sam3']
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        ours = radio_model(str(tmp_path / 'v4.pth.tar'), adaptor_names=names)(x)
        original = radio_model(str(tmp_path / 'v4.pth'), adaptor_names=names)(x)
    for name in names:
        assert torch.allclose(ours[name].features, original[name].features, atol=1e-5)
