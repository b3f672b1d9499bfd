"""Code written for ``torch.hub.load('NVlabs/RADIO', 'radio_model', ...)`` runs on radio_mm.

The tables hold the official entry point's arguments and the public attributes and call
forms of the model it returns (NVlabs/RADIO `hubconf.py::radio_model` and
`radio/radio_model.py::RADIOModel`, commit c0f3701); each row is checked against radio_mm.
"""
import inspect
import os.path as osp

import pytest
import torch

from radio_mm.apis import radio_model
from radio_mm.formats import official_releases
from radio_mm.formats.radio_checkpoint import RADIOCheckpoint

OFFICIAL = osp.join(osp.dirname(osp.dirname(__file__)), 'data', 'radio_official_tiny.pth.tar')
# hubconf.radio_model(version="", progress=True, adaptor_names=None, neck_name=None,
#                     vitdet_window_size=None, return_checkpoint=False, **kwargs)
HUB_ARGUMENTS = ['version', 'progress', 'adaptor_names', 'neck_name', 'vitdet_window_size',
                 'return_checkpoint']
# radio/common.py DEFAULT_VERSION
HUB_DEFAULT_VERSION = 'c-radio_v4-h'
# RADIOModel.forward_intermediates keyword arguments, in order.
HUB_INTERMEDIATE_ARGUMENTS = ['x', 'indices', 'return_prefix_tokens', 'norm', 'stop_early',
                              'output_fmt', 'intermediates_only', 'aggregation',
                              'norm_alpha_scheme']


@pytest.fixture(scope='module')
def model():
    return radio_model(OFFICIAL, adaptor_names=['clip', 'sam'])


def test_entry_point_takes_the_hub_arguments_in_the_hub_order():
    parameters = inspect.signature(radio_model).parameters
    positional = [name for name, p in parameters.items()
                  if p.kind == inspect.Parameter.POSITIONAL_OR_KEYWORD]
    assert positional == HUB_ARGUMENTS
    assert parameters['version'].default == ''
    assert parameters['progress'].default is True
    assert official_releases.DEFAULT_RELEASE == HUB_DEFAULT_VERSION
    # radio_mm's own options are keyword-only.
    assert {name for name, p in parameters.items()
            if p.kind == inspect.Parameter.KEYWORD_ONLY} == {'weights_only', 'use_ema', 'deploy',
                                                      'dtype', 'vitdet_padding'}


def test_hub_call_forms(tmp_path):
    x = torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        # radio_model(name, False): progress=False, not "adaptor_names=False".
        plain = radio_model(OFFICIAL, False)
        assert not plain.adaptors
        assert plain(x).summary.shape == (1, 2 * 32)
        by_keyword = radio_model(version=OFFICIAL, progress=False, adaptor_names=['clip'],
                                 vitdet_window_size=2)
        assert set(by_keyword(x)) == {'backbone', 'clip'}
        assert by_keyword.backbone.window_size == 2
        assert set(radio_model(OFFICIAL, True, 'sam')(x)) == {'backbone', 'sam'}
    model, checkpoint = radio_model(OFFICIAL, return_checkpoint=True)
    assert isinstance(checkpoint, RADIOCheckpoint) and checkpoint.kind == 'release'
    with pytest.raises(TypeError, match='adaptor names go by keyword'):
        radio_model(OFFICIAL, ['clip'])  # radio_mm's old positional order
    with pytest.raises(ValueError, match='neck_name'):
        radio_model(OFFICIAL, neck_name='dino')
    with pytest.raises(TypeError):  # the hub swallows unknown kwargs; radio_mm refuses them
        radio_model(OFFICIAL, adaptor_name='clip')


def test_default_version_is_the_official_default(monkeypatch):
    asked = []

    def checkpoint_path(version, progress):
        asked.append((version, progress))
        return OFFICIAL

    monkeypatch.setattr(official_releases, 'checkpoint_path', checkpoint_path)
    radio_model()
    radio_model(progress=False)
    assert asked == [(HUB_DEFAULT_VERSION, True), (HUB_DEFAULT_VERSION, False)]


MODEL_ATTRIBUTES = [
    ('patch_size', lambda m: m.patch_size == 16),
    ('min_resolution_step', lambda m: m.min_resolution_step == 16),
    ('embed_dim', lambda m: m.embed_dim == 32),
    ('input_conditioner', lambda m: isinstance(m.input_conditioner, torch.nn.Module)),
    ('adaptors', lambda m: isinstance(m.adaptors, torch.nn.ModuleDict)
     and set(m.adaptors) == {'clip', 'sam'}),
    ('feature_normalizer', lambda m: isinstance(m.feature_normalizer, torch.nn.Module)),
    ('get_nearest_supported_resolution',
     lambda m: tuple(m.get_nearest_supported_resolution(230, 250)) == (224, 256)),
    ('switch_to_deploy', lambda m: callable(m.switch_to_deploy)),
    ('forward_intermediates', lambda m: list(inspect.signature(
        m.forward_intermediates).parameters) == HUB_INTERMEDIATE_ARGUMENTS),
    ('forward', lambda m: list(inspect.signature(m.forward).parameters)[:2] == [
        'x', 'feature_fmt']),
    # A file, not a release name: hubconf passes no resolutions for it.
    ('preferred_resolution', lambda m: m.preferred_resolution is None),
    ('max_resolution', lambda m: m.max_resolution is None),
    ('window_size', lambda m: m.window_size is None),
    ('num_summary_tokens', lambda m: m.num_summary_tokens == 8),
    ('num_cls_tokens', lambda m: m.num_cls_tokens == 3),
    ('summary_dim', lambda m: m.summary_dim == 2 * 32),
    ('blocks', lambda m: len(m.blocks) == 8),
    ('inter_feature_normalizer', lambda m: hasattr(m, 'inter_feature_normalizer')),
    ('summary_idxs', lambda m: torch.is_tensor(m.summary_idxs)),
    ('Resolution fields', lambda m: m.get_nearest_supported_resolution(230, 250).height == 224),
]


@pytest.mark.parametrize('name,check', MODEL_ATTRIBUTES)
def test_model_attribute(model, name, check):
    assert check(model), name


def test_forward_forms_and_preprocessor(model):
    x = torch.rand(2, 3, 64, 96)
    model = radio_model(OFFICIAL, adaptor_names=['clip', 'sam'])
    with torch.no_grad():
        outputs = model(x)
        nchw = model(x, feature_fmt='NCHW')
        conditioner = model.make_preprocessor_external()
        external = model(conditioner(x))
    assert set(outputs) == {'backbone', 'clip', 'sam'}
    summary, features = outputs['backbone']  # a RadioOutput unpacks as on the hub
    assert features.shape == (2, 4 * 6, 32)
    assert nchw['backbone'].features.shape == (2, 32, 4, 6)
    assert torch.equal(nchw['backbone'].summary, summary)
    assert torch.allclose(external['clip'].features, outputs['clip'].features)
    with pytest.raises(ValueError, match='feature_fmt'):
        model(x, feature_fmt='NHWC')


@pytest.mark.parametrize('size,nearest', [((60, 96), '64x96'), ((64, 90), '64x96'),
                                          ((5, 5), '16x16')])
def test_sizes_off_the_step_name_the_nearest_supported_size(model, size, nearest):
    with pytest.raises(ValueError, match=rf'multiples of 16 \(min_resolution_step\).*{nearest}'):
        model(torch.rand(1, 3, *size))
    with pytest.raises(ValueError, match=rf'nearest supported resolution is {nearest}'):
        model.forward_intermediates(torch.rand(1, 3, *size), indices=1)
