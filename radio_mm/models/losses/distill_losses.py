"""Feature-level distillation losses of AM-RADIO (sec. 3.1 "Loss Formulation").

Summary loss: cosine distance between the student's adapted summary token and the teacher's
summary. Feature loss: a per-token mix of cosine distance and smooth-L1,
``0.9 * (1 - cos) + 0.1 * smooth_l1`` in the paper; weights are configurable per teacher.

Every loss computes one value per image (:meth:`DistillLoss.per_image`) and reduces it like
torch and mmdet losses do: ``reduction='mean'`` (default, a scalar: the batch mean) or
``'none'`` (a (B,) tensor), also per call with ``reduction_override``. Per-image values are
what teacher balancing needs (UNIC's teacher dropping picks teachers per image); their batch
mean equals the scalar loss.
"""
import torch.nn.functional as F
from torch import nn

from radio_mm.registry import MODELS

REDUCTIONS = ('mean', 'none')


def cosine_distance(student, teacher, dim=-1):
    """Mean of ``1 - cos(student, teacher)`` along ``dim``."""
    return (1 - F.cosine_similarity(student, teacher, dim=dim)).mean()


def _check_reduction(reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(f'reduction must be one of {REDUCTIONS}, got {reduction!r}')
    return reduction


class DistillLoss(nn.Module):
    """Base of the distillation losses: ``loss_weight * per_image(student, teacher)``,
    reduced over the batch by ``reduction`` ('mean' or 'none')."""

    def __init__(self, loss_weight=1.0, reduction='mean'):
        super().__init__()
        self.loss_weight = loss_weight
        self.reduction = _check_reduction(reduction)

    def per_image(self, student, teacher):
        """(B, ...) student and teacher -> (B,) unweighted losses."""
        raise NotImplementedError

    def forward(self, student, teacher, reduction_override=None):
        loss = self.loss_weight * self.per_image(student, teacher)
        reduction = _check_reduction(reduction_override or self.reduction)
        return loss.mean() if reduction == 'mean' else loss


@MODELS.register_module()
class CosineSummaryLoss(DistillLoss):
    """Summary loss: ``weight * (1 - cos)``, summaries (B, C)."""

    def per_image(self, student, teacher):
        return 1 - F.cosine_similarity(student, teacher, dim=1)


@MODELS.register_module()
class CosineSmoothL1FeatureLoss(DistillLoss):
    """Feature loss over (B, C, h, w) maps: cosine along C plus smooth-L1, both averaged.

    Args:
        cosine_weight (float): weight of ``1 - cos`` (0.9 in the paper).
        smooth_l1_weight (float): weight of smooth-L1 (0.1 in the paper).
        beta (float): smooth-L1 transition point.
        loss_weight (float): overall weight of this teacher's feature loss.
        reduction (str): 'mean' over the batch or 'none' (one value per image).
    """

    def __init__(self, cosine_weight=0.9, smooth_l1_weight=0.1, beta=1.0, loss_weight=1.0,
                 reduction='mean'):
        super().__init__(loss_weight, reduction)
        self.cosine_weight = cosine_weight
        self.smooth_l1_weight = smooth_l1_weight
        self.beta = beta

    def per_image(self, student, teacher):
        cosine = (1 - F.cosine_similarity(student, teacher, dim=1)).flatten(1).mean(1)
        smooth_l1 = F.smooth_l1_loss(student, teacher, beta=self.beta,
                                     reduction='none').flatten(1).mean(1)
        return self.cosine_weight * cosine + self.smooth_l1_weight * smooth_l1


@MODELS.register_module()
class MSEFeatureLoss(DistillLoss):
    """Plain MSE over (B, C, h, w) maps; with PHI-S standardized targets this is the
    balanced multi-teacher loss of Ranzinger et al., "PHI-S" (2024)."""

    def per_image(self, student, teacher):
        return F.mse_loss(student, teacher, reduction='none').flatten(1).mean(1)
