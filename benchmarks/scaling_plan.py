"""A scaling plan for the distillation recipes, measured on meta tensors: FLOPs per image,
memory per GPU under DDP and FSDP2, what the teacher cache saves, images/s at a stated
model-FLOP utilisation, and the GPU-hours of a 600k-step run.

    python benchmarks/scaling_plan.py                   # work_dirs/benchmarks/scaling.{json,md}
    python benchmarks/scaling_plan.py --update-results  # benchmarks/results/scaling.json and
                                                        # docs/scaling.md (tracked)
    python benchmarks/scaling_plan.py configs/distill/radio_vith.py --gpu a100 --mfu 0.35
    python benchmarks/scaling_plan.py --update-results --doc-only  # page again from the JSON

Every model is the real one, built from its config on the meta device (shapes, no weights,
no memory; teachers with ``pretrained=None``), so a ViT-H student with a 7B teacher is counted
in about a minute on a CPU:

* FLOPs: ``radio_mm.analysis.benchmark.count_flops`` (torch's ``FlopCounterMode``: matmuls,
  convolutions, attention; a multiply-add is 2) over the student's forward + backward
  (backbone and the adaptor heads of the partition's teachers) and each teacher's forward at
  its own input size. Recomputation under activation checkpointing is counted apart
  (hardware FLOPs), not in the model FLOPs that utilisation is defined on.
* Activations: the bytes autograd saves for backward (``saved_tensors_hooks``; a storage that
  several ops save counts once), with bf16 autocast's casting rules applied by hand
  (:class:`AutocastOnMeta`: autocast ignores meta tensors) and attention saved as a flash
  kernel saves it (q, k, v, output, log-sum-exp), at batch 1 and 2: the difference is the
  cost of one image. With activation checkpointing: what is saved outside the checkpointed
  units, plus their inputs, plus the largest unit's own saved tensors (recomputed one unit
  at a time in backward).
* Memory per GPU: parameter, gradient, AdamW and EMA bytes from the counted parameters
  (:func:`memory_per_gpu`, whose sharding factors are the whole difference between DDP and
  FSDP2), plus the measured activations of the per-GPU micro-batch.

* Teacher forwards per image follow each partition's teacher input mode
  (:func:`teacher_forwards`): 'resize' one forward, FeatSharp's 'tile' one per tile plus
  one of the whole image for a summary, RADIOv2.5's 'mosaic' a ``1 / grid**2`` share of a
  forward (plus the whole image for a summary), at each stage resolution's share of the run.

``configs`` take any distillation config.
"""
import argparse
import contextlib
import copy
import json
import math
import os
import os.path as osp
import sys
import time
import warnings
from typing import NamedTuple
from unittest import mock

import torch
import torch.nn.functional as F
import torch.utils.checkpoint
from mmengine.config import Config
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_map_only

from radio_mm.analysis.benchmark import count_flops, machine_info
from radio_mm.registry import MODELS

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
RESULTS_DIR = osp.join(REPO_ROOT, 'benchmarks', 'results')  # tracked: --update-results only
DOC = osp.join(REPO_ROOT, 'docs', 'scaling.md')
DEFAULT_OUT_DIR = osp.join(REPO_ROOT, 'work_dirs', 'benchmarks')
DEFAULT_CONFIGS = ('configs/distill/radio_vith.py', 'configs/distill/eradio_l.py',
                   'configs/distill/c-radio_v4_vith.py', 'configs/distill/c-radio_v4_so400m.py')
GIB = 2**30


class GPU(NamedTuple):
    name: str
    peak_flops: float  # dense bf16 tensor-core FLOP/s
    memory_bytes: int
    source: str


# Dense (not 2:4-sparse) bf16 peaks: the datasheets print the sparse figure, twice these.
GPUS = {
    'h100': GPU('NVIDIA H100 SXM5 80GB', 989.4e12, 80 * 10**9,
                'NVIDIA H100 datasheet (nvidia.com/en-us/data-center/h100): BF16 Tensor Core '
                '1,979 TFLOPS with sparsity, i.e. 989.4 TFLOPS dense'),
    'h200': GPU('NVIDIA H200 SXM 141GB', 989.4e12, 141 * 10**9,
                'NVIDIA H200 datasheet (nvidia.com/en-us/data-center/h200): BF16 Tensor Core '
                '1,979 TFLOPS with sparsity, i.e. 989.4 TFLOPS dense'),
    'a100': GPU('NVIDIA A100 SXM4 80GB', 312e12, 80 * 10**9,
                'NVIDIA A100 datasheet (nvidia.com/en-us/data-center/a100): BF16 Tensor Core '
                '312 TFLOPS dense (624 with sparsity)'),
}

# Bytes per trainable parameter (AmpOptimWrapper: fp32 weights, autocast to bf16 in the
# forward; configs/_base_/schedules/distill_600k.py): fp32 weights, fp32 gradients, AdamW's
# exp_avg and exp_avg_sq in fp32 (torch.optim.AdamW), the student EMA copy in fp32
# (StudentEMAHook), and DDP's gradient buckets, a second fp32 copy of the gradients
# (DistributedDataParallel's default gradient_as_bucket_view=False).
STATE_BYTES = dict(weights=4, gradients=4, adamw=8, ema=4)
DDP_BUCKET_BYTES = 4
# Frozen teachers keep fp32 weights and run under bf16 autocast (BaseTeacher: dtype='bf16').
TEACHER_WEIGHT_BYTES = 4
# FSDP2 (torch.distributed.fsdp.fully_shard per block, MixedPrecisionPolicy(bf16)): a block's
# weights are all-gathered in bf16 for its forward and backward and its gradients
# reduce-scattered in bf16; with the next block prefetched, two blocks are whole at a time.
# The root's unit (what is not in a block) stays whole for the whole step. At most: the
# student's and a teacher's whole units at once.
FSDP_GATHERED_BLOCKS = 2
FSDP_UNIT_BYTES = 2 + 2  # bf16 weights + bf16 gradients of a gathered student unit
FSDP_TEACHER_UNIT_BYTES = 2  # bf16 weights of a gathered teacher unit (no gradients)
CACHE_BYTES = 2  # tools/cache_teachers.py --dtype bf16


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='FLOPs, memory and GPU-hours of recipes')
    parser.add_argument('configs', nargs='*', default=list(DEFAULT_CONFIGS),
                        help='distillation configs (default: ' + ' '.join(DEFAULT_CONFIGS) + ')')
    parser.add_argument('--gpu', choices=sorted(GPUS), default='h100')
    parser.add_argument('--mfu', type=float, default=0.4,
                        help='model-FLOP utilisation assumed for images/s and GPU-hours')
    parser.add_argument('--gpus', type=int, nargs='+', default=[8, 64, 256])
    parser.add_argument('--steps', type=int, default=600000)
    parser.add_argument('--global-batch', type=int,
                        help="images per step (default: the config's auto_scale_lr "
                        'base_batch_size, the batch its learning rate is set for)')
    out = parser.add_mutually_exclusive_group()
    out.add_argument('--out-dir', default=DEFAULT_OUT_DIR,
                     help='where scaling.json and scaling.md go (default: work_dirs/benchmarks)')
    out.add_argument('--update-results', action='store_true',
                     help='write the tracked benchmarks/results/scaling.json and docs/scaling.md')
    parser.add_argument('--doc-only', action='store_true',
                        help='measure nothing: write scaling.md again from the scaling.json '
                        'already in the output folder (after editing the text)')
    args = parser.parse_args(argv)
    if not 0 < args.mfu <= 1:
        parser.error(f'--mfu is a fraction of the peak in (0, 1], got {args.mfu}')
    if args.update_results:
        args.out_dir = RESULTS_DIR
    return args


# -- building on meta ----------------------------------------------------------------------
class Recipe(NamedTuple):
    name: str
    source: str
    model: dict  # a RADIODistiller config
    global_batch: int


def recipe_from_config(path, global_batch=None):
    """The distiller config of a recipe file and the global batch it is set for."""
    cfg = Config.fromfile(osp.join(REPO_ROOT, path))
    if cfg.model.get('type') != 'RADIODistiller':
        raise ValueError(f'{path}: model.type is {cfg.model.get("type")!r}; the scaling plan '
                         'reads distillation configs (model.type RADIODistiller)')
    if global_batch is None:
        scale = cfg.get('auto_scale_lr') or {}
        if 'base_batch_size' not in scale:
            raise ValueError(f'{path} has no auto_scale_lr.base_batch_size (the batch its '
                             'learning rate is set for); pass --global-batch')
        global_batch = scale['base_batch_size']
    name = osp.splitext(osp.basename(path))[0]
    return Recipe(name, path, cfg.model.to_dict(), int(global_batch))


class _LinspaceOnCPU(TorchFunctionMode):
    """``torch.linspace`` without a device on the CPU, whatever the default device."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is torch.linspace and kwargs.get('device') is None:
            kwargs = dict(kwargs, device='cpu')
        return func(*args, **kwargs)


@contextlib.contextmanager
def _sam2_on_meta():
    """SAM 2's Hiera reads its drop-path rates with ``[x.item() for x in torch.linspace(0,
    drop_path_rate, depth)]`` (sam2/modeling/backbones/hieradet.py, ``Hiera.__init__``), which
    a meta tensor cannot give: that one schedule of Python floats is made on the CPU, every
    parameter and buffer stays on meta. A no-op where the sam2 package is not installed."""
    try:
        from sam2.modeling.backbones import hieradet
    except ImportError:
        yield
        return
    init = hieradet.Hiera.__init__

    def hiera_init(self, *args, **kwargs):
        with _LinspaceOnCPU():
            init(self, *args, **kwargs)

    with mock.patch.object(hieradet.Hiera, '__init__', hiera_init):
        yield


def build_on_meta(model_cfg):
    """The distiller of ``model_cfg`` on the meta device, teachers without weights."""
    cfg = copy.deepcopy(model_cfg)
    for teacher in cfg['teachers']:
        teacher['pretrained'] = None  # shapes only: no file is read
    with warnings.catch_warnings(), torch.device('meta'), _sam2_on_meta():
        # every teacher is random by construction here; its warning says nothing new
        warnings.filterwarnings('ignore', message='.*random weights.*')
        distiller = MODELS.build(cfg)
    on_cpu = [name for name, t in distiller.state_dict().items() if not t.is_meta]
    if on_cpu:
        raise RuntimeError(f'built on meta, yet {on_cpu[:5]} are not meta tensors: counting '
                           'them would allocate memory; build them on the default device')
    return distiller


def num_params(module):
    return sum(p.numel() for p in module.parameters())


def fsdp_units(module):
    """(parameters outside any block, parameters of the largest block) of ``module`` sharded
    per block: blocks are the outermost modules whose class name ends in ``Block`` (timm's
    and SAM's ``Block``, E-RADIO's, open_clip's ``ResidualAttentionBlock``); the rest (patch
    embedding, position grid, adaptor heads, necks) is the root's unit."""
    blocks, inside = [], set()
    for name, child in module.named_modules():
        if type(child).__name__.endswith('Block') and not any(
                name.startswith(p + '.') for p in inside):
            blocks.append(num_params(child))
            inside.add(name)
    return num_params(module) - sum(blocks), max(blocks, default=0)


# -- counting --------------------------------------------------------------------------------
def _to(dtype):
    return lambda t: t.to(dtype) if t.is_floating_point() else t


class _SavedBias(torch.autograd.Function):
    """Identity on the attention output that saves a learned bias for backward, as the
    memory-efficient kernel (the one GPUs run when the bias needs a gradient) does."""

    @staticmethod
    def forward(ctx, out, bias):
        ctx.save_for_backward(bias)
        return out.view_as(out)

    @staticmethod
    def backward(ctx, grad):
        return grad, None


def _flash_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False,
                     scale=None, **kwargs):
    """What a fused attention kernel saves for backward (q, k, v, output, log-sum-exp, and a
    learned bias), not the attention matrix of the math path that meta tensors take."""
    bias = attn_mask if attn_mask is not None and attn_mask.requires_grad else None
    out, _ = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu(
        query, key, value, dropout_p, is_causal,
        attn_mask=None if attn_mask is None else attn_mask.detach(), scale=scale)
    return out if bias is None else _SavedBias.apply(out, bias)


class AutocastOnMeta(TorchFunctionMode):
    """CUDA bf16 autocast's casts (torch.amp docs, "CUDA Ops that can autocast to float16"
    and "... to float32"), applied by hand above autograd, as autocast does: autocast itself
    skips meta tensors. Attention runs as a flash kernel (:func:`_flash_attention`)."""

    LOW = (F.linear, F.conv1d, F.conv2d, F.conv3d, F.conv_transpose2d, torch.matmul,
           torch.mm, torch.bmm, torch.addmm, torch.baddbmm, torch.Tensor.__matmul__,
           torch.Tensor.matmul, F.scaled_dot_product_attention)
    FULL = (F.layer_norm, F.group_norm, F.softmax, F.log_softmax, torch.softmax,
            torch.Tensor.softmax, F.cosine_similarity, F.normalize)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in self.LOW or func in self.FULL:
            dtype = torch.bfloat16 if func in self.LOW else torch.float32
            args, kwargs = tree_map_only(torch.Tensor, _to(dtype), (args, kwargs))
        if func is F.scaled_dot_product_attention:
            func = _flash_attention
        return func(*args, **kwargs)


class SavedForBackward:
    """Bytes autograd keeps for backward, by storage (a storage saved twice, or through two
    views, counts once), split by activation-checkpointing unit.

    Inside :meth:`checkpoint_units` every ``checkpoint(fn, *args)`` of radio_mm's models runs
    ``fn`` directly as one unit: its saved tensors and its inputs are recorded apart.
    """

    def __init__(self):
        self.storages = {}  # storage id -> (bytes, unit or None)
        self.unit_inputs = {}
        self.unit = None
        self.num_units = 0
        self._alive = []  # keeps storages (and so their ids) alive while counting

    def _key(self, tensor):
        storage = tensor.untyped_storage()
        self._alive.append(tensor)
        return storage._cdata, storage.nbytes()

    def pack(self, tensor):
        key, nbytes = self._key(tensor)
        self.storages.setdefault(key, (nbytes, self.unit))
        return tensor

    def hooks(self):
        return torch.autograd.graph.saved_tensors_hooks(self.pack, lambda tensor: tensor)

    @contextlib.contextmanager
    def checkpoint_units(self):
        def run_unit(function, *args, use_reentrant=None, **kwargs):
            for arg in args:
                if torch.is_tensor(arg):
                    key, nbytes = self._key(arg)
                    self.unit_inputs[key] = nbytes
            outer, self.unit = self.unit, self.num_units
            self.num_units += 1
            try:
                return function(*args, **kwargs)
            finally:
                self.unit = outer

        checkpoint = torch.utils.checkpoint.checkpoint
        users = [m for name, m in list(sys.modules.items())
                 if name.startswith('radio_mm.') and getattr(m, 'checkpoint', None) is checkpoint]
        with contextlib.ExitStack() as stack:
            for module in users:
                stack.enter_context(mock.patch.object(module, 'checkpoint', run_unit))
            yield

    def totals(self):
        """(bytes saved without checkpointing, bytes with checkpointing)."""
        total = sum(nbytes for nbytes, _ in self.storages.values())
        by_unit = {}
        for nbytes, unit in self.storages.values():
            if unit is not None:
                by_unit[unit] = by_unit.get(unit, 0) + nbytes
        outer = {k for k, (_, unit) in self.storages.items() if unit is None}
        inputs = sum(n for k, n in self.unit_inputs.items() if k not in outer)
        return total, total - sum(by_unit.values()) + inputs + max(by_unit.values(), default=0)


def student_loss(student, images, teacher_names):
    """The student's part of a distillation step: backbone, then the adaptor heads of
    ``teacher_names``; a scalar to call backward on (losses and resizing are elementwise)."""
    radio = student.forward_backbone(images)
    outputs = [student.adaptors[name](radio, standardized=True) for name in teacher_names]
    return sum(t.float().sum() for out in outputs for t in out if t is not None)


def _meta_images(batch_size, hw, requires_grad=False):
    return torch.empty(batch_size, 3, *hw, device='meta', requires_grad=requires_grad)


def saved_bytes(student, teacher_names, hw, batch_size):
    """(without, with checkpointing) bytes saved for backward by one student step."""
    counter = SavedForBackward()
    with counter.checkpoint_units(), counter.hooks(), AutocastOnMeta():
        student_loss(student, _meta_images(batch_size, hw), teacher_names)
    if student.backbone.with_cp and not counter.num_units:
        raise RuntimeError(
            f'{type(student.backbone).__name__} checkpoints no unit through a module-level '
            '`checkpoint` (torch.utils.checkpoint.checkpoint) of radio_mm, so activations '
            'with checkpointing cannot be counted: update SavedForBackward.checkpoint_units '
            'to the way the backbone now checkpoints')
    return counter.totals()


def measure_student(student, teacher_names, hw):
    """FLOPs and activation bytes per image of one student step at ``hw`` (H, W)."""
    backbone = student.backbone
    with_cp = backbone.with_cp
    images = _meta_images(1, hw)
    try:
        backbone.with_cp = False
        losses = []
        forward = count_flops(lambda: losses.append(student_loss(student, images, teacher_names)))
        backward = count_flops(lambda: losses.pop().backward())
        backbone.with_cp = True  # hardware FLOPs: backward recomputes each unit's forward
        losses.append(student_loss(student, images, teacher_names))
        backward_cp = count_flops(lambda: losses.pop().backward())
        one, two = (saved_bytes(student, teacher_names, hw, b) for b in (1, 2))
    finally:
        backbone.with_cp = with_cp
        student.zero_grad(set_to_none=True)
    return dict(forward_flops=forward, backward_flops=backward,
                recompute_flops=backward_cp - backward,
                activation_bytes=two[0] - one[0], activation_bytes_cp=two[1] - one[1],
                fixed_saved_bytes=2 * one[0] - two[0])


def measure_teacher(teacher):
    """Forward FLOPs per image at the teacher's input size and its outputs' shapes."""
    images = _meta_images(1, teacher.input_size)
    outputs = []
    with torch.no_grad():
        flops = count_flops(lambda: outputs.append(teacher.encode(images)))
    summary, features = outputs[0]
    shapes = dict(features=list(features.shape[1:]),
                  summary=None if summary is None else list(summary.shape[1:]))
    elements = features[0].numel() + (0 if summary is None else summary[0].numel())
    return dict(type=type(teacher).__name__, arch=teacher.arch,
                input_size=list(teacher.input_size), params=num_params(teacher),
                fsdp_units=fsdp_units(teacher), forward_flops=flops,
                outputs=shapes, cache_bytes=elements * CACHE_BYTES)


def teacher_forwards(teacher_input, teacher, student_hw):
    """(forwards of ``teacher`` at its input size per image, tile or mosaic grid) for a
    student at ``student_hw``, as ``teacher_input`` (radio_mm/models/distillers/
    teacher_inputs.py) runs it.

    'resize': one forward of the whole image. 'tile' (``TiledImage``): ``rows x cols``
    tiles, plus one forward of the whole image when the teacher has a summary; a 1 x 1 grid
    is that one forward. 'mosaic' (``Mosaic``): one forward serves ``grid**2`` images, plus
    one of the whole image for a summary. A batch that does not fill its last mosaic pays
    for all of it; not counted (per-GPU batches here are multiples of 16).
    """
    summary = teacher.summary_dim is not None
    if teacher_input.mode == 'resize':
        return 1, None
    if teacher_input.mode == 'tile':
        rows, cols = teacher_input.grid(teacher, student_hw)
        return (1 if (rows, cols) == (1, 1) else rows * cols + summary), [rows, cols]
    if teacher_input.mode == 'mosaic':
        grid = teacher_input.grid_for(teacher, student_hw)
        return 1 / grid**2 + summary, [grid, grid]
    raise ValueError(f'teacher input mode {teacher_input.mode!r}: the scaling plan counts '
                     "'resize', 'tile' and 'mosaic'; teach teacher_forwards the new one")


# -- arithmetic -------------------------------------------------------------------------------
def memory_per_gpu(student_params, student_units, teacher_params, teacher_units, world_size,
                   strategy, activation_bytes=0):
    """Bytes per GPU by kind under ``strategy`` ('ddp' or 'fsdp2') on ``world_size`` GPUs.

    DDP keeps everything whole on every GPU (plus its gradient buckets); FSDP2 divides the
    student's weights, gradients, AdamW and EMA states and the teachers' weights by the world
    size and holds whole only the units being computed: the root's unit and
    ``FSDP_GATHERED_BLOCKS`` blocks, of the student and of a teacher (``*_units``: (root
    parameters, largest block parameters), :func:`fsdp_units`). Activations do not depend on
    the strategy.
    """
    if strategy == 'ddp':
        shard, gathered = 1, 0
        buckets = DDP_BUCKET_BYTES * student_params
    elif strategy == 'fsdp2':
        shard, buckets = world_size, 0
        gathered = sum(nbytes * (root + FSDP_GATHERED_BLOCKS * block) for nbytes, (root, block)
                       in ((FSDP_UNIT_BYTES, student_units),
                           (FSDP_TEACHER_UNIT_BYTES, teacher_units)))
    else:
        raise ValueError(f"strategy must be 'ddp' or 'fsdp2', got {strategy!r}")
    memory = {kind: nbytes * student_params / shard for kind, nbytes in STATE_BYTES.items()}
    memory.update(ddp_buckets=buckets, teacher_weights=TEACHER_WEIGHT_BYTES * teacher_params
                  / shard, fsdp_whole_units=gathered, activations=activation_bytes)
    memory['total'] = sum(memory.values())
    return memory


def stage_weights(partition, steps):
    """[(resolution, share of the run)]: each stage's resolutions drawn evenly."""
    stages = partition.stages()
    weights = []
    for (start, resolutions), end in zip(stages, [s for s, _ in stages[1:]] + [steps]):
        span = max(0, min(end, steps) - start) / steps
        weights += [(tuple(r), span / len(resolutions)) for r in resolutions]
    return weights


def plan_recipe(recipe, args, teacher_rows=None, log=print):
    """Every number of the plan for one recipe (module docstring). ``teacher_rows`` keeps
    the teachers measured for earlier recipes, by config."""
    start = time.perf_counter()
    distiller = build_on_meta(recipe.model)
    student = distiller.student.train()
    teacher_rows = {} if teacher_rows is None else teacher_rows
    teachers = {}
    for cfg in recipe.model['teachers']:
        key = json.dumps(cfg, sort_keys=True)
        if key not in teacher_rows:
            teacher_rows[key] = measure_teacher(distiller.teachers[cfg['name']])
        teachers[cfg['name']] = teacher_rows[key]
    partitions, measured = [], {}
    for partition in distiller.partitions:
        names = list(partition.teachers)
        rows = []
        for hw, share in stage_weights(partition, args.steps):
            key = (hw, tuple(names))
            if key not in measured:
                measured[key] = measure_student(student, names, hw)
                log(f'  {recipe.name}: student at {hw[0]}x{hw[1]} with {names} measured')
            forwards = {n: teacher_forwards(partition.teacher_inputs[n],
                                            distiller.teachers[n], hw) for n in names}
            rows.append(dict(resolution=list(hw), share_of_run=share,
                             teacher_forwards={n: f for n, (f, _) in forwards.items()},
                             teacher_grids={n: g for n, (_, g) in forwards.items()},
                             **measured[key]))
        inputs = partition.teacher_inputs
        partitions.append(dict(teachers=names, batch_fraction=partition.batch_fraction,
                               teacher_inputs={n: inputs[n].mode for n in names},
                               online_only=[n for n in names
                                            if inputs[n].needs_online_teacher],
                               stages=rows))
    result = dict(
        name=recipe.name, source=recipe.source,
        global_batch=recipe.global_batch, steps=args.steps,
        student=dict(backbone=recipe.model['student']['backbone'],
                     params=num_params(student), backbone_params=num_params(student.backbone),
                     fsdp_units=fsdp_units(student)),
        teachers=teachers, partitions=partitions)
    result.update(run_totals(result, args))
    result['seconds'] = time.perf_counter() - start
    return result


def _mean(partitions, field):
    """Per image over the run: partitions by batch share, resolutions by share of the run."""
    return sum(p['batch_fraction'] * s['share_of_run'] * s[field]
               for p in partitions for s in p['stages'])


def _peak(partitions, field):
    """Per image at the costliest step: each partition at its largest resolution."""
    return sum(p['batch_fraction'] * max(s[field] for s in p['stages']) for p in partitions)


def run_totals(plan, args):
    """FLOPs per image, images/s, GPU-hours and memory per GPU from the measured rows."""
    gpu = GPUS[args.gpu]
    parts = plan['partitions']
    teachers = plan['teachers']
    student_flops = _mean(parts, 'forward_flops') + _mean(parts, 'backward_flops')

    def teacher_flops(online_only):
        """Per image over the run; only the teachers a cache cannot serve if
        ``online_only`` (tile and mosaic modes: a cache holds targets of whole views)."""
        return sum(p['batch_fraction'] * s['share_of_run'] * f * teachers[n]['forward_flops']
                   for p in parts for s in p['stages'] for n, f in s['teacher_forwards'].items()
                   if not online_only or n in p['online_only'])

    all_teachers, online = teacher_flops(False), teacher_flops(True)
    total, cached = student_flops + all_teachers, student_flops + online
    rate = args.mfu * gpu.peak_flops
    images = args.steps * plan['global_batch']
    cache_bytes = sum(teachers[n]['cache_bytes'] for p in parts for n in p['teachers']
                      if n not in p['online_only'])
    flops = dict(student_fwd_bwd=student_flops, teachers_fwd=all_teachers,
                 teachers_fwd_online_only=online, total=total, cached=cached,
                 recompute=_mean(parts, 'recompute_flops'), teacher_share=all_teachers / total)
    throughput = dict(images_per_s_per_gpu=rate / total,
                      images_per_s_per_gpu_cached=rate / cached)
    run = dict(images=images, gpu_hours=images * total / rate / 3600,
               gpu_hours_cached=images * cached / rate / 3600,
               cache_build_gpu_hours=images * (all_teachers - online) / rate / 3600,
               cache_bytes_per_image=cache_bytes, cache_bytes_all_images=cache_bytes * images)
    teacher_params = sum(t['params'] for t in teachers.values())
    teacher_units = max((tuple(t['fsdp_units']) for t in teachers.values()), key=sum)
    memory = {}
    for world_size in args.gpus:
        micro = plan['global_batch'] / world_size
        for cp in (False, True):
            act = _peak(parts, 'activation_bytes_cp' if cp else 'activation_bytes')
            for strategy in ('ddp', 'fsdp2'):
                mem = memory_per_gpu(plan['student']['params'],
                                     plan['student']['fsdp_units'], teacher_params,
                                     teacher_units, world_size, strategy, micro * act)
                room = gpu.memory_bytes - (mem['total'] - mem['activations'])
                fits = max(0, math.floor(room / act))
                memory[f'{world_size}/{strategy}/{"cp" if cp else "no_cp"}'] = dict(
                    world_size=world_size, strategy=strategy, checkpointing=cp,
                    images_per_gpu=micro, activation_bytes_per_image=act, bytes=mem,
                    fits=mem['total'] <= gpu.memory_bytes, images_that_fit=fits,
                    accumulation_steps=math.ceil(micro / fits) if fits else None)
    return dict(flops_per_image=flops, throughput=throughput, run=run, memory=memory)


# -- the document ---------------------------------------------------------------------------
def _g(flops):
    return f'{flops / 1e9:,.0f}'


def _gib(nbytes):
    return f'{nbytes / GIB:,.1f}'


def _size(nbytes):
    for unit, scale in (('PB', 1e15), ('TB', 1e12), ('GB', 1e9), ('MB', 1e6), ('kB', 1e3)):
        if nbytes >= scale:
            return f'{nbytes / scale:,.1f} {unit}'
    return f'{nbytes:.0f} B'


def _resolutions(stages):
    sides = sorted({s['resolution'][0] for s in stages})
    return '/'.join(str(s) for s in sides)


def _forwards(n):
    return f'1/{round(1 / n)}' if n < 1 else f'{n:.3g}'


def _teacher_input(partition, name):
    """'sam2: mosaic (128: 8x8 = 1/64, ...)': a teacher's mode and forwards per image."""
    mode = partition['teacher_inputs'][name]
    if mode == 'resize':
        return f'{name}: resize (1)'
    counts = {}
    for s in partition['stages']:
        grid = 'x'.join(str(g) for g in s['teacher_grids'][name])
        counts[s['resolution'][0]] = f"{grid} = {_forwards(s['teacher_forwards'][name])}"
    return f"{name}: {mode} ({', '.join(f'{k}: {v}' for k, v in sorted(counts.items()))})"


def recipe_section(plan, args):
    gpu = GPUS[args.gpu]
    f, t, run = plan['flops_per_image'], plan['throughput'], plan['run']
    student = plan['student']
    lines = [f"### {plan['name']}", '',
             f"Source: `{plan['source']}`. Student `{student['backbone']['type']}"
             f"({student['backbone'].get('arch')})`: {student['params'] / 1e6:,.0f} M "
             f"trainable parameters (backbone {student['backbone_params'] / 1e6:,.0f} M, the "
             f"rest adaptor heads); global batch {plan['global_batch']}.", '',
             '| partition (batch share) | student sides (px) | teachers: input mode (teacher '
             'forwards per image at each student side) |', '|---|---|---|']
    for p in plan['partitions']:
        lines.append(f"| {p['batch_fraction']:.2f} | {_resolutions(p['stages'])} | "
                     f"{'; '.join(_teacher_input(p, n) for n in p['teachers'])} |")
    lines += ['', '| model | input | parameters | GFLOPs / forward at its input | cached '
              'targets of a whole view (bf16) |', '|---|---|---:|---:|---:|']
    for name, teacher in plan['teachers'].items():
        shapes = teacher['outputs']
        out = 'x'.join(str(v) for v in shapes['features'])
        if shapes['summary']:
            out += f" + {shapes['summary'][0]}"
        lines.append(f"| {name}: `{teacher['arch']}` | {teacher['input_size'][0]} px | "
                     f"{teacher['params'] / 1e6:,.0f} M | {_g(teacher['forward_flops'])} | "
                     f"{out}: {_size(teacher['cache_bytes'])} |")
    lines += ['', '| student step at | forward GFLOPs | backward GFLOPs | recompute (cp) | '
              'activations / image | with cp |', '|---|---:|---:|---:|---:|---:|']
    seen = set()
    for p in plan['partitions']:
        for s in p['stages']:
            key = (tuple(s['resolution']), tuple(p['teachers']))
            if key in seen:
                continue
            seen.add(key)
            lines.append(f"| {s['resolution'][0]} px, heads of {', '.join(p['teachers'])} | "
                         f"{_g(s['forward_flops'])} | {_g(s['backward_flops'])} | "
                         f"{_g(s['recompute_flops'])} | {_gib(s['activation_bytes'])} GiB | "
                         f"{_gib(s['activation_bytes_cp'])} GiB |")
    online = (f" (teachers in tile or mosaic mode stay online: "
              f"{_g(f['teachers_fwd_online_only'])} GFLOPs / image)"
              if f['teachers_fwd_online_only'] else '')
    lines += ['', f"Per image, averaged over the run: student forward + backward "
              f"**{_g(f['student_fwd_bwd'])} GFLOPs**, teachers **{_g(f['teachers_fwd'])} "
              f"GFLOPs** ({100 * f['teacher_share']:.0f}% of {_g(f['total'])}); recomputation "
              f"under activation checkpointing adds {_g(f['recompute'])} hardware GFLOPs.", '',
              f"At {100 * args.mfu:.0f}% MFU of the {gpu.name}: **{t['images_per_s_per_gpu']:,.0f}"
              f" images/s per GPU** online, **{t['images_per_s_per_gpu_cached']:,.0f}** from a "
              f"teacher cache. A {args.steps:,}-step run ({run['images'] / 1e9:,.2f} B images): "
              f"**{run['gpu_hours']:,.0f} GPU-hours** online "
              f"({run['gpu_hours'] / 256 / 24:,.1f} days on 256 GPUs), "
              f"**{run['gpu_hours_cached']:,.0f}** from a cache{online}, which costs "
              f"{run['cache_build_gpu_hours']:,.0f} GPU-hours of teacher forwards to build "
              f"(each cached view read once) and {_size(run['cache_bytes_per_image'])} per "
              f"image, {_size(run['cache_bytes_all_images'])} for every image of the run.", '',
              'GiB per GPU:', '',
              '| GPUs | images / GPU | strategy | weights + grads + AdamW + EMA | DDP buckets | '
              'teachers | FSDP2 whole units | activations (cp) | total (cp) | '
              'fits (cp) | activations (no cp) | total (no cp) |',
              '|---:|---:|---|---:|---:|---:|---:|---:|---:|---|---:|---:|']
    for world_size in args.gpus:
        for strategy in ('ddp', 'fsdp2'):
            cp = plan['memory'][f'{world_size}/{strategy}/cp']
            no_cp = plan['memory'][f'{world_size}/{strategy}/no_cp']
            b = cp['bytes']
            states = sum(b[k] for k in STATE_BYTES)
            fits = 'yes' if cp['fits'] else (
                f"no: {cp['images_that_fit']} / GPU, {cp['accumulation_steps']} accumulation "
                'steps' if cp['images_that_fit'] else 'no')
            lines.append(
                f"| {world_size} | {cp['images_per_gpu']:g} | {strategy.upper()} | "
                f"{_gib(states)} | {_gib(b['ddp_buckets'])} | {_gib(b['teacher_weights'])} | "
                f"{_gib(b['fsdp_whole_units'])} | {_gib(b['activations'])} | "
                f"{_gib(b['total'])} | {fits} | {_gib(no_cp['bytes']['activations'])} | "
                f"{_gib(no_cp['bytes']['total'])} |")
    return '\n'.join(lines)


def write_doc(plans, args, path):
    gpu = GPUS[args.gpu]
    rows = ['| recipe | student params | GFLOPs / image (student + teachers) | teacher share | '
            f'images/s/GPU online | cached | GPU-hours, {args.steps // 1000}k steps | cached |',
            '|---|---:|---:|---:|---:|---:|---:|---:|']
    for plan in plans:
        f, t, run = plan['flops_per_image'], plan['throughput'], plan['run']
        rows.append(f"| {plan['name']} (batch {plan['global_batch']}) | "
                    f"{plan['student']['params'] / 1e6:,.0f} M | {_g(f['student_fwd_bwd'])} + "
                    f"{_g(f['teachers_fwd'])} | {100 * f['teacher_share']:.0f}% | "
                    f"{t['images_per_s_per_gpu']:,.0f} | {t['images_per_s_per_gpu_cached']:,.0f}"
                    f" | {run['gpu_hours']:,.0f} | {run['gpu_hours_cached']:,.0f} |")
    text = DOC_TEMPLATE.format(
        gpu=gpu.name, peak=gpu.peak_flops / 1e12, source=gpu.source, mfu=100 * args.mfu,
        memory=gpu.memory_bytes / 1e9, steps=f'{args.steps:,}', gpus=', '.join(
            str(n) for n in args.gpus), summary='\n'.join(rows),
        sections='\n\n'.join(recipe_section(p, args) for p in plans),
        command='python benchmarks/scaling_plan.py --update-results',
        seconds=sum(plan['seconds'] for plan in plans))
    with open(path, 'w') as f:
        f.write(text)


DOC_TEMPLATE = """\
# Scaling plan

What the distillation recipes cost at scale: FLOPs per image, memory per GPU under DDP and
FSDP2, images/s, and the GPU-hours of a {steps}-step run. **Every number below is written by
`benchmarks/scaling_plan.py`** (`{command}`; {seconds:.0f} s on the CPU it last ran on), from
the real models built from the configs on the meta device; the same numbers are in
`benchmarks/results/scaling.json`. Edit the script, not this file (`--update-results
--doc-only` renders it again from the JSON without measuring).

Assumed hardware: **{gpu}, {peak:.1f} TFLOP/s dense bf16** ({source}), {memory:.0f} GB, at a
stated **model-FLOP utilisation of {mfu:.0f}%**: an assumption, not a measurement (no GPU was
available; `--mfu` and `--gpu` change both). MFU follows PaLM (Chowdhery et al. 2022,
appendix B): model FLOPs (forward + backward of the student, forward of the teachers;
recomputation not counted) over the peak.

## Summary

{summary}

GPU-hours assume perfect scaling (they do not depend on the number of GPUs); "cached" is the
run with teacher targets from `tools/cache_teachers.py`, i.e. the student's FLOPs plus those
of the teachers in `tile` or `mosaic` mode, which a cache cannot serve (the C-RADIOv4
recipes' tiled SigLIP2-g and DINOv3-7B and mosaic SAM 2: most of their teacher FLOPs).

## Method

- **Models.** Each recipe's `RADIODistiller` is built on `torch.device('meta')` (teachers with
  `pretrained=None`): parameters are shapes only, so a 7B teacher takes no memory.
- **FLOPs** (`radio_mm.analysis.benchmark.count_flops`, torch's `FlopCounterMode`; a
  multiply-add is 2; matmuls, convolutions and attention, nothing elementwise). The student
  step is the backbone plus the adaptor heads of the partition's teachers, forward and
  backward both counted (not the 3x rule: the patch embedding needs no input gradient).
  Teachers are counted forward only, at their own input size, as many times per image of
  a partition as its teacher input mode runs them (`teacher_forwards`, after
  `radio_mm/models/distillers/teacher_inputs.py`): `resize` once; `tile` (FeatSharp's
  tiling) once per tile of its grid (`tiles='auto'`: per side, the student side over the
  teacher's input side, rounded) plus once on the whole image when the teacher has a
  summary (a 1x1 grid is that one forward); `mosaic` (RADIOv2.5) `1/grid^2` of a forward
  (one pass serves `grid x grid` images; `grid='auto'`: the largest that keeps each cell at
  least the student's side) plus the whole image for a summary. A mosaic that the batch
  does not fill is paid in full; not counted. Tile and mosaic counts depend on the
  student's side, so they are averaged like the student's FLOPs. Run averages weight
  partitions by batch share and each stage's resolutions (drawn evenly) by the iterations
  they run. Losses, feature resizing and
  normalisation are elementwise and left out. Recomputation under activation checkpointing
  is measured (the backward of the checkpointed model counted, minus the plain backward):
  torch's non-reentrant checkpoint stops recomputing a block at its last saved tensor, so a
  block's final MLP projection is not recomputed.
- **Activations**: the bytes autograd saves for backward in one student step, counted with
  `torch.autograd.graph.saved_tensors_hooks` (a storage saved twice or through two views
  counts once), with CUDA bf16 autocast's casting rules applied by hand (autocast skips meta
  tensors) and attention saved as a flash kernel saves it (q, k, v, output, log-sum-exp).
  Per image = saved at batch 2 minus saved at batch 1. With activation checkpointing (`cp`,
  `with_cp=True` in the configs): the tensors saved outside the checkpointed blocks, plus the
  blocks' inputs, plus the largest block's own saved tensors (backward recomputes one block at
  a time). Not counted: transient buffers of a single op (e.g. the teachers' attention under
  `no_grad`: SAM's global-attention blocks materialise the whole attention matrix at
  1024 px), the allocator's fragmentation, the CUDA context, NCCL buffers.
  The worst step is taken: every partition at its largest resolution.
- **Memory per GPU** (`memory_per_gpu`): fp32 weights (4 B/parameter), fp32 gradients (4),
  AdamW's two fp32 moments (8), the student EMA (4) (`AmpOptimWrapper` keeps fp32 weights and
  autocasts the forward; `StudentEMAHook`); DDP adds its gradient buckets (4 B/parameter,
  `gradient_as_bucket_view=False`). Teachers keep fp32 weights (they run under autocast;
  weights stored in bf16 would halve the teachers' column).
  FSDP2 (`fully_shard` per block, bf16 `MixedPrecisionPolicy`) divides all of those,
  teachers included, by the number of GPUs and holds whole, in bf16, the root's unit (what
  is in no block: patch embedding, position grid, adaptor heads) and two blocks (current +
  prefetched), with their bf16 gradients, of the student and at most as much of a teacher.
  The per-GPU micro-batch is the global batch divided by the GPUs ({gpus}); where it does not
  fit, the table gives the images that fit next to the fixed memory and the
  gradient-accumulation steps that keep the global batch. Teachers replicated instead of
  sharded under FSDP2 take the DDP rows' teacher column.
- **Teacher cache**: removes from every step the forward FLOPs of the teachers in
  `resize` mode; teachers in `tile` or `mosaic` mode stay online (a cache holds targets of
  whole views only: `check_teacher_inputs` in `radio_mm/models/distillers/partition.py`
  refuses them with a cache), so "cached" is the student plus those teachers. Costs one
  forward per stored view of each cached teacher (paid once, when building the cache), and
  the targets' bytes: each cached teacher's output shapes (features + summary) in bf16
  (`--dtype bf16`), per image and per partition it is cached for, plus the stored view
  itself (not counted here).

## Adding a recipe

The script takes any distillation configs (`model.type='RADIODistiller'`); the global batch is
the config's `auto_scale_lr.base_batch_size` (`--global-batch` overrides it):

    python benchmarks/scaling_plan.py configs/distill/radio_v2.5_vith.py

To track a recipe on this page, add its file to the script's `DEFAULT_CONFIGS` and run
`--update-results`. Teachers build on meta from their configs with `pretrained=None`; SAM 2's
Hiera reads its drop-path rates as Python floats from a `torch.linspace` (`.item()`), which a
meta tensor cannot give, so `build_on_meta` makes that one schedule on the CPU (every
parameter and buffer stays on meta, which it checks). A teacher input mode other than
`resize`, `tile` and `mosaic` must be taught to `teacher_forwards` (the script fails on one
it does not know).

## Recipes

{sections}
"""


def doc_args(results):
    """The arguments a results JSON was made with, as :func:`write_doc` reads them."""
    gpu = next(k for k, v in GPUS.items() if v.name == results['gpu']['name'])
    return argparse.Namespace(gpu=gpu, mfu=results['mfu'], steps=results['steps'],
                              gpus=results['gpus'])


def main():
    args = parse_args()
    path = osp.join(args.out_dir, 'scaling.json')
    doc = DOC if args.update_results else osp.join(args.out_dir, 'scaling.md')
    if args.doc_only:
        with open(path) as f:
            results = json.load(f)
        write_doc(results['recipes'], doc_args(results), doc)
        print(f'{path} -> {doc}')
        return
    recipes = [recipe_from_config(path, args.global_batch) for path in args.configs]
    start = time.perf_counter()
    plans, teacher_rows = [], {}
    for recipe in recipes:
        plans.append(plan_recipe(recipe, args, teacher_rows))
        print(f"{recipe.name}: {plans[-1]['seconds']:.0f} s")
    os.makedirs(args.out_dir, exist_ok=True)
    with open(path, 'w') as f:
        json.dump(dict(gpu=GPUS[args.gpu]._asdict(), mfu=args.mfu, steps=args.steps,
                       gpus=args.gpus, seconds=time.perf_counter() - start,
                       machine=machine_info(), recipes=plans), f, indent=2)
    write_doc(plans, args, doc)
    print(f'-> {path}, {doc}')


if __name__ == '__main__':
    main()
