"""benchmarks/scaling_plan.py: what it counts on meta tensors, its memory arithmetic, and that
docs/scaling.md is what the script writes from the tracked results."""
import json
import os.path as osp

import pytest
import torch
from script_loader import load_script
from tiny_models import tiny_radio_model, tiny_vit

# A toy DINOv2 teacher (timm's architecture) at 28 px: 2 x 2 patches of 14 px.
TOY_TEACHER = dict(type='DINOv2Teacher', name='dino_v2', arch='vit_small_patch14_reg4_dinov2',
                   input_size=28, arch_kwargs=dict(embed_dim=32, depth=2, num_heads=2))


@pytest.fixture(scope='module')
def plan():
    return load_script('benchmarks/scaling_plan.py')


def toy_distiller(plan, **backbone):
    return plan.build_on_meta(dict(
        type='RADIODistiller', student=tiny_radio_model(tiny_vit(**backbone)),
        teachers=[TOY_TEACHER], adaptor_cfg=dict(hidden_dims=16, num_inner=0),
        resolutions=[(32, 32)]))


def vit_forward_flops(tokens, width, blocks, patches, patch_pixels):
    """Hand count (a multiply-add is 2): the patch projection, then per block qkv, the two
    attention products (q k^T and attn v, all heads: 2 T^2 C each), the output projection and
    the 4x MLP."""
    block = (2 * tokens * width * 3 * width + 2 * (2 * tokens**2 * width)
             + 2 * tokens * width**2 + 2 * (2 * tokens * width * 4 * width))
    return 2 * patches * patch_pixels * width + blocks * block


def test_teacher_flops_on_meta_equal_the_hand_count(plan):
    teacher = toy_distiller(plan).teachers['dino_v2']
    assert teacher.pixel_mean.is_meta  # nothing was allocated
    row = plan.measure_teacher(teacher)
    # 4 patches + class token + 4 registers
    assert row['forward_flops'] == vit_forward_flops(9, 32, 2, 4, 3 * 14 * 14)
    assert row['outputs'] == dict(features=[32, 2, 2], summary=[32])
    assert row['cache_bytes'] == (32 * 2 * 2 + 32) * 2  # bf16


def test_student_backward_is_counted_and_recompute_is_the_blocks_forward(plan):
    distiller = toy_distiller(plan, with_cp=True)
    student = distiller.student.train()
    row = plan.measure_student(student, ['dino_v2'], (32, 32))
    prefix = student.backbone.num_prefix_tokens
    blocks = vit_forward_flops(4 + prefix, 32, 2, 0, 0)
    patch_projection = 2 * 4 * (3 * 16 * 16) * 32
    # every matmul costs twice its forward in backward, except that the images need no
    # gradient: the patch projection's input gradient is not computed (not the 3x rule)
    assert row['backward_flops'] == 2 * row['forward_flops'] - patch_projection
    # backward recomputes each checkpointed block's forward, up to its last saved tensor:
    # torch's non-reentrant checkpoint stops before the MLP's output projection
    assert row['recompute_flops'] == blocks - 2 * (2 * (4 + prefix) * 4 * 32 * 32)
    assert 0 < row['activation_bytes_cp'] < row['activation_bytes']
    assert student.backbone.with_cp  # restored


def test_saved_bytes_follow_autocast_and_count_a_storage_once(plan):
    with torch.device('meta'):
        mlp = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.GELU(),
                                  torch.nn.Linear(32, 8))

    def saved(batch_size):
        counter = plan.SavedForBackward()
        with counter.hooks(), plan.AutocastOnMeta():
            x = torch.empty(batch_size, 16, device='meta')
            out = mlp(x)
            out = out + out  # saves nothing
        assert out.dtype == torch.bfloat16
        return counter.totals()[0]

    # per image, bf16: the first linear's input (16), GELU's input (32), its output (32)
    assert saved(2) - saved(1) == 2 * (16 + 32 + 32)


def test_checkpointing_keeps_outer_tensors_unit_inputs_and_the_largest_unit(plan):
    counter = plan.SavedForBackward()
    counter.storages = {1: (100, None), 2: (40, 0), 3: (70, 1), 4: (10, 1)}
    counter.unit_inputs = {1: 100, 5: 30}  # storage 1 is already counted as outer
    assert counter.totals() == (220, 100 + 30 + 80)


def test_ddp_keeps_everything_on_each_gpu_fsdp2_shards_it(plan):
    params, units, teacher, teacher_units = 1000, (50, 100), 5000, (30, 400)
    ddp = [plan.memory_per_gpu(params, units, teacher, teacher_units, n, 'ddp', 7)
           for n in (8, 64)]
    assert ddp[0] == ddp[1]
    # fp32 weights, grads, AdamW (2 moments), EMA, DDP buckets; fp32 teachers; activations
    assert ddp[0]['total'] == params * (4 + 4 + 8 + 4 + 4) + teacher * 4 + 7
    fsdp = {n: plan.memory_per_gpu(params, units, teacher, teacher_units, n, 'fsdp2', 7)
            for n in (8, 64)}
    for n, mem in fsdp.items():
        assert mem['weights'] == 4 * params / n and mem['adamw'] == 8 * params / n
        assert mem['teacher_weights'] == 4 * teacher / n and mem['ddp_buckets'] == 0
        # whole: the root's unit and two blocks, of the student (bf16 weights + grads) and
        # of a teacher (bf16 weights)
        assert mem['fsdp_whole_units'] == 4 * (50 + 2 * 100) + 2 * (30 + 2 * 400)
    with pytest.raises(ValueError, match='strategy'):
        plan.memory_per_gpu(params, units, teacher, teacher_units, 8, 'zero3')


def test_stages_share_the_run(plan):
    from radio_mm.models.distillers import Partition
    partition = Partition(['clip'], 0.75, [(256, 256)], milestones=[(300, [(432, 432),
                                                                            (512, 512)])])
    assert plan.stage_weights(partition, 600) == [((256, 256), 0.5), ((432, 432), 0.25),
                                                  ((512, 512), 0.25)]


def test_doc_is_what_the_script_writes_from_the_tracked_results(plan, repo_root, tmp_path):
    """No number in docs/scaling.md is typed: the page is the script's rendering of
    benchmarks/results/scaling.json (``--update-results``, or ``--doc-only`` after editing
    the text)."""
    with open(osp.join(repo_root, 'benchmarks', 'results', 'scaling.json')) as f:
        results = json.load(f)
    plan.write_doc(results['recipes'], plan.doc_args(results), tmp_path / 'scaling.md')
    with open(osp.join(repo_root, 'docs', 'scaling.md')) as f:
        assert f.read() == (tmp_path / 'scaling.md').read_text()
    names = [r['name'] for r in results['recipes']]
    assert names == ['radio_vith', 'eradio_l', 'c-radio_v4_vith', 'c-radio_v4_so400m']


def test_sam2_and_dinov3_teachers_build_on_meta(plan):
    """SAM 2's Hiera reads drop-path rates with .item() (made on the CPU by the script);
    every parameter and buffer of both teachers stays on meta."""
    teachers = [dict(type='SAM2Teacher', name='sam2', arch='sam2.1_hiera_t', features='trunk'),
                dict(type='DINOv3Teacher', name='dino_v3', arch='vit_small_patch16_dinov3',
                     input_size=32, arch_kwargs=dict(embed_dim=32, depth=1, num_heads=2))]
    distiller = plan.build_on_meta(dict(type='RADIODistiller', student=tiny_radio_model(),
                                        teachers=teachers))
    for name in ('sam2', 'dino_v3'):
        tensors = list(distiller.teachers[name].state_dict().values())
        assert tensors and all(t.is_meta for t in tensors)
    row = plan.measure_teacher(distiller.teachers['sam2'])
    assert row['forward_flops'] > 0 and row['outputs']['summary'] is None


def test_teacher_forwards_per_input_mode(plan):
    """Hand counts for C-RADIOv4's settings: SigLIP2-g (384 px) and DINOv3 (512 px), both with
    a summary, tiled; SAM 2 (1024 px, 32 x 32 trunk cells, no summary) in mosaics."""
    from types import SimpleNamespace

    from radio_mm.models.distillers.teacher_inputs import Mosaic, TiledImage, WholeImage
    siglip = SimpleNamespace(input_size=(384, 384), feature_hw=(24, 24), summary_dim=1536)
    dino = SimpleNamespace(input_size=(512, 512), feature_hw=(32, 32), summary_dim=4096)
    sam = SimpleNamespace(input_size=(1024, 1024), feature_hw=(32, 32), summary_dim=None)

    def forwards(teacher_input, teacher, side):
        return plan.teacher_forwards(teacher_input, teacher, (side, side))

    assert forwards(WholeImage(), sam, 128) == (1, None)
    tile = TiledImage()
    # siglip: round(side / 384) tiles per side, + 1 whole-image forward for the summary
    assert forwards(tile, siglip, 512) == (1, [1, 1])  # 1 x 1: the whole image only
    assert forwards(tile, siglip, 768) == (2 * 2 + 1, [2, 2])
    assert forwards(tile, siglip, 1024) == (3 * 3 + 1, [3, 3])
    assert forwards(tile, siglip, 1152) == (3 * 3 + 1, [3, 3])
    # dino: 768 / 512 = 1.5 rounds to 2 (Python's round), 1152 / 512 = 2.25 to 2
    assert [forwards(tile, dino, s)[0] for s in (512, 768, 1024, 1152)] == [1, 5, 5, 5]
    # no summary: the tiles alone
    assert forwards(TiledImage(tiles=2), sam, 2048) == (4, [2, 2])
    mosaic = Mosaic()
    # the largest divisor g of 32 with 1024 // g >= the student's side
    assert forwards(mosaic, sam, 128) == (1 / 64, [8, 8])
    for side in (192, 224, 256):
        assert forwards(mosaic, sam, side) == (1 / 16, [4, 4])
    for side in (384, 432):
        assert forwards(mosaic, sam, side) == (1 / 4, [2, 2])
    # a teacher with a summary also sees the image alone
    assert forwards(Mosaic(grid=2), dino, 256) == (1 + 1 / 4, [2, 2])


def test_teacher_flops_follow_the_steps_and_a_cache_serves_resize_only(plan):
    teachers = dict(clip=dict(forward_flops=100.0, cache_bytes=10),
                    sam=dict(forward_flops=1000.0, cache_bytes=20))
    for t in teachers.values():
        t.update(params=1, fsdp_units=[0, 1])
    stage = dict(forward_flops=6.0, backward_flops=12.0, recompute_flops=0.0,
                 activation_bytes=1, activation_bytes_cp=1)
    low = dict(batch_fraction=0.25, teachers=['clip', 'sam'], online_only=['sam'], stages=[
        dict(stage, share_of_run=0.5, teacher_forwards=dict(clip=1, sam=1 / 64)),
        dict(stage, share_of_run=0.5, teacher_forwards=dict(clip=1, sam=1 / 4))])
    high = dict(batch_fraction=0.75, teachers=['clip'], online_only=['clip'], stages=[
        dict(stage, share_of_run=1.0, teacher_forwards=dict(clip=5))])
    args = plan.parse_args(['--gpus', '8', '--steps', '10'])
    totals = plan.run_totals(dict(partitions=[low, high], teachers=teachers, global_batch=8,
                                  student=dict(params=1, fsdp_units=[0, 1])), args)
    f = totals['flops_per_image']
    low_sam = 0.25 * (0.5 * 1000 / 64 + 0.5 * 1000 / 4)
    assert f['student_fwd_bwd'] == 18
    assert f['teachers_fwd'] == pytest.approx(0.25 * 100 + low_sam + 0.75 * 5 * 100)
    assert f['teachers_fwd_online_only'] == pytest.approx(low_sam + 0.75 * 5 * 100)
    assert f['cached'] == pytest.approx(18 + low_sam + 0.75 * 5 * 100)
    assert totals['run']['cache_bytes_per_image'] == 10  # clip in the low partition only


def test_configs_must_be_distillers(plan):
    with pytest.raises(ValueError, match='RADIODistiller'):
        plan.recipe_from_config('configs/classification/radio-vitb_linear-probe_in1k.py')
