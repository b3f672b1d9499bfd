import pytest
import torch

from radio_mm.registry import MODELS

# Per-image losses of three teachers on a batch of 4 images (clip and sam have two losses).
LOSSES = {
    'clip': {'loss_clip_features': torch.tensor([1.0, 4.0, 1.0, 0.0]),
             'loss_clip_summary': torch.tensor([1.0, 0.0, 0.0, 0.0])},
    'dino': {'loss_dino_features': torch.tensor([3.0, 1.0, 1.0, 2.0])},
    'sam': {'loss_sam_features': torch.tensor([0.0, 1.0, 5.0, 1.0])},
}
# per-image totals: clip [2, 4, 1, 0], dino [3, 1, 1, 2], sam [0, 1, 5, 1]
WORST = ['dino', 'clip', 'sam', 'dino']


def test_default_is_the_batch_mean_of_every_loss():
    reduced, logs = MODELS.build(dict(type='TeacherBalancing'))(LOSSES)
    assert reduced == {'loss_clip_features': 1.5, 'loss_clip_summary': 0.25,
                       'loss_dino_features': 1.75, 'loss_sam_features': 1.75}
    assert logs == {}


def test_fixed_teacher_weights_scale_both_losses_of_a_teacher():
    balancing = MODELS.build(dict(type='FixedTeacherWeights', weights=dict(clip=2.0, sam=0.5)))
    reduced, _ = balancing(LOSSES)
    assert reduced == {'loss_clip_features': 3.0, 'loss_clip_summary': 0.5,
                       'loss_dino_features': 1.75, 'loss_sam_features': 0.875}
    balancing.check_teachers(['clip', 'dino', 'sam'])
    with pytest.raises(ValueError, match=r"unknown teachers \['clip'\]"):
        balancing.check_teachers(['dino', 'sam'])


def test_dropping_everything_droppable_keeps_only_each_images_worst_teacher():
    reduced, logs = MODELS.build(dict(type='UNICTeacherDropping', drop_prob=1.0))(LOSSES)
    # kept pairs: (dino, 0), (clip, 1), (sam, 2), (dino, 3): 4 pairs, 3 teachers -> N = 4/3
    norm = 4 / 3
    assert reduced['loss_clip_features'].item() == pytest.approx(4.0 / norm)
    assert reduced['loss_clip_summary'].item() == pytest.approx(0.0)
    assert reduced['loss_dino_features'].item() == pytest.approx((3.0 + 2.0) / norm)
    assert reduced['loss_sam_features'].item() == pytest.approx(5.0 / norm)
    assert {k: v.item() for k, v in logs.items()} == {
        'clip_kept': 0.25, 'dino_kept': 0.5, 'sam_kept': 0.25}


def test_dropping_nothing_is_the_unbalanced_loss():
    reduced, _ = MODELS.build(dict(type='UNICTeacherDropping', drop_prob=0.0))(LOSSES)
    plain, _ = MODELS.build(dict(type='TeacherBalancing'))(LOSSES)
    assert {k: v.item() for k, v in reduced.items()} == pytest.approx(
        {k: v.item() for k, v in plain.items()})


def test_seeded_draw_drops_teachers_per_image_and_never_the_worst():
    torch.manual_seed(3)
    reduced, logs = MODELS.build(dict(type='UNICTeacherDropping', drop_prob=0.5))(LOSSES)
    torch.manual_seed(3)
    drawn_keep = torch.rand(3, 4) >= 0.5  # teachers in LOSSES order x images
    # by hand for this seed: which (teacher, image) pairs count
    keep = {name: [bool(k) for k in row] for name, row in zip(LOSSES, drawn_keep)}
    for image, worst in enumerate(WORST):
        keep[worst][image] = True
    assert keep == {'clip': [False, True, False, False], 'dino': [True, False, True, True],
                    'sam': [True, True, True, True]}
    norm = 8 / 3  # 8 kept pairs over 3 teachers
    assert reduced['loss_clip_features'].item() == pytest.approx(4 / norm)
    assert reduced['loss_clip_summary'].item() == pytest.approx(0.0)
    assert reduced['loss_dino_features'].item() == pytest.approx((3 + 1 + 2) / norm)
    assert reduced['loss_sam_features'].item() == pytest.approx((0 + 1 + 5 + 1) / norm)
    assert {k: v.item() for k, v in logs.items()} == {
        'clip_kept': 0.25, 'dino_kept': 0.75, 'sam_kept': 1.0}


def test_coefficients_carry_no_gradient_but_the_kept_losses_do():
    features = torch.tensor([1.0, 2.0], requires_grad=True)
    losses = {'a': {'loss_a': features}, 'b': {'loss_b': torch.tensor([0.5, 3.0])}}
    reduced, _ = MODELS.build(dict(type='UNICTeacherDropping', drop_prob=1.0))(losses)
    sum(reduced.values()).backward()
    # a is worst on image 0 only; 2 kept pairs over 2 teachers -> N = 1
    assert features.grad.tolist() == [1.0, 0.0]


def test_drop_prob_out_of_range_is_an_error():
    with pytest.raises(ValueError, match='drop_prob'):
        MODELS.build(dict(type='UNICTeacherDropping', drop_prob=1.5))
