"""Whitening of the student's features that some releases carry (RADIOv2.5, C-RADIO).

The released models store a fitted affine map of the final spatial features
(``_feature_normalizer.{mean,tx}``) and one per block for intermediate features
(``_intermediate_feature_normalizer.{alphas,rotation,means}``); NVlabs/RADIO
`radio/feature_normalizer.py` applies them as ``(x - mean) @ tx.T`` and scales intermediates by
a per-block ``alpha``. Without them a release's features are in a different basis than the one
its users expect, so these buffers are part of the model, not optional extras.
"""
import torch
from torch import nn


def whiten(x, mean, tx):
    """``(x - mean) @ tx.T`` over the channel axis of (B, N, C) tokens or (B, C, H, W) maps."""
    if x.dim() == 4:
        return torch.einsum('bchw,dc->bdhw', x - mean.view(1, -1, 1, 1), tx)
    return (x - mean) @ tx.T


class FeatureNormalizer(nn.Module):
    """Final-feature whitening: buffers ``mean`` (C, ) and ``tx`` (C, C), identity at init."""

    def __init__(self, embed_dims):
        super().__init__()
        self.register_buffer('mean', torch.zeros(embed_dims))
        self.register_buffer('tx', torch.eye(embed_dims))

    def forward(self, x):
        return whiten(x, self.mean, self.tx)


class IntermediateFeatureNormalizer(nn.Module):
    """Per-block whitening of intermediate tokens.

    Buffers: ``alphas`` (L, ) scales, ``means`` (L, C), ``rotation`` (C, C) shared or
    (L, C, C) per block (``rot_per_layer``).
    """

    def __init__(self, num_layers, embed_dims, rot_per_layer=False):
        super().__init__()
        self.register_buffer('alphas', torch.ones(num_layers))
        rotation = torch.eye(embed_dims)
        if rot_per_layer:
            rotation = rotation.repeat(num_layers, 1, 1)
        self.register_buffer('rotation', rotation)
        self.register_buffer('means', torch.zeros(num_layers, embed_dims))

    def forward(self, tokens, index, rot_index=None, num_prefix=0):
        """Whiten the patch tokens of block ``index`` (prefix tokens pass unchanged).

        Args:
            tokens (Tensor): (B, num_prefix + N, C) output of block ``index``.
            rot_index (int): block whose rotation to use (default ``index``); dense
                aggregation rotates a whole group with its last block's.
        Returns:
            (whitened tokens (B, num_prefix + N, C), alpha (1, num_prefix + N, 1)) where
            alpha is 1 on prefix tokens and ``alphas[index]`` on patches.
        """
        rot_index = index if rot_index is None else rot_index
        rotation = self.rotation if self.rotation.dim() == 2 else self.rotation[rot_index]
        prefix, patches = tokens[:, :num_prefix], tokens[:, num_prefix:]
        whitened = torch.cat([prefix, whiten(patches, self.means[index], rotation)], dim=1)
        alpha = torch.cat([self.alphas.new_ones(num_prefix),
                           self.alphas[index].expand(patches.shape[1])]).view(1, -1, 1)
        return whitened, alpha
