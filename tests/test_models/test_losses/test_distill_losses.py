import math

import pytest
import torch

from radio_mm.models.losses import CosineSmoothL1FeatureLoss, CosineSummaryLoss, MSEFeatureLoss


def test_cosine_summary_loss_by_hand():
    student = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    teacher = torch.tensor([[0.0, 2.0], [2.0, 2.0]])
    # cos = 0 for the first pair, 1 for the second: mean(1 - cos) = 0.5
    assert CosineSummaryLoss()(student, teacher).item() == pytest.approx(0.5)
    assert CosineSummaryLoss(loss_weight=2)(student, teacher).item() == pytest.approx(1.0)


def test_feature_loss_mixes_cosine_over_channels_and_smooth_l1():
    student = torch.zeros(1, 2, 1, 2)
    teacher = torch.zeros(1, 2, 1, 2)
    student[0, :, 0, 0] = torch.tensor([1.0, 0.0])
    teacher[0, :, 0, 0] = torch.tensor([0.0, 3.0])   # orthogonal: 1 - cos = 1
    student[0, :, 0, 1] = torch.tensor([1.0, 1.0])
    teacher[0, :, 0, 1] = torch.tensor([1.0, 1.0])   # identical: 1 - cos = 0
    cosine = 0.5
    # smooth-L1 (beta 1) per element: |1-0|->0.5, |0-3|->2.5, others 0; mean over 4
    smooth_l1 = (0.5 + 2.5) / 4
    expected = 0.9 * cosine + 0.1 * smooth_l1
    assert CosineSmoothL1FeatureLoss()(student, teacher).item() == pytest.approx(expected)
    custom = CosineSmoothL1FeatureLoss(cosine_weight=0.5, smooth_l1_weight=0.5, loss_weight=3)
    assert custom(student, teacher).item() == pytest.approx(3 * (0.5 * cosine + 0.5 * smooth_l1))


def test_mse_feature_loss():
    student = torch.ones(1, 2, 2, 2)
    teacher = torch.zeros(1, 2, 2, 2)
    teacher[0, 0, 0, 0] = 3
    assert MSEFeatureLoss()(student, teacher).item() == pytest.approx((4 + 7 * 1) / 8)


def test_losses_have_gradients():
    student = torch.randn(2, 4, 3, 3, requires_grad=True)
    CosineSmoothL1FeatureLoss()(student, torch.randn(2, 4, 3, 3)).backward()
    assert student.grad is not None and math.isfinite(student.grad.abs().sum().item())


@pytest.mark.parametrize('loss, shape', [(CosineSummaryLoss(loss_weight=2), (3, 4)),
                                         (CosineSmoothL1FeatureLoss(), (3, 4, 2, 2)),
                                         (MSEFeatureLoss(loss_weight=0.5), (3, 4, 2, 2))])
def test_reduction_none_gives_each_images_loss_whose_mean_is_the_batch_loss(loss, shape):
    torch.manual_seed(0)
    student, teacher = torch.randn(shape), torch.randn(shape)
    per_image = loss(student, teacher, reduction_override='none')
    assert per_image.shape == (3, )
    # image i alone gives the same value: nothing leaks between images
    for i in range(3):
        assert per_image[i].item() == pytest.approx(loss(student[i:i + 1], teacher[i:i + 1]).item())
    assert per_image.mean().item() == pytest.approx(loss(student, teacher).item())


def test_mse_per_image_by_hand():
    student = torch.zeros(2, 1, 1, 2)
    teacher = torch.tensor([[[[1.0, 3.0]]], [[[0.0, 2.0]]]])
    # image 0: (1 + 9) / 2 = 5; image 1: (0 + 4) / 2 = 2
    assert MSEFeatureLoss(reduction='none')(student, teacher).tolist() == [5.0, 2.0]


def test_unknown_reduction_is_an_error():
    with pytest.raises(ValueError, match="'sum'"):
        MSEFeatureLoss(reduction='sum')
