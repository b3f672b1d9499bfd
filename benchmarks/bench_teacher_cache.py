"""Distillation from a teacher cache against online teachers, and the cache's disk cost.

    python benchmarks/bench_teacher_cache.py            # ~5 min on 2 idle CPU cores
    python benchmarks/bench_teacher_cache.py --quick    # fewer runs, demo only
    python benchmarks/bench_teacher_cache.py --setups vit_b_large --device cuda

For each setup (the demo, and the ViT-B student with ViT-L/H-shaped teachers of
bench_students.py, batch 1 as there) it builds a small cache with ``build_teacher_cache``
(sample photos, bf16 targets), then times in turns, call by call, three steps (loss + backward, no
optimizer update) on batches of the cached views:

* ``online``: the distiller with its teachers, as training runs without a cache;
* ``cached``: the same distiller from the cache, each step reading its next batch from the
  shards (tar read, PNG and .npy decoding, collation, preprocessing) in the main process,
  the pessimistic case (dataloader workers would hide it);
* ``student_only``: the cached distiller on a batch already decoded in memory: the student
  forward and backward, adaptor heads and losses, what a step costs when the teachers cost
  nothing.

Targets: online / cached >= 5 for the ViT-L/H-shaped teachers; cached / student_only <= 1.2.
Bytes per view are measured from the shards (per teacher, view image, tar overhead) and given
for fp32/fp16 from the same shapes. Results: benchmarks/results/teacher_cache.json.
"""
import argparse
import gc
import json
import os
import os.path as osp
import shutil
import statistics
import sys
import tarfile
import tempfile
import time
import warnings

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.logging import MessageHub

from radio_mm.analysis import build_model, load_model_cfg, machine_info
from radio_mm.analysis.benchmark import time_interleaved
from radio_mm.apis.teacher_cache import build_teacher_cache
from radio_mm.datasets import CachedTeacherViews
from radio_mm.formats.teacher_cache import read_manifest

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from bench_students import DEMO_DISTILLER, LARGE_TEACHERS, RESULTS_DIR, VIT_B_STUDENT  # noqa: E402

VIEWS = dict(demo=2, vit_b_large=1)  # per photo: 2 x ~25 skimage photos, 1 x 2 sklearn ones
NPY_HEADER = 128  # np.save's header for these shapes
BYTES = {'fp32': 4, 'fp16': 2, 'bf16': 2}


def parse_args():
    parser = argparse.ArgumentParser(description='benchmark training from a teacher cache')
    parser.add_argument('--quick', action='store_true', help='fewer runs, demo only')
    parser.add_argument('--setups', nargs='+', choices=['demo', 'vit_b_large'])
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--threads', type=int, help='torch CPU threads')
    parser.add_argument('--out-dir', default=RESULTS_DIR)
    return parser.parse_args()


def pipeline(size):
    return [
            dict(type='mmpretrain.RandomResizedCrop', scale=size, crop_ratio_range=(0.5, 1.0),
             backend='pillow', interpolation='bicubic'),
        dict(type='RandomFlip', prob=0.5, direction='horizontal'),
        dict(type='PackImageInputs'),
    ]


def setup_cfgs():
    demo, _ = load_model_cfg(DEMO_DISTILLER)
    student, _ = load_model_cfg(VIT_B_STUDENT)
    large = dict(type='RADIODistiller', student=dict(type='RADIOModel', backbone=student),
                 teachers=LARGE_TEACHERS, adaptor_cfg=dict(hidden_dims=768, num_inner=1),
                 resolutions=[(256, 256)])
    # (model, view size, batch, packages of sample photos); the demo's 0.75 / 0.25 partitions
    # need 4 images to give each at least one
    return dict(demo=(demo, 256, 4, ('skimage', )), vit_b_large=(large, 256, 1, ('sklearn', )))


def cache_config(model, size, batch, packages):
    return Config(dict(
        default_scope='radio_mm', model=model,
        train_dataloader=dict(batch_size=batch, num_workers=0, dataset=dict(
            type='PackageSampleImages', packages=packages, pipeline=pipeline(size)))))


def shard_bytes(cache):
    """Bytes per view in the shards: per member kind, with tar headers and padding."""
    totals, views = {}, 0
    for shard in read_manifest(cache).shards:
        with tarfile.open(osp.join(cache, shard)) as tar:
            for member in tar:
                kind = member.name.split('.', 1)[1]
                stored = 512 + -(-member.size // 512) * 512
                totals[kind] = totals.get(kind, 0) + stored
                views += kind == 'png'
    return {k: v / views for k, v in sorted(totals.items())}, views


def target_bytes(manifest):
    """Bytes per view of each teacher's targets, per storage precision, from the shapes."""
    rows = {}
    for teacher in manifest.teachers:
        h, w = teacher.valid_feature_hw
        values = teacher.feature_dim * h * w
        rows[teacher.name] = {
            dtype: NPY_HEADER + values * size + (
                0 if teacher.summary_dim is None
                else NPY_HEADER + teacher.summary_dim * size)
            for dtype, size in BYTES.items()}
    return rows


def step_calls(online, cached, cache, batch, device):
    """The three steps of the module docstring, as zero-argument calls."""
    def views():  # read from the shards again at the end of each pass
        while True:
            yield from CachedTeacherViews(cache, shuffle_buffer=0)

    stream = views()
    first = [next(stream) for _ in range(batch)]
    fixed = cached.data_preprocessor(pseudo_collate(first), True)
    for sample in fixed['data_samples']:  # decoded and on the device already
        sample.teacher_targets = {k: tuple(None if t is None else t.to(device) for t in v)
                                  for k, v in sample.teacher_targets.items()}

    cpu_seconds = {}

    def step(name, model, batch_fn):
        def run():
            start = time.process_time()
            model.zero_grad(set_to_none=True)
            data = batch_fn()
            losses = model(**data, mode='loss')
            sum(v for k, v in losses.items() if k.startswith('loss')).backward()
            cpu_seconds.setdefault(name, []).append(time.process_time() - start)
        return run

    def next_batch():
        return cached.data_preprocessor(pseudo_collate([next(stream) for _ in range(batch)]),
                                        True)

    calls = dict(online=step('online', online, lambda: dict(inputs=fixed['inputs'])),
                 cached=step('cached', cached, next_batch),
                 student_only=step('student_only', cached, lambda: fixed))
    return calls, cpu_seconds


def bench_setup(name, model_cfg, size, batch, packages, args, workdir):
    device = torch.device(args.device)
    cache = osp.join(workdir, name)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', message='.*random weights.*')
        built = build_teacher_cache(cache_config(model_cfg, size, batch, packages), cache,
                                    views=VIEWS[name], dtype='bf16', batch_size=batch,
                                    device=args.device)
    build_s = time.perf_counter() - start
    manifest = built['manifest']
    gc.collect()  # the cache's teachers, before the online distiller builds its own
    online = build_model(model_cfg, quiet_random_weights=True).to(device).train()
    cached = build_model(dict(model_cfg, teacher_cache=cache)).to(device).train()
    MessageHub.get_current_instance().update_info('iter', 0)
    calls, cpu_seconds = step_calls(online, cached, cache, batch, device)
    warmup, runs = (1, 3) if args.quick else (1, 15 if name == 'demo' else 2)
    seconds = time_interleaved(calls, device, warmup, runs, progress=True)
    ms = {k: 1e3 * statistics.median(v) for k, v in seconds.items()}
    # CPU time of this process (all its threads): steadier than wall time when other jobs
    # share the cores; warm-up calls left out
    cpu_ms = {k: 1e3 * statistics.median(v[warmup:]) for k, v in cpu_seconds.items()}
    per_view, views = shard_bytes(cache)
    result = dict(
        batch_size=batch, view_size=size, views_cached=views, warmup=warmup, runs=runs,
        step_ms=ms, step_ms_all={k: [1e3 * s for s in v] for k, v in seconds.items()},
        images_per_s={k: batch / (v / 1e3) for k, v in ms.items()},
        online_over_cached=ms['online'] / ms['cached'],
        cached_over_student_only=ms['cached'] / ms['student_only'],
        cpu_ms=cpu_ms, cpu_online_over_cached=cpu_ms['online'] / cpu_ms['cached'],
        cpu_cached_over_student_only=cpu_ms['cached'] / cpu_ms['student_only'],
        cache_build_s=build_s, cache_views_per_s=built['views_written'] / built['seconds'],
        bytes_per_view_measured_bf16=per_view,
        bytes_per_view_total_bf16=sum(per_view.values()),
        target_bytes_per_view=target_bytes(manifest),
        teachers={t.name: dict(input_size=t.input_size, valid_feature_hw=t.valid_feature_hw,
                               feature_dim=t.feature_dim, summary_dim=t.summary_dim)
                  for t in manifest.teachers})
    print(f"{name}: online {ms['online']:.0f} ms, cached {ms['cached']:.0f} ms, student only "
          f"{ms['student_only']:.0f} ms per step of {batch}: online / cached "
          f"x{result['online_over_cached']:.2f} (target >= 5), cached / student only "
          f"x{result['cached_over_student_only']:.3f} (target <= 1.2); CPU time: x"
          f"{result['cpu_online_over_cached']:.2f}, x{result['cpu_cached_over_student_only']:.3f}; "
          f"{result['bytes_per_view_total_bf16'] / 1e3:.0f} kB per view (bf16)")
    return result


def write_results(path, name, result, args, seconds, load):
    """Add one setup's result to ``path`` (kept: the other setups' results)."""
    previous = {}
    if osp.isfile(path):
        with open(path) as f:
            previous = json.load(f).get('setups', {})
    previous[name] = dict(quick=args.quick, seconds=seconds, load_average=load,
                          machine=machine_info(args.device), result=result)
    with open(path, 'w') as f:
        json.dump(dict(part='teacher_cache', setups=previous), f, indent=2)


def main():
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    setups = args.setups or (['demo'] if args.quick else ['demo', 'vit_b_large'])
    cfgs = setup_cfgs()
    os.makedirs(args.out_dir, exist_ok=True)
    path = osp.join(args.out_dir, 'teacher_cache.json')
    workdir = tempfile.mkdtemp(prefix='bench_teacher_cache_')
    try:
        for name in setups:
            start, load = time.perf_counter(), [os.getloadavg()]
            result = bench_setup(name, *cfgs[name], args, workdir)
            load.append(os.getloadavg())
            write_results(path, name, result, args, time.perf_counter() - start, load)
            gc.collect()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f'-> {path}')


if __name__ == '__main__':
    main()
