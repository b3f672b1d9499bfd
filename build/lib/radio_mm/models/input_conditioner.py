"""Normalization inside the model, so users feed RGB in [0, 1] as with the official models."""
import torch
from torch import nn

# OpenAI CLIP statistics (timm `timm/data/constants.py`); the released RADIO models'
# `input_conditioner` defaults (NVlabs/RADIO `radio/input_conditioner.py`).
OPENAI_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


class InputConditioner(nn.Module):
    """(x - mean) / std with buffers ``norm_mean``/``norm_std`` of shape (3, 1, 1)."""

    def __init__(self, mean=OPENAI_CLIP_MEAN, std=OPENAI_CLIP_STD):
        super().__init__()
        self.register_buffer('norm_mean', torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1))
        self.register_buffer('norm_std', torch.tensor(std, dtype=torch.float32).view(-1, 1, 1))

    # The dtype the student runs in; the output is cast to it (NVlabs/RADIO
    # `radio/input_conditioner.py`, which hubconf sets to `args.dtype`). None: unchanged.
    dtype = None

    def forward(self, x):
        y = (x - self.norm_mean) / self.norm_std
        return y if self.dtype is None else y.to(self.dtype)
