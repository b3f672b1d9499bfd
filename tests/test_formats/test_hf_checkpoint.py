"""Hugging Face both ways, against the real ``transformers`` package (native RadioModel).

Export: tools/model_converters/radio2hf.py writes a directory ``transformers.AutoModel``
loads without remote code, with radio_mm's backbone outputs, for a release file, a radio2mm
conversion and a distillation run. Import: ``radio_model(dir)`` reads native directories and
the trust_remote_code layout of NVIDIA's repos (NVlabs/RADIO `hf_hub.py`: ``args`` in
config.json, the hub model's keys under ``radio_model.``) with the release's outputs.
"""
import json
import os.path as osp
import sys

import pytest
import torch
from script_loader import load_script

from radio_mm.apis import radio_model
from radio_mm.formats.hf_checkpoint import (
    EXTRAS_FILE,
    hf_export,
    read_hf_checkpoint,
    save_hf_directory,
)
from radio_mm.formats.official_checkpoint import release_weights
from radio_mm.formats.radio_checkpoint import RADIOCheckpoint, read_radio_checkpoint
from radio_mm.registry import MODELS
from radio_mm.utils.torch_files import load_torch_file

transformers = pytest.importorskip('transformers', minversion='5.0')

REPO = osp.dirname(osp.dirname(osp.dirname(__file__)))
OFFICIAL = osp.join(REPO, 'tests', 'data', 'radio_official_tiny.pth.tar')
# A student with LayerScale and an explicit summary subset, as a distillation run saves it.
STUDENT = dict(type='RADIOModel', summary_idxs=[0, 2], backbone=dict(
    type='RADIOViT', arch=dict(embed_dims=32, num_layers=2, num_heads=2), cpe_max_size=128,
    num_summary_tokens=3, register_multiple=4, init_values=0.1), adaptors=dict(
    clip=dict(in_dims=32, feature_dims=24, summary_dims=16, hidden_dims=32, summary_slot=0)))


def native_outputs(directory, x):
    model = transformers.AutoModel.from_pretrained(directory).eval()
    assert type(model).__name__ == 'RadioModel'  # the native class, not remote code
    with torch.no_grad():
        out = model(x)
    return out.summary, out.features


def backbone_outputs(model, x):
    with torch.no_grad():
        out = model(x)
    out = out['backbone'] if isinstance(out, dict) else out
    return out.summary, out.features


def assert_close(ours, theirs):
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape
        assert (a - b).abs().max().item() <= 1e-5


@pytest.fixture(scope='module')
def distillation_run(tmp_path_factory):
    torch.manual_seed(0)
    student = MODELS.build(STUDENT)
    with torch.no_grad():  # LayerScale away from its init, so a lost gamma shows
        for name, param in student.named_parameters():
            if name.endswith('.gamma'):
                param.uniform_(0.5, 1.5)
    path = tmp_path_factory.mktemp('run') / 'iter_10.pth'
    torch.save(dict(meta=dict(radio_model=STUDENT), state_dict={
        f'student.{k}': v for k, v in student.state_dict().items()}), path)
    return str(path)


def sources(distillation_run, tmp_path):
    converted = tmp_path / 'converted.pth'
    torch.save(read_radio_checkpoint(OFFICIAL).to_checkpoint(), converted)
    return dict(release=OFFICIAL, converted=str(converted), distillation=distillation_run)


@pytest.mark.parametrize('kind', ['release', 'converted', 'distillation'])
def test_export_loads_natively_with_our_backbone_outputs(kind, distillation_run, tmp_path,
                                                        monkeypatch):
    src = sources(distillation_run, tmp_path)[kind]
    out = tmp_path / 'hf'
    tool = load_script('tools/model_converters/radio2hf.py')
    monkeypatch.setattr(sys, 'argv', ['radio2hf.py', src, str(out)])
    tool.main()
    x = torch.rand(2, 3, 64, 96)
    ours = radio_model(src)
    assert_close(native_outputs(out, x), backbone_outputs(ours, x))
    # Adaptors ride beside the native weights and come back with radio_model(dir).
    assert (out / EXTRAS_FILE).is_file()
    names = ['clip']
    back, expected = radio_model(str(out), adaptor_names=names), radio_model(
        src, adaptor_names=names)
    with torch.no_grad():
        got, want = back(x), expected(x)
    for name in ['backbone', *names]:
        assert torch.equal(got[name].features, want[name].features)
        assert torch.equal(got[name].summary, want[name].summary)


def test_layer_scale_and_summary_subset_reach_the_native_config(distillation_run):
    config, weights, extras = hf_export(read_radio_checkpoint(distillation_run))
    assert config['summary_idxs'] == [0, 2]
    assert (config['num_cls_tokens'], config['num_registers']) == (3, 1)
    assert not torch.all(weights['encoder.layer.0.layer_scale1.lambda1'] == 1)
    assert set(k.split('.')[0] for k in extras) == {'adaptors'}


def test_native_directory_made_by_transformers_loads(tmp_path):
    """A RadioModel saved by transformers itself (no radio_mm config inside)."""
    torch.manual_seed(0)
    config = transformers.RadioConfig(hidden_size=32, num_hidden_layers=2,
                                      num_attention_heads=2, max_img_size=128, num_cls_tokens=2,
                                      num_registers=2, summary_idxs=[1])
    hf = transformers.RadioModel(config).eval()
    with torch.no_grad():
        for layer in hf.encoder.layer:
            layer.layer_scale1.lambda1.uniform_(0.5, 1.5)
    hf.save_pretrained(tmp_path)
    ours = radio_model(str(tmp_path))
    x = torch.rand(2, 3, 48, 80)
    with torch.no_grad():
        theirs = hf(x)
    assert_close(backbone_outputs(ours, x), (theirs.summary, theirs.features))


def remote_code_directory(path, adaptor_names):
    """NVlabs/RADIO hf_hub.py's output for the tiny release: RADIOConfig + the weights of
    ``hf_model.RADIOModel`` (``radio_model.`` + the hub RADIOModel's state dict)."""
    release = load_torch_file(OFFICIAL)
    args = dict(vars(release['args']))
    args['dtype'] = str(args.get('dtype', torch.float32)).split('.')[-1]
    weights = {}
    for key, value in release_weights(release).items():
        for ours, theirs in (('base_model.', 'radio_model.model.'),
                             ('input_conditioner.', 'radio_model.input_conditioner.')):
            if key.startswith(ours):
                weights[theirs + key[len(ours):]] = value
    slots = {t['name']: i for i, t in reversed(list(enumerate(args['teachers'])))}
    for name in adaptor_names:
        for kind, mlp in (('_heads', 'head_mlp'), ('_feature_projections', 'feat_mlp')):
            for key, value in release_weights(release).items():
                for prefix in (f'{kind}.{slots[name]}.', f'{kind}.{name}.'):
                    if key.startswith(prefix):
                        weights[f'radio_model.adaptors.{name}.{mlp}.{key[len(prefix):]}'] = value
    weights['radio_model.summary_idxs'] = torch.tensor(
        [i for i, t in enumerate(args['teachers']) if t.get('use_summary', True)])
    path.mkdir()
    with open(path / 'config.json', 'w') as f:
        json.dump(dict(args=args, version='radio_v2.5-b', adaptor_names=adaptor_names,
                       architectures=['RADIOModel'], auto_map={
                           'AutoConfig': 'hf_model.RADIOConfig',
                           'AutoModel': 'hf_model.RADIOModel'}), f, default=str)
    from safetensors.torch import save_file
    save_file({k: v.contiguous() for k, v in weights.items()}, path / 'model.safetensors')
    return path


def test_remote_code_layout_gives_the_release_outputs(tmp_path):
    directory = remote_code_directory(tmp_path / 'remote', ['clip', 'sam'])
    x = torch.rand(2, 3, 64, 96)
    ours = radio_model(str(directory), adaptor_names=['clip', 'sam'])
    release = radio_model(OFFICIAL, adaptor_names=['clip', 'sam'])
    with torch.no_grad():
        got, want = ours(x), release(x)
    for name in ('backbone', 'clip', 'sam'):
        assert torch.equal(got[name].summary, want[name].summary)
        assert torch.equal(got[name].features, want[name].features)
    assert read_hf_checkpoint(str(directory)).kind == 'huggingface'


def test_no_pickle_and_clear_refusals(tmp_path, monkeypatch):
    save_hf_directory(read_radio_checkpoint(OFFICIAL), tmp_path / 'hf')
    # Reading never unpickles: torch.load is not called at all.
    monkeypatch.setattr(torch, 'load', lambda *a, **k: pytest.fail('torch.load used'))
    radio_model(str(tmp_path / 'hf'))
    monkeypatch.undo()
    eradio = RADIOCheckpoint('converted', dict(type='RADIOModel', backbone=dict(
        type='ERADIO')), {}, False, 'eradio.pth')
    with pytest.raises(ValueError, match='a ERADIO student.*mm2radio.py'):
        hf_export(eradio)
    normed = read_radio_checkpoint(OFFICIAL)
    normed.model_cfg = dict(normed.model_cfg, feature_normalizer=True)
    with pytest.raises(ValueError, match='final-feature normalizer'):
        hf_export(normed)
    (tmp_path / 'bin').mkdir()
    (tmp_path / 'bin' / 'config.json').write_text(json.dumps(dict(model_type='radio')))
    with pytest.raises(FileNotFoundError, match='safetensors only'):
        radio_model(str(tmp_path / 'bin'))
    (tmp_path / 'bert').mkdir()
    (tmp_path / 'bert' / 'config.json').write_text(json.dumps(dict(model_type='bert')))
    with pytest.raises(ValueError, match="model_type='bert'"):
        read_hf_checkpoint(str(tmp_path / 'bert'))
