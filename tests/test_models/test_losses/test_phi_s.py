import pytest
import torch

from radio_mm.models.losses import PHISStandardizer, estimate_phi_s, hadamard_matrix


@pytest.mark.parametrize('dim', [4, 12, 20, 768, 1024, 1280, 1536])
def test_hadamard_is_orthonormal_with_equal_magnitudes(dim):
    h = hadamard_matrix(dim)
    assert torch.allclose(h @ h.T, torch.eye(dim, dtype=h.dtype), atol=1e-9)
    assert torch.allclose(h.abs(), torch.full_like(h, dim**-0.5))


def test_unsupported_width_is_reported():
    with pytest.raises(ValueError, match='no Hadamard construction for width 10'):
        hadamard_matrix(10)


def test_phi_s_gives_unit_variance_in_every_channel():
    torch.manual_seed(0)
    scales = torch.tensor([8.0, 1.0, 0.2, 3.0] * 3)
    x = torch.randn(20000, 12) @ torch.randn(12, 12) * scales + 5
    mean, transform = estimate_phi_s(x)
    y = (x - mean) @ transform.T
    assert torch.allclose(y.mean(0), torch.zeros(12), atol=1e-3)
    assert torch.allclose(y.var(0), torch.ones(12), atol=1e-3)


def test_standardizer_from_file_and_running(tmp_path):
    torch.manual_seed(0)
    feats = torch.randn(4, 12, 8, 8) * 3 + 1
    mean, transform = estimate_phi_s(feats.permute(0, 2, 3, 1).reshape(-1, 12))
    torch.save(dict(mean=mean, transform=transform), tmp_path / 'phis.pth')
    fixed = PHISStandardizer(12, stats_file=str(tmp_path / 'phis.pth'))
    out = fixed(feats)
    assert out.shape == feats.shape
    assert torch.allclose(out.var(dim=(0, 2, 3)), torch.ones(12), atol=0.05)

    running = PHISStandardizer(12, momentum=1.0).train()
    assert torch.allclose(running(feats), out, atol=1e-3)
    with pytest.raises(ValueError, match='width 12, this teacher has 16'):
        PHISStandardizer(16, stats_file=str(tmp_path / 'phis.pth'))
    with pytest.raises(ValueError, match='stats_file= .* or momentum='):
        PHISStandardizer(12)
