"""ONNX export with dynamic sizes, checked against PyTorch by onnxruntime at two sizes."""
import onnx
import pytest
import torch

from radio_mm.apis import radio_model
from radio_mm.deployment import check_onnx, export_onnx, export_size_multiple
from radio_mm.registry import MODELS

TINY_VIT = dict(type='RADIOViT', arch=dict(embed_dims=32, num_layers=3, num_heads=2),
                cpe_max_size=256, num_summary_tokens=2, register_multiple=4)
# Attention windows of 2 tokens, subsampled 2x at stride 16: they tile 64 px multiples.
TINY_ERADIO = dict(type='ERADIO', arch=dict(
    stem_channels=8, base_channels=8, depths=(1, 1, 1, 1), num_heads=(1, 1, 2, 2),
    window_sizes=(None, None, 2, 2), sr_ratios=(1, 1, (2, 1), 1), neck_channels=32))


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


def test_eradio(tmp_path):
    torch.manual_seed(0)
    eradio = MODELS.build(TINY_ERADIO)
    assert export_size_multiple(eradio) == 64
    info, rows = export_and_check(eradio, tmp_path / 'eradio.onnx', (128, 128), (64, 192))
    assert info['exporter'] == 'torchscript'
    assert rows[('features', 64, 192)]['shape'] == [2, 32, 4, 12]
    metadata = {p.key: p.value for p in onnx.load(tmp_path / 'eradio.onnx').metadata_props}
    assert metadata['radio_mm.size_multiple'] == '64'
    with pytest.raises(ValueError, match='not multiples of 64'):
        check_onnx(eradio, str(tmp_path / 'eradio.onnx'), [(96, 96)])


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
