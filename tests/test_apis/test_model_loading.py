"""radio_model() against outputs of the official NVlabs/RADIO implementation.

tests/data/radio_official_tiny.pth.tar is a release-layout checkpoint of a small CPE ViT
(args.model='vit_tiny_patch16_224' shrunk by model_kwargs, 3 teachers, register_multiple=8,
`_heads.<i>` and `_feature_projections.<name>` keys), and radio_official_tiny_outputs.pth
holds what the official `hubconf.radio_model` (NVlabs/RADIO @ c0f3701) returned for it on
real images, with and without adaptors and with vitdet_window_size=2.
"""
import os.path as osp
import subprocess

import pytest
import torch

from radio_mm.apis import radio_model

DATA = osp.join(osp.dirname(osp.dirname(__file__)), 'data')
OFFICIAL = osp.join(DATA, 'radio_official_tiny.pth.tar')


@pytest.fixture(scope='module')
def reference():
    return torch.load(osp.join(DATA, 'radio_official_tiny_outputs.pth'))


def assert_close(ours, theirs):
    assert ours.shape == theirs.shape
    assert ((ours - theirs).abs().max() / theirs.abs().max()).item() <= 1e-4


@pytest.mark.parametrize('image', ['rect', 'full', 'sq224'])
def test_matches_official_outputs_with_adaptors(reference, image):
    model = radio_model(OFFICIAL, adaptor_names=reference['adaptor_names'])
    with torch.no_grad():
        outputs = model(reference['inputs'][image])
    assert set(outputs) == {'backbone', 'clip', 'sam'}
    for name, (summary, features) in reference['outputs'][image].items():
        assert_close(outputs[name].summary, summary)
        assert_close(outputs[name].features, features)


def test_matches_official_without_adaptors_and_with_vitdet(reference):
    plain = radio_model(OFFICIAL)
    windowed = radio_model(OFFICIAL, vitdet_window_size=reference['vitdet_window_size'])
    with torch.no_grad():
        summary, features = plain(reference['inputs']['rect'])
        w_summary, w_features = windowed(reference['inputs']['vitdet_128x192'])
    assert_close(summary, reference['outputs']['plain_rect'][0])
    assert_close(features, reference['outputs']['plain_rect'][1])
    assert_close(w_summary, reference['outputs']['vitdet_128x192'][0])
    assert_close(w_features, reference['outputs']['vitdet_128x192'][1])


def test_helpers_match_the_official_api():
    model = radio_model(OFFICIAL, adaptor_names='sam')
    assert model.patch_size == 16 and model.min_resolution_step == 16
    assert model.get_nearest_supported_resolution(230, 250) == (224, 256)
    assert model.get_nearest_supported_resolution(3, 3) == (16, 16)
    x = torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        before = model(x)
        conditioner = model.make_preprocessor_external()
        after = model(conditioner(x))
        nchw = model(conditioner(x), feature_fmt='NCHW')
    assert torch.allclose(before['backbone'].features, after['backbone'].features)
    # The sam head upsamples 2x (fd_upsample_factor=2 in args.teachers).
    assert nchw['sam'].features.shape == (1, 20, 8, 12)
    with pytest.raises(ValueError, match='multiples of 16'):
        model(torch.rand(1, 3, 60, 96))


def test_unknown_adaptor_and_bad_files(tmp_path):
    with pytest.raises(ValueError, match="unknown adaptor 'siglip'"):
        radio_model(OFFICIAL, adaptor_names=['siglip'])
    with pytest.raises(FileNotFoundError, match='does not exist'):
        radio_model(str(tmp_path / 'missing.pth.tar'))
    torch.save({'weights': torch.zeros(1)}, tmp_path / 'other.pth')
    with pytest.raises(ValueError, match='neither an official RADIO release'):
        radio_model(str(tmp_path / 'other.pth'))


def test_converter_round_trips(tmp_path, repo_root, python, reference):
    dst = tmp_path / 'converted' / 'radio_tiny.pth'
    result = subprocess.run(
        [python, 'tools/model_converters/radio2mm.py', OFFICIAL, str(dst)],
        cwd=repo_root, capture_output=True, text=True, check=True)
    assert "'type': 'RADIOViT'" in result.stdout
    # The printed preprocessor statistics reproduce the checkpoint's input conditioner.
    assert "'mean': [114.75, 117.3, 102.0]" in result.stdout
    converted = radio_model(str(dst), adaptor_names=['clip', 'sam'])
    with torch.no_grad():
        outputs = converted(reference['inputs']['rect'])
    for name, (summary, features) in reference['outputs']['rect'].items():
        assert_close(outputs[name].features, features)

    # A backbone in any mm config loads the converted file through init_cfg.
    from radio_mm.registry import MODELS
    cfg = torch.load(dst)['meta']['radio_model']['backbone']
    backbone = MODELS.build(dict(cfg, init_cfg=dict(type='Pretrained', checkpoint=str(dst))))
    backbone.init_weights()
    for key, value in converted.backbone.state_dict().items():
        assert torch.equal(backbone.state_dict()[key], value), key


def test_backbone_init_cfg_takes_official_files_and_rejects_mismatches(tmp_path):
    from radio_mm.formats.official_checkpoint import radio_model_cfg_from_checkpoint
    from radio_mm.registry import MODELS
    from radio_mm.utils.torch_files import load_torch_file
    checkpoint = load_torch_file(OFFICIAL)
    cfg = radio_model_cfg_from_checkpoint(checkpoint['args'], checkpoint['state_dict_ema'])
    backbone = MODELS.build(dict(cfg['backbone'], init_cfg=dict(type='Pretrained',
                                                                checkpoint=OFFICIAL)))
    backbone.init_weights()
    reference = radio_model(OFFICIAL).backbone
    assert torch.equal(backbone.patch_generator.pos_embed, reference.patch_generator.pos_embed)

    # Wrong token count: a clear error, not a silently half-loaded model.
    wrong = dict(cfg['backbone'], num_registers=3,
                 init_cfg=dict(type='Pretrained', checkpoint=OFFICIAL))
    with pytest.raises(ValueError, match='num_registers=5 in the checkpoint.*radio2mm.py'):
        MODELS.build(wrong).init_weights()


def test_eradio_release_layout_matches_official_outputs(tmp_path):
    """An E-RADIO `.pth.tar` in the release layout, built from the official fixture."""
    from argparse import Namespace
    fixture = torch.load(osp.join(DATA, 'eradio_official_tiny.pth'))
    state = {f'base_model.{k}': v for k, v in fixture['official_state_dict'].items()}
    state['input_conditioner.norm_mean'] = fixture['mean'].view(3, 1, 1)
    state['input_conditioner.norm_std'] = fixture['std'].view(3, 1, 1)
    args = Namespace(model='eradio', model_kwargs=dict(return_full_features=True),
                     teachers=[dict(name='clip'), dict(name='sam', use_summary=False)],
                     cls_token_per_teacher=False, cpe_max_size=None)
    path = tmp_path / 'eradio_tiny.pth.tar'
    torch.save(dict(args=args, state_dict=state), path)

    model = radio_model(str(path))
    assert type(model.backbone).__name__ == 'ERADIO' and model.min_resolution_step == 32
    case = next(c for c in fixture['cases'] if c['window_size'] is None)
    images = case['image'].float() / 255  # the fixture keeps 8-bit pixels
    with torch.no_grad():
        summary, features = model(images)
    assert_close(features, case['features'])
    assert_close(summary, case['summary'].flatten(1))


def test_public_attributes_are_the_official_models(tmp_path):
    """The official RADIOModel's attribute table (`radio/radio_model.py`, hubconf.py)."""
    from release_checkpoints import build_release
    release, _ = build_release('c-radio_v3-b')  # 3 teachers (sam without summary), 8 tokens
    path = tmp_path / 'v3.pth.tar'
    torch.save(release, path)
    model = radio_model(str(path), adaptor_names=['clip', 'sam'])
    expected = dict(patch_size=16, preferred_resolution=None, max_resolution=None,
                    window_size=None, min_resolution_step=16, num_summary_tokens=8,
                    num_cls_tokens=3, embed_dim=32, summary_dim=64)
    assert {name: getattr(model, name) for name in expected} == expected
    assert model.summary_idxs.dtype == torch.int64 and model.summary_idxs.tolist() == [0, 1]
    assert model.blocks is model.backbone.blocks and len(model.blocks) == 3
    assert model.inter_feature_normalizer is model.intermediate_normalizer is not None
    assert model.get_nearest_supported_resolution(100, 7) == (96, 16)

    windowed = radio_model(str(path), vitdet_window_size=2)
    assert (windowed.window_size, windowed.min_resolution_step) == (2, 32)
    assert windowed.get_nearest_supported_resolution(100, 50) == (96, 64)
    with pytest.raises(ValueError, match=r'multiple of `self.min_resolution_step=32`.*'
                                         r'Nearest: \(64, 64\)'):
        windowed(torch.rand(1, 3, 48, 64))
    padded = radio_model(str(path), vitdet_window_size=2, vitdet_padding=True)
    assert padded.min_resolution_step == 16
    with torch.no_grad():
        assert padded(torch.rand(1, 3, 48, 64)).features.shape == (1, 12, 32)


def test_release_name_gives_the_release_resolutions(monkeypatch, tmp_path):
    from radio_mm.formats import official_releases
    monkeypatch.setattr(official_releases, 'checkpoint_path', lambda name, progress: OFFICIAL)
    model = radio_model('radio_v2.5-g')
    assert (model.preferred_resolution, model.max_resolution) == ((896, 896), 1792)
    assert model.preferred_resolution.height == 896
