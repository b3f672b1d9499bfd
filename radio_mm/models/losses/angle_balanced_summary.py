"""C-RADIOv4's angle-balanced summary loss (Ranzinger et al., "C-RADIOv4 (Tech Report)",
arXiv 2601.17237, "balanced summary loss": it "uses angles" so that no teacher's summary
loss outweighs the others).

The idea: teachers' summary vectors fill cones of different angular width, so the same cosine
error is a near miss for a teacher whose summaries sit close together and a good match for
one whose summaries spread wide, and the widest teacher's loss dominates. The loss therefore
measures the student's error as an angle, in units of the teacher's own angular spread:

    loss_b = arccos(cos(s_b, t_b)) / dispersion(T),
    dispersion(T) = E_b[arccos(cos(t_b, mu_T))],  mu_T = mean direction of T's summaries.

Sources read: the report's abstract and summaries of it, and NVlabs/RADIO issue #181 (every
summary loss weight 1.0, SAM3's 0). The body of the report with its equation was not
available here, so the exact form above, the dispersion estimator (mean angle to the mean
direction) and its running average (``momentum``) are ours [ours].
"""
import math

import torch
import torch.nn.functional as F

from radio_mm.registry import MODELS

from .distill_losses import DistillLoss


def angle(a, b, eps=1e-6):
    """Angle in radians between the rows of ``a`` and ``b`` (B, C) -> (B,). The cosine is
    clamped inside (-1, 1): arccos has an infinite slope at +-1."""
    return torch.arccos(F.cosine_similarity(a, b, dim=1).clamp(-1 + eps, 1 - eps))


def angular_dispersion(summaries):
    """Mean angle (radians) between (B, C) vectors and their mean direction."""
    unit = F.normalize(summaries.float(), dim=1)
    mean_direction = unit.mean(0, keepdim=True).expand_as(unit)
    return angle(unit, mean_direction).mean()


@MODELS.register_module()
class AngleBalancedSummaryLoss(DistillLoss):
    """Summary loss ``loss_weight * angle(student, teacher) / dispersion(teacher)``.

    Args:
        momentum (float | None): weight of each training batch in the running dispersion
            (the first batch sets it); None uses each batch's own dispersion.
        min_dispersion (float): floor of the dispersion in radians, so a batch of near
            identical summaries (or a single image) does not blow the loss up.
        loss_weight (float): 1.0 for every summary teacher in C-RADIOv4 (NVlabs/RADIO #181).
        reduction (str): 'mean' over the batch or 'none' (one value per image).
    """

    def __init__(self, momentum=0.01, min_dispersion=math.radians(1), loss_weight=1.0,
                 reduction='mean'):
        super().__init__(loss_weight, reduction)
        if momentum is not None and not 0 < momentum <= 1:
            raise ValueError(f'momentum must be in (0, 1] or None, got {momentum}')
        self.momentum = momentum
        self.min_dispersion = min_dispersion
        self.register_buffer('dispersion', torch.tensor(float('nan')))

    @torch.no_grad()
    def _dispersion(self, teacher):
        batch = angular_dispersion(teacher)
        if self.momentum is None:
            return batch
        if self.training:
            if torch.isnan(self.dispersion):
                self.dispersion.copy_(batch)
            else:
                self.dispersion.lerp_(batch, self.momentum)
        return batch if torch.isnan(self.dispersion) else self.dispersion

    def per_image(self, student, teacher):
        dispersion = self._dispersion(teacher).clamp(min=self.min_dispersion)
        return angle(student, teacher) / dispersion
