import subprocess

import torch

from radio_mm.models.losses import PHISStandardizer


def test_estimates_stats_that_standardize_the_teacher(tmp_path, python, repo_root):
    out = tmp_path / 'phi_s'
    result = subprocess.run(
        [python, 'tools/analysis_tools/estimate_phi_s.py', 'configs/distill/radio_demo.py',
         '--out-dir', str(out), '--teachers', 'sam', '--num-batches', '3',
         '--tokens-per-image', '128', '--device', 'cpu'],
        cwd=repo_root, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    stats = torch.load(out / 'sam.pth', weights_only=True)
    assert stats['transform'].shape == (256, 256) and stats['num_tokens'] == 3 * 8 * 128
    assert not (out / 'clip.pth').exists()
    # The saved file plugs into the distiller's standardizer.
    standardizer = PHISStandardizer(256, stats_file=str(out / 'sam.pth'))
    assert torch.equal(standardizer.transform, stats['transform'])
