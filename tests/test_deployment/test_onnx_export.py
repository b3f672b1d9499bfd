"""ONNX export with dynamic sizes, checked against PyTorch by onnxruntime at several sizes."""
import runpy
import sys

import onnx
import pytest
import torch
from tiny_models import tiny_eradio, tiny_radio_model, tiny_vit

from radio_mm.apis import radio_model
from radio_mm.deployment import check_onnx, export_onnx, export_size_multiple
from radio_mm.registry import MODELS

TINY_VIT = tiny_vit(num_layers=3, cpe_max_size=256, num_summary_tokens=2, register_multiple=4)
# Attention windows of 2 tokens, subsampled 2x at stride 16: they tile 64 px multiples; other
# multiples of 32 px are resized inside the graph.
TINY_ERADIO = tiny_eradio()


def export_and_check(model, path, export_hw, other_hw):
    info = export_onnx(model, str(path), export_hw)
    rows = check_onnx(model, str(path), [export_hw, other_hw])  # raises above 1e-4
    assert {(r['height'], r['width']) for r in rows} == {export_hw, other_hw}
    return info, {(r['output'], r['height'], r['width']): r for r in rows}


def test_radio_vit_with_cpe_and_windows(tmp_path):
    torch.manual_seed(0)
    vit = MODELS.build(TINY_VIT)
    info, rows = export_and_check(vit, tmp_path / 'vit.onnx', (64, 64), (96, 128))
    assert info['exporter'] == 'dynamo' and info['size_multiple'] == 16
    # Non-square second size: the CPE grid resize must follow both sides.
    assert rows[('features', 96, 128)]['shape'] == [2, 32, 6, 8]
    assert rows[('summary', 96, 128)]['shape'] == [2, 2, 32]
    windowed = MODELS.build(dict(TINY_VIT, window_size=2, global_blocks=(2, )))
    # 5x3 patches at 80x48 px: the 2-patch windows overhang, the padding stays symbolic.
    info, rows = export_and_check(windowed, tmp_path / 'vitdet.onnx', (64, 64), (80, 48))
    assert info['size_multiple'] == 16
    assert rows[('features', 80, 48)]['shape'] == [2, 32, 5, 3]


def test_eradio_deployed_with_dynamic_height_and_width(tmp_path):
    torch.manual_seed(0)
    eradio = MODELS.build(TINY_ERADIO)
    randomize_batch_norms(eradio)
    assert export_size_multiple(eradio) == 32
    path = tmp_path / 'eradio.onnx'
    info = export_onnx(eradio, str(path), (128, 128))
    assert info['exporter'] == 'torchscript' and not eradio.deployed  # a deployed copy
    # 96 x 160 and 160 x 96: maps the windows do not tile (resized inside the graph).
    rows = check_onnx(eradio, str(path), [(128, 128), (96, 160), (160, 96)])
    shapes = {(r['output'], r['height'], r['width']): r['shape'] for r in rows}
    assert shapes[('features', 96, 160)] == [2, 32, 6, 10]
    assert shapes[('features', 160, 96)] == [2, 32, 10, 6]
    graph = onnx.load(path)
    assert not any(n.op_type == 'BatchNormalization' for n in graph.graph.node)  # folded
    metadata = {p.key: p.value for p in graph.metadata_props}
    assert metadata['radio_mm.size_multiple'] == '32'
    with pytest.raises(ValueError, match='multiples of 32'):
        check_onnx(eradio, str(path), [(80, 96)])


def randomize_batch_norms(model):
    """Non-trivial running statistics, so that folding them is tested."""
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-1, 1)
            module.running_var.uniform_(0.5, 2)


@pytest.mark.parametrize('config, size', [(TINY_VIT, (16, 64)), (TINY_ERADIO, (64, 32))])
def test_one_step_export_size_is_refused_before_writing(tmp_path, config, size):
    path = tmp_path / 'model.onnx'
    with pytest.raises(ValueError, match='two .* steps per side'):
        export_onnx(MODELS.build(config), str(path), size)
    assert not path.exists()


def test_export_tool_validates_check_sizes_before_writing(tmp_path, repo_root, monkeypatch,
                                                          capsys):
    out = tmp_path / 'sub' / 'vit.onnx'
    monkeypatch.setattr(sys, 'argv', [
        'export_onnx.py', repr(TINY_VIT), '--size', '64', '64', '--check-size', '100', '64',
        '--out', str(out)])
    with pytest.raises(SystemExit, match=r'--check-size.*\(100, 64\).*multiples of 16 px.*'
                       r'\(96, 64\)'):
        runpy.run_path(f'{repo_root}/tools/deployment/export_onnx.py', run_name='__main__')
    assert not out.parent.exists()


def test_radio_model_with_adaptors(tmp_path, repo_root):
    model = radio_model(f'{repo_root}/tests/data/radio_official_tiny.pth.tar',
                        adaptor_names=['clip', 'sam'])
    path = tmp_path / 'radio.onnx'
    info, rows = export_and_check(model, path, (64, 96), (112, 80))
    assert info['output_names'] == ['summary', 'features', 'clip.summary', 'clip.features',
                                    'sam.summary', 'sam.features']
    assert rows[('sam.features', 112, 80)]['shape'] == [2, 20, 14, 10]  # 2x upsampled head
    # The check is not vacuous: other weights fail it.
    with torch.no_grad():
        model.adaptors['clip'].feature_mlp.fc1.weight.mul_(1.01)
    with pytest.raises(RuntimeError, match='clip.features at .* relative error'):
        check_onnx(model, str(path), [(64, 96)])


def test_radio_model_with_feature_normalizer_matches_model_call(tmp_path):
    """The ONNX graph and ``check_onnx`` follow ``model(x)``, feature whitening included."""
    import onnxruntime as ort
    torch.manual_seed(0)
    model = MODELS.build(tiny_radio_model(
        TINY_VIT, feature_normalizer=True,
        adaptors=dict(clip=dict(in_dims=32, feature_dims=24, summary_dims=16,
                                hidden_dims=32)))).eval()
    randomize_feature_normalizer(model)
    path = tmp_path / 'radio.onnx'
    export_onnx(model, str(path), (64, 64))
    images = torch.rand(2, 3, 64, 96)
    with torch.no_grad():
        expected = model(images, feature_fmt='NCHW')
    session = ort.InferenceSession(str(path), providers=['CPUExecutionProvider'])
    got = dict(zip([o.name for o in session.get_outputs()],
                   session.run(None, {'images': images.numpy()})))
    for name, ref in [('features', expected['backbone'].features),
                      ('clip.features', expected['clip'].features),
                      ('clip.summary', expected['clip'].summary)]:
        torch.testing.assert_close(torch.from_numpy(got[name]), ref, rtol=1e-4, atol=1e-4)
    check_onnx(model, str(path), [(64, 96)])
    # check_onnx compares with model(x): the whitening missing on one side fails it.
    model.feature_normalizer.tx.copy_(torch.eye(32))
    model.feature_normalizer.mean.zero_()
    with pytest.raises(RuntimeError, match='features at .* relative error'):
        check_onnx(model, str(path), [(64, 96)])


def randomize_feature_normalizer(model):
    """A non-identity whitening, as releases carry (``_feature_normalizer.{mean,tx}``)."""
    generator = torch.Generator().manual_seed(1)
    normalizer = model.feature_normalizer
    normalizer.mean.copy_(torch.randn(normalizer.mean.shape, generator=generator))
    normalizer.tx.copy_(torch.randn(normalizer.tx.shape, generator=generator))
