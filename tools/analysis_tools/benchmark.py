"""Throughput, latency and peak memory of backbones, RADIO models and teachers.

    python tools/analysis_tools/benchmark.py --model "dict(type='RADIOViT', arch='b')" \
        --model "dict(type='ERADIO', arch='l')" --resolution 224 512 --batch-size 1 \
        --device cpu --dtype fp32 --out work_dirs/benchmark.json
    python tools/analysis_tools/benchmark.py \
        --model configs/distill/radio_demo.py:model.teachers.2 --resolution 256

Every (model, resolution, batch size) combination is timed: warm-up calls, then timed calls,
median reported. See radio_mm/analysis/benchmark.py for how memory is measured.
"""
import argparse
import json
import os
import os.path as osp

import torch

from radio_mm.analysis import (
    benchmark_model,
    build_model,
    describe_spec,
    machine_info,
    results_table,
)


def resolution(text):
    """'512' -> (512, 512); '384x640' -> (384, 640)."""
    parts = text.lower().split('x')
    if len(parts) not in (1, 2) or not all(p.isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f'resolution must be H or HxW in pixels, got {text!r}')
    return (int(parts[0]), int(parts[-1]))


def parse_args():
    parser = argparse.ArgumentParser(description='benchmark model forward passes')
    parser.add_argument('--model', action='append', required=True,
                        help='a config dict ("dict(type=\'RADIOViT\', arch=\'b\')") or '
                        'CONFIG_FILE[:key] (default key: model); repeat for several')
    parser.add_argument('--resolution', type=resolution, nargs='+', default=[(224, 224)],
                        help='input sizes, H or HxW')
    parser.add_argument('--batch-size', type=int, nargs='+', default=[1])
    parser.add_argument('--dtype', choices=['fp32', 'bf16', 'fp16'], default='fp32',
                        help='bf16/fp16 run under autocast')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--runs', type=int, default=10)
    parser.add_argument('--no-flops', action='store_true', help='skip counting FLOPs')
    parser.add_argument('--threads', type=int, help='torch CPU threads (default: torch\'s)')
    parser.add_argument('--out', help='write the results as JSON here')
    parser.add_argument('--no-progress', action='store_true')
    return parser.parse_args()


def main():
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = []
    for spec in args.model:
        model = build_model(spec, quiet_random_weights=True)
        for hw in args.resolution:
            for batch_size in args.batch_size:
                row = benchmark_model(model, batch_size, hw, args.dtype, args.device,
                                      args.warmup, args.runs, flops=not args.no_flops,
                                      progress=not args.no_progress)
                rows.append(dict(model=describe_spec(spec), spec=spec, **row))
        del model
    print(results_table(rows))
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(dict(machine=machine_info(args.device), results=rows), f, indent=2)
        print(f'results written to {args.out}')


if __name__ == '__main__':
    main()
