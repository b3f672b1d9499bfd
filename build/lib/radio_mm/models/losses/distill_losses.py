"""Feature-level distillation losses of AM-RADIO (sec. 3.1 "Loss Formulation").

Summary loss: cosine distance between the student's adapted summary token and the teacher's
summary. Feature loss: a per-token mix of cosine distance and smooth-L1,
``0.9 * (1 - cos) + 0.1 * smooth_l1`` in the paper; weights are configurable per teacher.
"""
import torch.nn.functional as F
from torch import nn

from radio_mm.registry import MODELS


def cosine_distance(student, teacher, dim=-1):
    """Mean of ``1 - cos(student, teacher)`` along ``dim``."""
    return (1 - F.cosine_similarity(student, teacher, dim=dim)).mean()


@MODELS.register_module()
class CosineSummaryLoss(nn.Module):
    """Summary loss: ``weight * (1 - cos)``, summaries (B, C)."""

    def __init__(self, loss_weight=1.0):
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, student, teacher):
        return self.loss_weight * cosine_distance(student, teacher)


@MODELS.register_module()
class CosineSmoothL1FeatureLoss(nn.Module):
    """Feature loss over (B, C, h, w) maps: cosine along C plus smooth-L1, both averaged.

    Args:
        cosine_weight (float): weight of ``1 - cos`` (0.9 in the paper).
        smooth_l1_weight (float): weight of smooth-L1 (0.1 in the paper).
        beta (float): smooth-L1 transition point.
        loss_weight (float): overall weight of this teacher's feature loss.
    """

    def __init__(self, cosine_weight=0.9, smooth_l1_weight=0.1, beta=1.0, loss_weight=1.0):
        super().__init__()
        self.cosine_weight = cosine_weight
        self.smooth_l1_weight = smooth_l1_weight
        self.beta = beta
        self.loss_weight = loss_weight

    def forward(self, student, teacher):
        loss = self.cosine_weight * cosine_distance(student, teacher, dim=1)
        loss = loss + self.smooth_l1_weight * F.smooth_l1_loss(student, teacher, beta=self.beta)
        return self.loss_weight * loss


@MODELS.register_module()
class MSEFeatureLoss(nn.Module):
    """Plain MSE over (B, C, h, w) maps; with PHI-S standardized targets this is the
    balanced multi-teacher loss of Ranzinger et al., "PHI-S" (2024)."""

    def __init__(self, loss_weight=1.0):
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, student, teacher):
        return self.loss_weight * F.mse_loss(student, teacher)
