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
    assert names[:2] == ['radio_vith', 'eradio_l']
    assert all(r['provisional'] for r in results['recipes'][2:])


def test_only_provisional_recipes_let_other_archs_through_the_dinov2_teacher(plan):
    teacher = dict(TOY_TEACHER, arch='vit_small_patch16_dinov3', input_size=32)
    cfg = dict(type='RADIODistiller', student=tiny_radio_model(), teachers=[teacher])
    with pytest.raises(ValueError, match='unknown arch'):
        plan.build_on_meta(cfg)
    assert plan.build_on_meta(cfg, ['vit_small_patch16_dinov3']).teachers['dino_v2'].patch_size \
        == 16


def test_configs_must_be_distillers(plan):
    with pytest.raises(ValueError, match='RADIODistiller'):
        plan.recipe_from_config('configs/classification/radio-vitb_linear-probe_in1k.py')
