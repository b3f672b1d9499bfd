"""Speed of the RADIO students against their references, and of one distillation step.

    python benchmarks/bench_students.py            # full: ~4 min on 2 idle CPU cores
    python benchmarks/bench_students.py --quick    # fewer runs: checks, provisional numbers
    python benchmarks/bench_students.py --parts vit_b eradio --device cuda --dtype bf16
    python benchmarks/bench_students.py --parts official --official-src ../RADIO

Parts, each written to work_dirs/benchmarks/<part>.json with the machine description
(``--update-results`` writes the tracked benchmarks/results/ instead):

* ``vit_b``: RADIOViT-B/16 (configs/distill/radio_vitb.py: 2 summary tokens + 6 registers)
  against timm's ViT-B/16 (1 class token) and a token-matched timm ViT-B/16 (1 class token +
  7 registers), forward only, at 224 and 512 px. Both use timm's ``Block``; RADIO's extra
  cost should only be its 7 extra prefix tokens (204 vs 197 tokens at 224 px, 1032 vs 1025
  at 512 px) and the CPE grid resize (a bilinear resize of a 128 x 128 x 768 grid per call,
  where timm resizes a 14 x 14 one). Target: RADIO / timm <= 1.05.
* ``eradio``: E-RADIO-L against RADIO ViT-H/16 at 512 x 512, both in their inference form
  (``switch_to_deploy()``), with E-RADIO-L's eval form beside them (and ViT-H at 432, the
  paper's comparison, in the full run). AM-RADIO reports 468 vs 158 images/s on a GPU at
  those sizes; target E-RADIO-L >= 4x ViT-H at matched resolution.
* ``official`` (needs ``--official-src``, a checkout of NVlabs/RADIO, imported from there at
  run time): E-RADIO-L and ViT-B/16 at 512 px, radio_mm's deploy form against the official
  ``switch_to_deploy()`` form, both loaded from one release-layout checkpoint written by
  the official code with random weights (benchmarks/official_radio.py); outputs compared.
  Targets: E-RADIO-L >= 1.3x and ViT-B/16 >= 1.05x the official speed, outputs within 1e-4.
* ``kernels``: what each step of the deploy form brings to E-RADIO-L and ViT-B/16 at 512 px:
  the deploy rewrites on PyTorch's own kernels, then with the packed oneDNN kernels
  (radio_mm/models/utils/packed_kernels.py), then with Winograd 3x3 convolutions as well
  (winograd_conv.py); rows also give the memory of the reordered weight copies.
* ``compile`` (not in the default run: inductor compiles C++ kernels for minutes on a CPU):
  ``torch.compile`` of the E-RADIO-L and ViT-B/16 deploy forms against eager, at 512 px.
* ``distill``: one distillation step (loss and backward, no optimizer update) of
  configs/distill/radio_demo.py, and of the ViT-B student with ViT-L/H-shaped teachers
  (random weights: CLIP ViT-H/14 at 224 px, DINOv2 ViT-L/14-reg4 at 224 px, a SAM ViT-L
  image encoder at 512 px; the paper's teachers are CLIP ViT-H/14 at 378, DINOv2 ViT-g/14
  and SAM ViT-H at 1024), split into teacher forward time and the rest (student forward +
  backward, adaptor heads, losses).

Timing interleaves the compared models call by call and reports medians; FLOPs are counted
on meta tensors (exact, free of timing noise), so measured ratios can be read against the
FLOP ratios. The peak memory of one forward of each model is measured apart from the timing.
"""
import argparse
import json
import os
import os.path as osp
import time
from unittest import mock

import timm
import torch

from radio_mm.analysis import benchmark_distill_step, build_model, load_model_cfg, machine_info
from radio_mm.analysis.benchmark import (
    PeakMemory,
    autocast,
    meta_flops,
    release_free_memory,
    summarize,
    time_interleaved,
)
from radio_mm.apis import radio_model
from radio_mm.models.utils import packed_kernels, winograd_conv

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
RESULTS_DIR = osp.join(REPO_ROOT, 'benchmarks', 'results')  # tracked: --update-results only
DEFAULT_OUT_DIR = osp.join(REPO_ROOT, 'work_dirs', 'benchmarks')
CONFIGS = osp.join(REPO_ROOT, 'configs', 'distill')
PARTS = ('vit_b', 'eradio', 'distill', 'official', 'kernels', 'compile')
DEFAULT_PARTS = ('vit_b', 'eradio', 'kernels', 'distill')
VIT_B_STUDENT = osp.join(CONFIGS, 'radio_vitb.py:model.student.backbone')
VIT_H_STUDENT = osp.join(CONFIGS, 'radio_vith.py:model.student.backbone')
ERADIO_STUDENT = osp.join(CONFIGS, 'eradio_l.py:model.student.backbone')
DEMO_DISTILLER = osp.join(CONFIGS, 'radio_demo.py')
# The paper's teacher families at sizes a CPU gets through (module docstring).
LARGE_TEACHERS = [
    dict(type='OpenCLIPTeacher', name='clip', model_name='ViT-H-14-378-quickgelu',
         model_cfg=dict(vision_cfg=dict(image_size=224))),
    dict(type='DINOv2Teacher', name='dino_v2', arch='vit_large_patch14_reg4_dinov2',
         input_size=224),
    # segment_anything's build_sam_vit_l encoder settings
    dict(type='SAMTeacher', name='sam', img_size=512,
         arch=dict(embed_dim=1024, depth=24, num_heads=16, global_attn_indexes=(5, 11, 17, 23),
                   window_size=14)),
]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='benchmark the RADIO students')
    parser.add_argument('--quick', action='store_true',
                        help='fewer runs and no ViT-H at 432 px: a check, not a measurement')
    parser.add_argument('--parts', nargs='+', choices=PARTS,
                        help=f'default: {" ".join(DEFAULT_PARTS)}, and official with '
                        '--official-src')
    parser.add_argument('--official-src', metavar='DIR',
                        help='a checkout of NVlabs/RADIO to compare against (part official)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--dtype', choices=['fp32', 'bf16', 'fp16'], default='fp32',
                        help='fp32 on CPU (no native bf16 on most CPUs)')
    parser.add_argument('--threads', type=int, help='torch CPU threads')
    out = parser.add_mutually_exclusive_group()
    out.add_argument('--out-dir', default=DEFAULT_OUT_DIR,
                     help='where <part>.json go (default: work_dirs/benchmarks)')
    out.add_argument('--update-results', action='store_true',
                     help='write the tracked benchmarks/results/ (the README\'s numbers)')
    args = parser.parse_args(argv)
    if args.update_results:
        args.out_dir = RESULTS_DIR
    if args.parts is None:
        args.parts = list(DEFAULT_PARTS) + (['official'] if args.official_src else [])
    if 'official' in args.parts and not args.official_src:
        parser.error('part official needs --official-src DIR (a checkout of NVlabs/RADIO)')
    return args


def timm_vit_b(prefix_tokens=1):
    """timm's ViT-B/16 features; ``prefix_tokens - 1`` registers beside the class token."""
    return timm.create_model('vit_base_patch16_224', pretrained=False, num_classes=0,
                             dynamic_img_size=True, reg_tokens=prefix_tokens - 1)


def compare(models, hw, args, warmup, runs, built=None):
    """Time ``models`` (name -> (build, call)) in turns at ``hw``; rows with FLOPs and the
    peak memory of one forward. ``built`` (name -> model) skips building those."""
    device = torch.device(args.device)
    built = {name: (built or {}).get(name) or build() for name, (build, _) in models.items()}
    built = {name: model.to(device).eval() for name, model in built.items()}
    images = torch.rand(1, 3, *hw, device=device)

    def forward(model, call):
        def run():
            with torch.inference_mode(), autocast(device, args.dtype):
                call(model, images)
        return run

    calls = {name: forward(built[name], call) for name, (_, call) in models.items()}
    seconds = time_interleaved(calls, device, warmup, runs, progress=True)
    rows = {}
    for name, (build, call) in models.items():
        with PeakMemory(device) as memory:
            calls[name]()
        model = built[name]
        rows[name] = dict(height=hw[0], width=hw[1], batch_size=1, dtype=args.dtype,
                          device=str(device), warmup=warmup, runs=runs,
                          **summarize(seconds[name], 1),
                          gflops_per_image=meta_flops(build, hw, call=call) / 1e9,
                          params_m=sum(p.numel() for p in model.parameters()) / 1e6,
                          peak_memory_mib=memory.peak_mib, memory_metric=memory.metric,
                          weights_mib=sum(t.numel() * t.element_size() for t in
                                          (*model.parameters(), *model.buffers())) / 2**20,
                          packed_weights_mib=packed_kernels.packed_weight_bytes(model) / 2**20)
    return rows


def deployed(spec):
    """A builder of the backbone ``spec`` in its inference form (``switch_to_deploy()``)."""
    return lambda: build_model(spec).switch_to_deploy()


def deployed_with(spec, packed=True, winograd=True):
    """A builder of ``spec``'s deploy form with the packed oneDNN kernels and/or Winograd
    convolutions switched off (to measure what each brings)."""
    def build():
        # A measurement-only switch: no 3x3 conv is wide enough for Winograd.
        with mock.patch.object(winograd_conv, 'MIN_CHANNELS',
                               winograd_conv.MIN_CHANNELS if winograd else float('inf')):
            return build_model(spec).switch_to_deploy(packed_kernels=packed)
    return build


def radio_call(model, images):
    return model.forward_radio(images)


def timm_call(model, images):
    return model.forward_features(images)


def bench_vit_b(args):
    warmup, runs = (1, 3) if args.quick else (2, 10)
    models = {
        'radio_vit_b16': (lambda: build_model(VIT_B_STUDENT), radio_call),
        'timm_vit_b16': (timm_vit_b, timm_call),
        'timm_vit_b16_8_prefix': (lambda: timm_vit_b(prefix_tokens=8), timm_call),
    }
    result = {}
    for side in (224, 512):
        rows = compare(models, (side, side), args, warmup, runs)
        radio, plain, matched = (rows[k]['latency_ms'] for k in models)
        flops = [rows[k]['gflops_per_image'] for k in models]
        result[f'{side}px'] = dict(
            models=rows, ratio_radio_over_timm=radio / plain,
            ratio_radio_over_token_matched_timm=radio / matched,
            flops_ratio_radio_over_timm=flops[0] / flops[1],
            tokens=dict(radio=(side // 16)**2 + 8, timm=(side // 16)**2 + 1))
        print(f'ViT-B/16 at {side} px: RADIO {radio:.1f} ms, timm {plain:.1f} ms '
              f'(x{radio / plain:.3f}; FLOPs x{flops[0] / flops[1]:.3f}), token-matched timm '
              f'{matched:.1f} ms (x{radio / matched:.3f}); target <= 1.05')
    return result


def bench_eradio(args):
    warmup, runs = (0, 1) if args.quick else (1, 3)
    models = {
        'eradio_l': (deployed(ERADIO_STUDENT), radio_call),
        'radio_vit_h16': (deployed(VIT_H_STUDENT), radio_call),
        'eradio_l_eval_form': (lambda: build_model(ERADIO_STUDENT), radio_call),
    }
    rows = compare(models, (512, 512), args, warmup, runs)
    eradio, vith = rows['eradio_l'], rows['radio_vit_h16']
    result = dict(models_512px=rows, form='deploy (switch_to_deploy)',
                  speedup_512px=vith['latency_ms'] / eradio['latency_ms'],
                  deploy_speedup_eradio_l=(rows['eradio_l_eval_form']['latency_ms']
                                           / eradio['latency_ms']),
                  flops_ratio_512px=vith['gflops_per_image'] / eradio['gflops_per_image'],
                  paper_gpu_images_per_s=dict(eradio_l_512px=468, vit_h16_432px=158))
    print(f"deploy forms at 512 px: E-RADIO-L {eradio['latency_ms']:.0f} ms "
          f"({eradio['peak_memory_mib']:.0f} MiB) vs ViT-H/16 {vith['latency_ms']:.0f} ms "
          f"({vith['peak_memory_mib']:.0f} MiB): x{result['speedup_512px']:.2f} "
          f"(FLOPs x{result['flops_ratio_512px']:.2f}); target >= 4. E-RADIO-L eval form "
          f"{rows['eradio_l_eval_form']['latency_ms']:.0f} ms "
          f"(deploy x{result['deploy_speedup_eradio_l']:.2f})")
    if not args.quick:
        vith_432 = compare({'radio_vit_h16': models['radio_vit_h16']}, (432, 432), args, 1,
                           runs)['radio_vit_h16']
        result.update(vit_h16_432px=vith_432,
                      speedup_eradio512_over_vith432=vith_432['latency_ms'] / eradio['latency_ms'])
        print(f"paper setting (E-RADIO-L 512 px vs ViT-H/16 432 px): "
              f"x{result['speedup_eradio512_over_vith432']:.2f} (paper, GPU: x{468 / 158:.2f})")
    return result


def output_errors(ours, theirs):
    """Largest |ours - theirs| / max |theirs| of the backbone summary and features."""
    return {name: ((a.float() - b.float()).abs().max() / b.float().abs().max()).item()
            for name, a, b in (('summary', ours.summary, theirs.summary),
                               ('features', ours.features, theirs.features))}


def bench_official(args):
    """radio_mm's deploy form against the official one on one checkpoint (module docstring)."""
    import tempfile

    from official_radio import load_official, write_release_checkpoint
    warmup, runs = (1, 2) if args.quick else (2, 7)
    targets = dict(eradio_l=1.3, vit_b16=1.05)
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        for student, target in targets.items():
            path = write_release_checkpoint(args.official_src, student,
                                            osp.join(tmp, f'{student}.pth.tar'))
            built = dict(official=load_official(args.official_src, path),
                         radio_mm=radio_model(path, deploy=True))
            eval_form = radio_model(path)
            images = torch.rand(1, 3, 512, 512)
            with torch.inference_mode():
                outputs = {name: model(images) for name, model in built.items()}
                reference = eval_form(images)
            del eval_form
            # FLOPs are counted on radio_mm's backbone for both: the same maths.
            backbone = deployed(dict(eradio_l=ERADIO_STUDENT, vit_b16=VIT_B_STUDENT)[student])
            models = {name: (backbone, lambda m, x: m(x)) for name in built}
            rows = compare(models, (512, 512), args, warmup, runs, built=built)
            speedup = rows['official']['latency_ms'] / rows['radio_mm']['latency_ms']
            result[student] = dict(
                models_512px=rows, speedup=speedup, target=target,
                errors_vs_official=output_errors(outputs['radio_mm'], outputs['official']),
                deploy_errors_vs_eval_form=output_errors(outputs['radio_mm'], reference))
            print(f"{student} at 512 px, deploy forms: radio_mm "
                  f"{rows['radio_mm']['latency_ms']:.0f} ms "
                  f"({rows['radio_mm']['peak_memory_mib']:.0f} MiB), official "
                  f"{rows['official']['latency_ms']:.0f} ms "
                  f"({rows['official']['peak_memory_mib']:.0f} MiB): x{speedup:.2f} "
                  f"(target >= {target}); max relative error vs official "
                  f"{max(result[student]['errors_vs_official'].values()):.1e}")
            del built
    return result


def bench_kernels(args):
    """What each step of the deploy form brings, at 512 px: the deploy rewrites alone
    (plain PyTorch kernels), + packed oneDNN kernels, + Winograd 3x3 convs (all)."""
    warmup, runs = (1, 2) if args.quick else (2, 5)
    result = {}
    for name, spec in (('eradio_l', ERADIO_STUDENT), ('radio_vit_b16', VIT_B_STUDENT)):
        models = {
            'plain_kernels': (deployed_with(spec, packed=False), radio_call),
            'packed_kernels': (deployed_with(spec, winograd=False), radio_call),
            'packed_and_winograd': (deployed_with(spec), radio_call),
        }
        rows = compare(models, (512, 512), args, warmup, runs)
        plain = rows['plain_kernels']['latency_ms']
        result[name] = dict(models_512px=rows, speedup_over_plain_kernels={
            k: plain / row['latency_ms'] for k, row in rows.items()})
        print(f'{name} deploy form at 512 px: ' + ', '.join(
            f"{k} {row['latency_ms']:.0f} ms (x{plain / row['latency_ms']:.2f}, packed "
            f"weights {row['packed_weights_mib']:.0f} MiB)" for k, row in rows.items()))
    return result


def bench_compile(args):
    """``torch.compile`` (inductor, weights frozen as constants) of the deploy forms at
    512 px against the same models in eager mode: compile time, latency, output error."""
    device = torch.device(args.device)
    warmup, runs = (1, 2) if args.quick else (1, 5)
    images = torch.rand(1, 3, 512, 512, device=device)
    result = {}
    for name, spec in (('eradio_l', ERADIO_STUDENT), ('radio_vit_b16', VIT_B_STUDENT)):
        model = build_model(spec).to(device).switch_to_deploy()
        compiled = torch.compile(model.forward_radio, options=dict(freezing=True))

        def call(fn):
            def run():
                with torch.inference_mode(), autocast(device, args.dtype):
                    return fn(images)
            return run

        calls = dict(eager=call(model.forward_radio), compiled=call(compiled))
        start = time.perf_counter()
        got = calls['compiled']()  # compiles
        compile_s = time.perf_counter() - start
        expected = calls['eager']()
        seconds = time_interleaved(calls, device, warmup, runs, progress=True)
        rows = {k: summarize(v, 1) for k, v in seconds.items()}
        result[name] = dict(compile_s=compile_s, models_512px=rows,
                            speedup=rows['eager']['latency_ms'] / rows['compiled']['latency_ms'],
                            errors_vs_eager=output_errors(got, expected))
        print(f"{name} deploy form at 512 px: eager {rows['eager']['latency_ms']:.0f} ms, "
              f"compiled {rows['compiled']['latency_ms']:.0f} ms "
              f"(x{result[name]['speedup']:.2f}; compiling took {compile_s:.0f} s); max "
              f"relative error {max(result[name]['errors_vs_eager'].values()):.1e}")
        del model, compiled
        torch._dynamo.reset()
    return result


def large_teacher_distiller():
    backbone, _ = load_model_cfg(VIT_B_STUDENT)
    return build_model(dict(
        type='RADIODistiller', student=dict(type='RADIOModel', backbone=backbone),
        teachers=LARGE_TEACHERS, adaptor_cfg=dict(hidden_dims=768, num_inner=1),
        resolutions=[(256, 256)]), quiet_random_weights=True)


def bench_distill(args):
    result = {}
    # The demo's 0.75 / 0.25 partitions need 4 images to give each at least one.
    runs = (1, 2) if args.quick else (1, 5)
    demo = build_model(DEMO_DISTILLER, quiet_random_weights=True)
    result['demo'] = benchmark_distill_step(demo, 4, (256, 256), args.dtype, args.device,
                                            *runs, progress=True)
    del demo
    runs = (0, 1) if args.quick else (1, 2)
    start = time.perf_counter()
    large = large_teacher_distiller()
    build_s = time.perf_counter() - start
    result['vit_b_large_teachers'] = dict(
        teachers={t['name']: t for t in LARGE_TEACHERS}, build_s=build_s,
        **benchmark_distill_step(large, 1, (256, 256), args.dtype, args.device, *runs,
                                 progress=True))
    for name, row in result.items():
        print(f"distillation step {name}: {row['step_ms']:.0f} ms, teachers "
              f"{row['teacher_ms']:.0f} ms ({100 * row['teacher_share']:.0f}%: "
              + ', '.join(f'{k} {v:.0f}' for k, v in row['teacher_ms_by_name'].items())
              + f"), student fwd+bwd {row['student_ms']:.0f} ms")
    return result


def main():
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    os.makedirs(args.out_dir, exist_ok=True)
    benches = dict(vit_b=bench_vit_b, eradio=bench_eradio, distill=bench_distill,
                   official=bench_official, kernels=bench_kernels, compile=bench_compile)
    total = time.perf_counter()
    for part in args.parts:
        release_free_memory()  # the previous part's models (several GiB at ViT-H)
        load_before = os.getloadavg()  # other jobs on the machine show here
        start = time.perf_counter()
        result = benches[part](args)
        elapsed = time.perf_counter() - start
        path = osp.join(args.out_dir, f'{part}.json')
        with open(path, 'w') as f:
            json.dump(dict(part=part, quick=args.quick, seconds=elapsed,
                           load_average_before=load_before, load_average=os.getloadavg(),
                           machine=machine_info(args.device),
                           results=result), f, indent=2)
        print(f'{part}: {elapsed:.0f} s -> {path}')
    print(f'total {time.perf_counter() - total:.0f} s')


if __name__ == '__main__':
    main()
