"""How much each teacher's losses count: ``RADIODistiller(teacher_balancing=dict(type=...))``.

A balancing takes, for one partition, every teacher's per-image losses and returns the
scalar losses the distiller logs and sums:

    loss[t, key] = sum_b c[t, b] * L[t, key, b] / N

with coefficients ``c`` (detached) and a normalizer ``N``. The plain batch mean (``c = 1``,
``N = B``) is what :class:`TeacherBalancing` itself does and what the distiller uses when no
balancing is configured.

PHI-S (the distiller's ``phi_s`` argument) is a different lever and combines with any of
these: it standardizes a teacher's *targets* so that an MSE loss weighs teachers equally by
construction; a balancing re-weights the resulting losses afterwards.
"""
import torch
from torch import nn

from radio_mm.registry import MODELS


@MODELS.register_module()
class TeacherBalancing(nn.Module):
    """Every teacher's losses averaged over the batch, unweighted (``c = 1``, ``N = B``)."""

    def coefficients(self, totals):
        """{teacher: (B,) total loss per image} (detached) -> {teacher: (B,) coefficient}."""
        return {name: torch.ones_like(total) for name, total in totals.items()}

    def normalizer(self, coefficients):
        return next(iter(coefficients.values())).numel()

    def check_teachers(self, teachers):
        """Raise when the balancing names a teacher the distiller does not have."""

    def forward(self, losses):
        """losses: {teacher: {loss key: (B,) per-image loss}} -> ({loss key: scalar},
        {log key: scalar}), the logs without 'loss' in their names (logged, not summed)."""
        if not losses:
            return {}, {}
        totals = {name: sum(per_image.values()).detach() for name, per_image in losses.items()}
        coefficients = self.coefficients(totals)
        norm = self.normalizer(coefficients)
        reduced = {key: (coefficients[name] * value).sum() / norm
                   for name, per_image in losses.items() for key, value in per_image.items()}
        return reduced, self.logs(coefficients)

    def logs(self, coefficients):
        return {}


@MODELS.register_module()
class FixedTeacherWeights(TeacherBalancing):
    """Constant per-teacher weights: ``c[t, b] = weights[t]`` (teachers not named: 1.0).

    The same as a ``loss_weight`` on both of a teacher's losses in ``teacher_losses``; one
    table reads better when a recipe weighs teachers against each other.

    Args:
        weights (dict[str, float]): teacher name -> weight.
    """

    def __init__(self, weights):
        super().__init__()
        self.weights = dict(weights)

    def check_teachers(self, teachers):
        unknown = sorted(set(self.weights) - set(teachers))
        if unknown:
            raise ValueError(f'FixedTeacherWeights names unknown teachers {unknown}; teachers '
                             f'are {list(teachers)}')

    def coefficients(self, totals):
        return {name: torch.full_like(total, float(self.weights.get(name, 1.0)))
                for name, total in totals.items()}


@MODELS.register_module()
class UNICTeacherDropping(TeacherBalancing):
    """UNIC's teacher dropping (Sariyildiz et al., "UNIC: Universal Classification Models via
    Multi-teacher Distillation", ECCV 2024, arXiv 2408.05088, "teacher dropping"; naver/unic,
    ``modeling/teacher_dropping.py``).

    Per image, the teacher with the highest loss is kept; every other teacher is dropped
    (coefficient 0) with probability ``drop_prob``, independently. The kept losses are
    normalized by the number of kept (teacher, image) pairs, as naver/unic does
    (``coeffs / coeffs.sum()``), times the number of teachers [ours], so that
    ``drop_prob=0`` gives exactly the unbalanced loss (the sum over teachers of batch means).
    A teacher's per-image loss is the sum of its feature and summary losses [ours: UNIC
    averages its two losses, which ranks teachers the same only when all have both].

    Args:
        drop_prob (float): probability of dropping a teacher that is not the image's worst;
            0.5 in naver/unic (``--t_drop_prob``, default 0.5).
    """

    def __init__(self, drop_prob=0.5):
        super().__init__()
        if not 0 <= drop_prob <= 1:
            raise ValueError(f'drop_prob must be in [0, 1], got {drop_prob}')
        self.drop_prob = drop_prob

    def coefficients(self, totals):
        names = list(totals)
        stacked = torch.stack([totals[name] for name in names])  # (T, B)
        keep = torch.rand(stacked.shape, device=stacked.device) >= self.drop_prob
        keep[stacked.argmax(0), torch.arange(stacked.shape[1])] = True
        return {name: keep[i].to(stacked.dtype) for i, name in enumerate(names)}

    def normalizer(self, coefficients):
        return sum(c.sum() for c in coefficients.values()) / len(coefficients)

    def logs(self, coefficients):
        """``<teacher>_kept``: share of the batch whose loss counted this step."""
        return {f'{name}_kept': c.mean() for name, c in coefficients.items()}
