import math

import pytest
import torch

from radio_mm.models.losses import AngleBalancedSummaryLoss, angular_dispersion
from radio_mm.registry import MODELS

# Teacher summaries along the axes: mean direction (1, 1)/sqrt(2), each pi/4 away from it.
TEACHER = torch.tensor([[2.0, 0.0], [0.0, 3.0]])
# Student: on its target (angle 0), and pi/4 off it.
STUDENT = torch.tensor([[5.0, 0.0], [1.0, 1.0]])


def test_dispersion_is_the_mean_angle_to_the_mean_direction():
    assert angular_dispersion(TEACHER).item() == pytest.approx(math.pi / 4)


def test_loss_is_the_angle_in_units_of_the_teachers_dispersion():
    loss = MODELS.build(dict(type='AngleBalancedSummaryLoss', momentum=None))
    # (0 / (pi/4) + (pi/4) / (pi/4)) / 2
    assert loss(STUDENT, TEACHER).item() == pytest.approx(0.5, abs=1e-3)
    per_image = loss(STUDENT, TEACHER, reduction_override='none')
    assert per_image.tolist() == pytest.approx([0.0, 1.0], abs=2e-3)


def test_same_angular_error_weighs_the_same_for_a_narrow_and_a_wide_teacher():
    """The point of the balancing: a teacher whose summaries sit 4x closer together gives
    4x the loss for the same angle, where cosine losses would give it the same."""
    narrow = torch.tensor([[1.0, 0.2], [1.0, -0.2]])  # dispersion atan(0.2)
    student = torch.tensor([[1.0, 0.2 + 0.05], [1.0, -0.2 - 0.05]])
    loss = AngleBalancedSummaryLoss(momentum=None)
    error = math.atan(0.25) - math.atan(0.2)
    assert loss(student, narrow).item() == pytest.approx(error / math.atan(0.2), rel=1e-3)


def test_running_dispersion_updates_in_training_only():
    loss = AngleBalancedSummaryLoss(momentum=0.5).train()
    loss(STUDENT, TEACHER)  # first batch sets it: pi/4
    assert loss.dispersion.item() == pytest.approx(math.pi / 4)
    collinear = torch.tensor([[1.0, 0.0], [2.0, 0.0]])  # dispersion ~0
    loss(collinear, collinear)
    assert loss.dispersion.item() == pytest.approx(math.pi / 8, abs=1e-3)
    loss.eval()
    loss(STUDENT, TEACHER)
    assert loss.dispersion.item() == pytest.approx(math.pi / 8, abs=1e-3)
    assert 'dispersion' in loss.state_dict()


def test_gradient_is_finite_when_the_student_is_on_target():
    student = TEACHER.clone().requires_grad_()
    AngleBalancedSummaryLoss(momentum=None)(student, TEACHER).backward()
    assert torch.isfinite(student.grad).all()
