"""RADIODistiller with the real teacher architectures at toy sizes, on real photos."""
import copy
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub
from skimage import data
from tiny_models import tiny_eradio, tiny_radio_model, tiny_vit

from radio_mm.models.distillers import Partition, RADIODistiller
from radio_mm.models.distillers.shifted_views import Shift, ShiftedViews
from radio_mm.models.losses import FixedTeacherWeights

TEACHERS = [
    dict(type='OpenCLIPTeacher', name='clip', model_name='ViT-B-16',
         model_cfg=dict(embed_dim=32, vision_cfg=dict(image_size=64, patch_size=16, width=64,
                                                      layers=2, head_width=32))),
    dict(type='DINOv2Teacher', name='dino_v2', arch='vit_small_patch14_reg4_dinov2',
         input_size=56, arch_kwargs=dict(embed_dim=48, depth=2, num_heads=2)),
    dict(type='SAMTeacher', name='sam', img_size=128,
         arch=dict(embed_dim=48, depth=2, num_heads=2, global_attn_indexes=(1, ),
                   window_size=4)),
]
STUDENT = tiny_radio_model(tiny_vit(embed_dims=64, cpe_max_size=256, num_summary_tokens=2,
                                     register_multiple=4))


def build(**kwargs):
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)  # random-weight teachers
        return RADIODistiller(student=copy.deepcopy(STUDENT), teachers=copy.deepcopy(TEACHERS),
                              adaptor_cfg=dict(hidden_dims=64), **kwargs)


@pytest.fixture(scope='module')
def photos():
    images = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket()]
    batch = [F.interpolate(torch.from_numpy(np.ascontiguousarray(i)).permute(2, 0, 1)[None]
                           .float() / 255, size=(128, 128), mode='bilinear', antialias=True)
             for i in images]
    return torch.cat(batch).clamp(0, 1)


def test_one_step_with_partitions(photos):
    model = build(partitions=[
        dict(teachers=['clip', 'dino_v2'], batch_fraction=0.5, resolutions=[(64, 64)]),
        dict(teachers=['sam'], batch_fraction=0.5, resolutions=[(128, 128)])]).train()
    losses = model.loss(photos)
    assert set(losses) == {
        'loss_clip_features', 'clip_feature_cos', 'loss_clip_summary', 'clip_summary_cos',
        'loss_dino_v2_features', 'dino_v2_feature_cos', 'loss_dino_v2_summary',
        'dino_v2_summary_cos', 'loss_sam_features', 'sam_feature_cos'}
    total = sum(v for k, v in losses.items() if k.startswith('loss'))
    total.backward()
    student_grads = [p.grad for p in model.student.parameters() if p.requires_grad]
    assert all(g is not None for g in student_grads)
    assert all(p.grad is None for p in model.teachers.parameters())
    # Summary teachers own consecutive summary tokens; SAM has no summary head.
    adaptors = model.student.adaptors
    assert (adaptors['clip'].summary_slot, adaptors['dino_v2'].summary_slot) == (0, 1)
    assert adaptors['sam'].summary_mlp is None
    assert -1 <= losses['clip_feature_cos'].item() <= 1


def test_teachers_stay_frozen_and_out_of_checkpoints():
    model = build().train()
    assert all(not t.training for t in model.teachers.values())
    state = model.state_dict()
    assert not any(k.startswith('teachers.') for k in state)
    assert any(k.startswith('student.adaptors.sam.') for k in state)
    # ... and a checkpoint without them loads strictly.
    build().load_state_dict(state, strict=True)


def test_student_summary_tokens_must_cover_summary_teachers():
    student = copy.deepcopy(STUDENT)
    student['backbone']['num_summary_tokens'] = 1
    with pytest.raises(ValueError, match='num_summary_tokens=2'):
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', UserWarning)
            RADIODistiller(student=student, teachers=copy.deepcopy(TEACHERS))


def test_partition_errors():
    with pytest.raises(ValueError, match=r"teachers \['sam'\] are in no partition"):
        build(partitions=[dict(teachers=['clip', 'dino_v2'])])
    with pytest.raises(ValueError, match='sum to 1.5'):
        build(partitions=[dict(teachers=['clip', 'dino_v2'], batch_fraction=1.0),
                          dict(teachers=['sam'], batch_fraction=0.5)])
    model = build(partitions=[dict(teachers=['clip', 'dino_v2'], batch_fraction=0.75),
                              dict(teachers=['sam'], batch_fraction=0.25)])
    assert model.split_batch(8) == [slice(0, 6), slice(6, 8)]
    with pytest.raises(ValueError, match='raise the batch size'):
        model.split_batch(1)


def test_resolution_is_drawn_per_step_and_follows_milestones():
    partition = Partition(['clip'], resolutions=[(64, 64), (96, 96)],
                          milestones=[(100, [(128, 128)])])
    drawn = {partition.resolution(step) for step in range(20)}
    assert drawn == {(64, 64), (96, 96)}
    assert partition.resolution(7) == partition.resolution(7)  # same on every rank
    assert partition.resolution(150) == (128, 128)


def test_phi_s_standardizes_a_teacher(photos):
    model = build(phi_s=dict(sam=dict(momentum=0.5)),
                  teacher_losses=dict(sam=dict(feature_loss=dict(type='MSEFeatureLoss'))))
    model.train()
    losses = model.loss(photos)
    assert model.phi_s['sam'].running_mean.abs().sum() > 0
    assert torch.isfinite(losses['loss_sam_features'])


def test_loss_falls_on_fixed_real_images(photos):
    model = build(resolutions=[(64, 64)]).train()
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=3e-3)
    hub = MessageHub.get_current_instance()
    history = []
    for step in range(30):
        hub.update_info('iter', step)
        losses = model.loss(photos)
        total = sum(v for k, v in losses.items() if k.startswith('loss'))
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        history.append(total.item())
    assert np.mean(history[-5:]) < 0.6 * np.mean(history[:5]), history


def test_predict_scores_each_image_as_training_logs_the_batch(photos):
    """predict's per-image similarities average to the training log's batch values when
    every teacher sees every image at one resolution; MSE is the MSE feature loss."""
    model = build(partitions=[dict(teachers=['clip', 'dino_v2', 'sam'], resolutions=[(64, 64)])],
                  feature_loss=dict(type='MSEFeatureLoss')).eval()
    with torch.no_grad():
        losses = model.loss(photos)
        scores = model(photos, mode='predict')
    assert len(scores) == len(photos)
    assert set(scores[0]) == {
        'clip_summary_cos', 'clip_feature_cos', 'clip_feature_mse', 'dino_v2_summary_cos',
        'dino_v2_feature_cos', 'dino_v2_feature_mse', 'sam_feature_cos', 'sam_feature_mse'}
    for key, value in scores[0].items():
        mean = np.mean([s[key] for s in scores])
        mse_of = key[:-len('_feature_mse')] if key.endswith('_feature_mse') else None
        logged = losses[f'loss_{mse_of}_features' if mse_of else key]
        assert mean == pytest.approx(logged.item(), rel=1e-5), key
    assert len({s['clip_feature_cos'] for s in scores}) == len(photos)  # per image


def test_eval_resolution_defaults_to_the_last_stage():
    assert Partition(['a'], resolutions=[(128, 128), (160, 160)]).eval_resolution == (160, 160)
    staged = Partition(['a'], resolutions=[(256, 256)], milestones=[(10, [(432, 432)])])
    assert staged.eval_resolution == (432, 432)
    assert Partition(['a'], eval_resolution=(96, 64)).eval_resolution == (96, 64)

def test_off_grid_milestone_fails_at_build_naming_the_nearest_size():
    # The old eradio_l.py: an E-RADIO student (sides in multiples of 32) inherited the ViT-H
    # recipe's 432 px milestone and crashed when training reached iteration 300000.
    eradio = tiny_radio_model(tiny_eradio())
    partitions = [dict(teachers=['clip', 'dino_v2'], batch_fraction=0.75,
                       resolutions=[(256, 256)], milestones=[(300000, [(432, 432)])]),
                  dict(teachers=['sam'], batch_fraction=0.25, resolutions=[(1024, 1024)])]
    with warnings.catch_warnings(), pytest.raises(ValueError) as error:
        warnings.simplefilter('ignore', UserWarning)
        RADIODistiller(student=eradio, teachers=copy.deepcopy(TEACHERS), partitions=partitions)
    message = str(error.value)
    assert 'resolution (432, 432) (from iteration 300000 stage)' in message
    assert 'multiple of 32 px' in message and '416 or 448' in message
    assert 'nearest valid size: (448, 448)' in message
    # The ViT student (patch 16) runs the same schedule.
    build(partitions=partitions)


def test_a_teacher_in_two_partitions_is_distilled_at_both_resolutions(photos):
    """RADIOv2.5: every teacher in a low- and a high-resolution partition; each partition's
    losses are kept apart by its name, and the student runs once per partition."""
    model = build(partitions=[
        dict(name='low', teachers=['clip', 'dino_v2', 'sam'], batch_fraction=0.5,
             resolutions=[(64, 64)]),
        dict(name='high', teachers=['clip', 'dino_v2', 'sam'], batch_fraction=0.5,
             resolutions=[(128, 128)])]).train()
    seen = []
    forward_backbone = model.student.forward_backbone
    model.student.forward_backbone = lambda x: seen.append(tuple(x.shape)) or forward_backbone(x)
    losses = model.loss(photos)
    assert seen == [(2, 3, 64, 64), (2, 3, 128, 128)]
    for teacher in ('clip', 'dino_v2'):
        for part in ('low', 'high'):
            for key in ('loss_{}_features_{}', 'loss_{}_summary_{}', '{}_summary_cos_{}'):
                assert key.format(teacher, part) in losses
    assert {'loss_sam_features_low', 'loss_sam_features_high'} <= set(losses)
    assert not any(k in losses for k in ('loss_clip_features', 'loss_sam_features'))
    # each partition's loss is its own: the two halves are different images and resolutions
    assert losses['loss_clip_summary_low'] != losses['loss_clip_summary_high']
    # both partitions' summary losses train the student
    assert all(losses[f'loss_clip_summary_{part}'].requires_grad for part in ('low', 'high'))
    with torch.no_grad():
        scores = model.eval()(photos, mode='predict')
    assert {'clip_summary_cos_low', 'clip_summary_cos_high', 'sam_feature_mse_high'} <= set(
        scores[0])


def test_partitions_sharing_a_teacher_need_distinct_names():
    with pytest.raises(ValueError, match=r"teacher 'clip' is in 2 partitions.*give each"):
        build(partitions=[dict(teachers=['clip', 'dino_v2', 'sam'], batch_fraction=0.5),
                          dict(name='high', teachers=['clip'], batch_fraction=0.5)])
    with pytest.raises(ValueError, match=r"names must differ: \['a'\]"):
        build(partitions=[dict(name='a', teachers=['clip', 'dino_v2'], batch_fraction=0.5),
                          dict(name='a', teachers=['sam'], batch_fraction=0.5)])
    with pytest.raises(ValueError, match='lists a teacher twice'):
        Partition(['clip', 'clip'])


def test_named_partitions_draw_their_resolutions_independently():
    low = Partition(['a'], name='low', resolutions=[(r, r) for r in (128, 192, 224, 256)])
    high = Partition(['a'], name='high', resolutions=[(r, r) for r in (512, 768, 1024, 1152)])
    pairs = {(low.resolutions.index(low.resolution(s)), high.resolutions.index(
        high.resolution(s))) for s in range(200)}
    assert len(pairs) > 4  # not locked to the same index of each list


def test_teacher_balancing_and_shifted_views_options(photos):
    model = build(resolutions=[(64, 64)],
                  teacher_balancing=dict(type='UNICTeacherDropping', drop_prob=1.0),
                  shifted_views=dict(type='ShiftedViews', std=100, teachers=['dino_v2'])).train()
    torch.manual_seed(0)
    losses = model.loss(photos)
    # each image keeps exactly its worst teacher
    kept = [losses[f'{n}_kept'].item() for n in ('clip', 'dino_v2', 'sam')]
    assert sum(kept) == pytest.approx(1.0)
    sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    assert all(p.grad is not None for p in model.student.parameters() if p.requires_grad)
    # the shifted teacher is compared on the overlap only: fewer cells than its 4x4 grid
    with torch.no_grad():
        radio = model.student.forward_backbone(photos[:, :, :64, :64])
        out = model._adaptor_targets('dino_v2', photos, radio, shift=Shift((1, 1), (4, 4)))
    assert out.features.shape[-2:] == out.target_features.shape[-2:]
    assert out.features.shape[-2] * out.features.shape[-1] < 16


def test_fixed_weights_scale_a_teacher_and_unshifted_views_change_nothing(photos):
    model = build(resolutions=[(64, 64)]).eval()  # no drop path: drawing shifts uses the RNG
    with torch.no_grad():
        plain = model.loss(photos)
        model.teacher_balancing = FixedTeacherWeights(dict(sam=2.0))
        model.shifted_views = ShiftedViews(std=0)  # every shift is 0 cells
        weighted = model.loss(photos)
    for key, value in plain.items():
        factor = 2.0 if key.startswith('loss_sam') else 1.0
        assert weighted[key].item() == pytest.approx(factor * value.item(), rel=1e-4), key
    with pytest.raises(ValueError, match='unknown teachers'):
        build(teacher_balancing=dict(type='FixedTeacherWeights', weights=dict(siglip=1.0)))


def test_shifted_views_leave_a_mosaic_teacher_unshifted(photos, monkeypatch):
    """A mosaic cell is a fraction of the teacher's grid, so a shift drawn on that grid is
    no whole number of the image's cells: the mosaic teacher sees its images unshifted,
    teachers that see whole images (or tiles) get their own shifted views."""
    model = build(partitions=[
        dict(name='low', teachers=['clip', 'dino_v2', 'sam'], batch_fraction=1.0,
             resolutions=[(64, 64)],
             teacher_inputs=dict(sam=dict(mode='mosaic', grid=2)))],
                  shifted_views=dict(type='ShiftedViews', std=100)).train()
    shifted = []
    original = ShiftedViews.teacher_view

    def spy(views, images, name, grid):
        shifted.append(name)
        return original(views, images, name, grid)

    monkeypatch.setattr(ShiftedViews, 'teacher_view', staticmethod(spy))
    torch.manual_seed(0)
    losses = model.loss(photos)
    assert shifted == ['clip', 'dino_v2']
    assert torch.isfinite(losses['loss_sam_features']).all()
