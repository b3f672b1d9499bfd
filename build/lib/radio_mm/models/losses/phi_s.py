"""PHI-S: PCA-Hadamard Isotropic Standardization of teacher features.

Ranzinger et al., "PHI-S: Distribution Balancing for Label-Free Multi-Teacher Distillation"
(2024), sec. 3: rotate centred features into their PCA basis, then by a normalized Hadamard
matrix H, whose +-1/sqrt(d) rows spread the variance equally over every dimension, and divide
by one scalar: x' = (H U^T (x - mu)) / sqrt(mean(eigenvalues)). Every teacher's targets then
have unit variance per channel, so no teacher dominates an MSE loss.
"""
import math

import torch
from scipy.linalg import hadamard as sylvester_hadamard
from torch import nn

from radio_mm.registry import MODELS
from radio_mm.utils.torch_files import load_torch_file


def _is_prime(n):
    return n >= 2 and all(n % d for d in range(2, math.isqrt(n) + 1))


def _paley_hadamard(q):
    """Paley construction I, size q + 1, for a prime q = 3 (mod 4)."""
    residues = {(i * i) % q for i in range(1, q)}
    chi = torch.tensor([0] + [1 if i in residues else -1 for i in range(1, q)],
                       dtype=torch.float64)
    jacobsthal = chi[(torch.arange(q)[None] - torch.arange(q)[:, None]) % q]
    s = torch.zeros(q + 1, q + 1, dtype=torch.float64)
    s[0, 1:] = 1
    s[1:, 0] = -1
    s[1:, 1:] = jacobsthal
    return torch.eye(q + 1, dtype=torch.float64) + s


def hadamard_matrix(dim):
    """Orthonormal (dim, dim) Hadamard matrix (rows scaled to unit norm).

    Sylvester sizes (powers of two) times a Paley-I size (prime + 1) cover the widths of
    common teachers (768 = 64 * 12, 1024, 1280 = 64 * 20, 1536 = 128 * 12). Other widths
    raise: an approximate rotation would break PHI-S's equal-variance guarantee.
    """
    pow2 = dim & -dim
    for sylvester in (pow2 >> i for i in range(pow2.bit_length())):
        rest = dim // sylvester
        if rest == 1:
            h = torch.from_numpy(sylvester_hadamard(sylvester)).double()
        elif rest % 4 == 0 and _is_prime(rest - 1) and (rest - 1) % 4 == 3:
            h = torch.kron(torch.from_numpy(sylvester_hadamard(sylvester)).double(),
                           _paley_hadamard(rest - 1))
        else:
            continue
        return h / math.sqrt(dim)
    raise ValueError(f'no Hadamard construction for width {dim} (need 2^k or 2^k * (p + 1) '
                     'with a prime p = 3 mod 4); use the cosine feature loss for this teacher')


def estimate_phi_s(features):
    """(N, C) features -> (mean (C,), transform (C, C)) such that
    ``(x - mean) @ transform.T`` has identity-scaled covariance diagonal."""
    features = features.double()
    mean = features.mean(0)
    cov = torch.cov((features - mean).T)
    eigvals, eigvecs = torch.linalg.eigh(cov)
    scale = eigvals.clamp(min=0).mean().sqrt().clamp(min=1e-12)
    transform = hadamard_matrix(features.shape[1]) @ eigvecs.T / scale
    return mean.float(), transform.float()


@MODELS.register_module()
class PHISStandardizer(nn.Module):
    """Standardizes (B, C, h, w) teacher features with PHI-S statistics.

    Statistics come from ``tools/analysis_tools/estimate_phi_s.py`` (``stats_file``, a
    ``.pth`` with ``mean`` and ``transform``), or, with ``momentum``, from a running
    estimate of the mean and covariance updated on every training batch, or
    (``from_checkpoint=True``) from the student checkpoint loaded into the model: a student
    whose adaptor learned PHI-S targets keeps them to map its outputs back
    (:meth:`unstandardize`).
    """

    def __init__(self, dims, stats_file=None, momentum=None, from_checkpoint=False):
        super().__init__()
        self.momentum = momentum
        self.register_buffer('mean', torch.zeros(dims))
        self.register_buffer('transform', torch.eye(dims))
        self.register_buffer('running_cov', torch.eye(dims, dtype=torch.float64))
        self.register_buffer('running_mean', torch.zeros(dims, dtype=torch.float64))
        if stats_file is not None:
            stats = load_torch_file(stats_file)
            if stats['transform'].shape != (dims, dims):
                raise ValueError(f'{stats_file!r} holds PHI-S statistics for width '
                                 f"{stats['transform'].shape[0]}, this teacher has {dims}")
            self.mean.copy_(stats['mean'])
            self.transform.copy_(stats['transform'])
        elif momentum is None and not from_checkpoint:
            raise ValueError('PHISStandardizer needs stats_file= (estimated offline) or '
                             'momentum= (running estimate)')

    @torch.no_grad()
    def update(self, features):
        """Fold a batch (B, C, h, w) into the running statistics and refresh the transform."""
        tokens = features.permute(0, 2, 3, 1).flatten(0, 2).double()
        m = self.momentum
        mean = tokens.mean(0)
        cov = torch.cov((tokens - mean).T) if tokens.shape[0] > 1 else self.running_cov
        self.running_mean.mul_(1 - m).add_(m * mean)
        self.running_cov.mul_(1 - m).add_(m * cov)
        eigvals, eigvecs = torch.linalg.eigh(self.running_cov)
        scale = eigvals.clamp(min=0).mean().sqrt().clamp(min=1e-12)
        self.mean.copy_(self.running_mean)
        self.transform.copy_(hadamard_matrix(len(eigvals)) @ eigvecs.T / scale)

    def forward(self, features):
        if self.training and self.momentum is not None:
            self.update(features)
        centred = features - self.mean.view(1, -1, 1, 1)
        return torch.einsum('dc,bchw->bdhw', self.transform, centred)

    def inverse_matrix(self, dtype=torch.float32):
        """M with ``unstandardize(y) = y @ M + mean`` for row vectors y.

        A PHI-S transform is an orthogonal matrix over one scale (H U^T / s), so its inverse
        is s^2 transform^T, with s^2 = C / |transform|_F^2: a matmul, which ONNX export and
        torch.compile keep (and which mm2radio folds into a Linear).
        """
        transform = self.transform.to(dtype)
        return transform * (transform.shape[0] / transform.square().sum())

    def unstandardize(self, tokens):
        """(..., C) standardized tokens -> teacher space, ``transform^-1 y + mean``
        (:meth:`inverse_matrix`). Float32 whatever the input."""
        return tokens.float() @ self.inverse_matrix() + self.mean.float()
