"""Patch embedding with the cropped position embedding (CPE) and summary/register tokens.

AM-RADIO (Ranzinger et al., CVPR 2024, sec. 4.2 "CPE") keeps one position-embedding grid for
the largest resolution and, during training, samples a random crop of it per image, so that
the student never sees a fixed grid and works at any resolution. Module and parameter names
follow NVlabs/RADIO `radio/vit_patch_generator.py` and `radio/cls_token.py`, so the
official `base_model.patch_generator.*` weights load unchanged.
"""
import math
from collections import OrderedDict

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from ..utils.inference_form import is_tracing

# Train-time crop ranges of NVlabs/RADIO `ViTPatchGenerator._get_pos_embeddings`.
MIN_CROP_SCALE = math.sqrt(0.1)
MAX_LOG_ASPECT = -math.log(3 / 4)
# Patch grids whose deploy-time position encodings are kept (a few MiB each at ViT-H).
POSITION_CACHE_SIZE = 16


def num_register_tokens(num_summary, register_multiple=None, num_registers=None):
    """Registers that pad the summary tokens, as the released models count them.

    With ``register_multiple`` the count is ``multiple - num_summary % multiple``: a full
    extra multiple when ``num_summary`` already divides (`radio/cls_token.py`).
    """
    if num_registers:
        return num_registers
    if register_multiple:
        return register_multiple - (num_summary % register_multiple)
    return 0


class SummaryTokens(nn.Module):
    """Learned summary (one per teacher) and register tokens prepended to the patches.

    The parameter is ``token`` of shape (num_summary + num_registers, C) (official layout).
    """

    def __init__(self, embed_dims, num_summary, num_registers):
        super().__init__()
        self.num_summary = num_summary
        self.num_registers = num_registers
        self.token = nn.Parameter(torch.randn(num_summary + num_registers, embed_dims) *
                                  embed_dims**-0.5)

    def forward(self, x):
        """(B, N, C) -> (B, num_summary + num_registers + N, C)."""
        return torch.cat([self.token.expand(x.shape[0], -1, -1).to(x.dtype), x], dim=1)


class CPEPatchGenerator(nn.Module):
    """Image -> token sequence ``[summary, registers, patches + pos]``.

    Args:
        patch_size (int): pixels per patch side.
        embed_dims (int): token width C.
        cpe_max_size (int): the largest input side the position grid covers, in pixels.
        num_summary (int): summary tokens (one per teacher that has a summary).
        num_registers (int): register tokens.
        cpe_train_crop (bool): sample a random crop of the grid per image in training.
        pos_dropout (float): training-time probability of dropping an image's whole
            position encoding (0.1 in the released recipe).
    """

    def __init__(self, patch_size, embed_dims, cpe_max_size, num_summary, num_registers,
                 cpe_train_crop=True, pos_dropout=0.0):
        super().__init__()
        self.patch_size = patch_size
        self.cpe_train_crop = cpe_train_crop
        self.pos_dropout = pos_dropout
        # The grid side rounds the max size to whole patches (`enable_cpe_support.py`).
        self.grid_size = int(round(cpe_max_size / patch_size))
        # Bias-free linear over (c, y, x)-flattened patches, as released (not a biased conv).
        self.embedder = nn.Linear(3 * patch_size**2, embed_dims, bias=False)
        self.pos_embed = nn.Parameter(
            torch.randn(1, self.grid_size**2, embed_dims) * embed_dims**-0.5)
        self.cls_token = SummaryTokens(embed_dims, num_summary, num_registers)
        self.position_cache = None  # grid (h, w) -> encoding, once switched to deploy

    def switch_to_deploy(self):
        """Keep the eval position encoding of each patch grid instead of resizing the full
        grid on every call (it depends on the input size only)."""
        self.position_cache = OrderedDict()

    def _apply(self, fn, *args, **kwargs):
        if self.position_cache:  # .to() / .half(): cached encodings must follow pos_embed
            self.position_cache.clear()
        return super()._apply(fn, *args, **kwargs)

    @property
    def num_prefix_tokens(self):
        return self.cls_token.num_summary + self.cls_token.num_registers

    def forward(self, x):
        """(B, 3, H, W) -> (B, num_prefix_tokens + H/p * W/p, C)."""
        p = self.patch_size
        hw = (x.shape[2] // p, x.shape[3] // p)
        patches = rearrange(x, 'b c (h py) (w px) -> b (h w) (c py px)', py=p, px=p)
        patches = self.embedder(patches) + self.position_encoding(x.shape[0], hw)
        return self.cls_token(patches)

    def position_encoding(self, batch_size, hw):
        """Position encoding for a patch grid ``hw``: (1 or B, h*w, C)."""
        if not self.training:
            # Traced or compiled graphs keep sizes symbolic: no lookup keyed by them.
            if (self.position_cache is not None and not is_tracing()
                    and not torch.compiler.is_compiling()):
                return self._cached_position_encoding(hw)
            return self.position_encoding_eval(hw)
        g = self.grid_size
        if hw == (g, g) or not self.cpe_train_crop:
            pos = self.position_encoding_eval(hw)
        else:
            grid = self.pos_embed.reshape(1, g, g, -1).permute(0, 3, 1, 2)
            pos = self._random_crops(grid, batch_size, hw).flatten(2).transpose(1, 2)
        if self.pos_dropout > 0:
            keep = torch.rand(batch_size, 1, 1, device=pos.device) > self.pos_dropout
            pos = pos * keep.to(pos.dtype)
        return pos

    def _cached_position_encoding(self, hw):
        hw = tuple(int(s) for s in hw)
        pos = self.position_cache.get(hw)
        if pos is None:
            with torch.no_grad():
                self.position_cache[hw] = pos = self.position_encoding_eval(hw)
            while len(self.position_cache) > POSITION_CACHE_SIZE:
                self.position_cache.popitem(last=False)
        else:
            self.position_cache.move_to_end(hw)
        return pos

    def position_encoding_eval(self, hw):
        """The deterministic (eval) encoding of grid ``hw``: (1, h*w, C)."""
        g = self.grid_size
        if hw == (g, g):
            return self.pos_embed
        grid = self.pos_embed.reshape(1, g, g, -1).permute(0, 3, 1, 2)
        return self._resize_and_crop(grid, hw).flatten(2).transpose(1, 2)

    @staticmethod
    def _resize_and_crop(grid, hw):
        """Inference: resize the grid to the longer side, keep the top-left h x w.

        Resizing isotropically and cropping (rather than stretching each axis) keeps the
        aspect of position codes; bilinear with ``align_corners=False`` as the current
        NVlabs/RADIO release (commit cb07f55) does.
        """
        side = max(hw)
        grid = F.interpolate(grid.float(), size=(side, side), mode='bilinear',
                             align_corners=False).to(grid.dtype)
        return grid[..., :hw[0], :hw[1]]

    @staticmethod
    def _random_crops(grid, batch_size, hw):
        """Training: one random crop (scale, aspect, offset) of the grid per image."""
        device = grid.device
        scale = torch.empty(batch_size, 1, 1, device=device).uniform_(MIN_CROP_SCALE, 1)
        aspect = torch.empty(batch_size, 1, 1, device=device).uniform_(
            -MAX_LOG_ASPECT, MAX_LOG_ASPECT).exp()
        scale_xy = torch.stack([scale * aspect, scale / aspect], dim=-1).clamp(0, 1)
        offset_xy = torch.rand(batch_size, 1, 1, 2, device=device) * (1 - scale_xy)
        ys, xs = torch.meshgrid(torch.linspace(0, 1, hw[0], device=device),
                                torch.linspace(0, 1, hw[1], device=device), indexing='ij')
        unit_xy = torch.stack([xs, ys], dim=-1)[None]  # (1, h, w, 2), grid_sample's x-y order
        sample_xy = (unit_xy * scale_xy + offset_xy) * 2 - 1
        return F.grid_sample(grid.float().expand(batch_size, -1, -1, -1), sample_xy,
                             mode='bilinear', padding_mode='zeros',
                             align_corners=True).to(grid.dtype)
