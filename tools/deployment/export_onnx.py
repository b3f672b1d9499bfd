"""Export a RADIO model or student backbone to ONNX (dynamic batch, height, width) and check
it against PyTorch with onnxruntime at the export size and at other sizes.

    python tools/deployment/export_onnx.py checkpoints/radio_v2.5-b.pth.tar \
        --adaptors clip sam --size 224 224 --check-size 384 640 --out work_dirs/radio_b.onnx
    python tools/deployment/export_onnx.py "dict(type='ERADIO', arch='l')" \
        --size 512 512 --check-size 1024 512 --out work_dirs/eradio_l.onnx

MODEL is a checkpoint (official release or radio_mm; loaded with radio_model, conditioner
inside: the ONNX input is RGB in [0, 1]) or a backbone config (random weights unless its
init_cfg loads some; the input is normalized RGB). The model's inference form
(``switch_to_deploy()``) is exported and checked against the model as loaded. Sizes are
validated before anything is written: multiples of the size step (32 px for E-RADIO, the
patch size for a ViT), and two steps per side at least for --size. Exits non-zero when the largest
relative error (max |onnx - torch| / max |torch|) of any output exceeds --tolerance.
"""
import argparse
import sys

from radio_mm.analysis import build_model
from radio_mm.apis import radio_model
from radio_mm.deployment import (
    check_export_size,
    check_onnx,
    check_sizes,
    export_onnx,
    export_size_multiple,
)
from radio_mm.deployment.onnx_export import DEFAULT_TOLERANCE, EXPORTERS

CHECKPOINT_SUFFIXES = ('.pth', '.pt', '.tar', '.ckpt')


def parse_args():
    parser = argparse.ArgumentParser(description='export to ONNX and check with onnxruntime')
    parser.add_argument('model', help='checkpoint file, or a backbone config dict / '
                        'CONFIG_FILE:key')
    parser.add_argument('--adaptors', nargs='*', default=[], help='adaptor heads to export')
    parser.add_argument('--out', required=True, help='.onnx file to write')
    parser.add_argument('--size', type=int, nargs=2, default=[224, 224], metavar=('H', 'W'),
                        help='example input size traced')
    parser.add_argument('--check-size', type=int, nargs=2, action='append', metavar=('H', 'W'),
                        help='further sizes to check (default: 1.5x the export height and '
                        '1.25x its width, rounded to the size step)')
    parser.add_argument('--batch-size', type=int, default=2)
    parser.add_argument('--exporter', choices=EXPORTERS, default='auto')
    parser.add_argument('--opset', type=int)
    parser.add_argument('--tolerance', type=float, default=DEFAULT_TOLERANCE)
    return parser.parse_args()


def main():
    args = parse_args()
    if args.model.endswith(CHECKPOINT_SUFFIXES):
        model = radio_model(args.model, adaptor_names=args.adaptors)
    else:
        if args.adaptors:
            sys.exit('--adaptors needs a checkpoint: a bare backbone has no adaptor heads')
        model = build_model(args.model)
    step = export_size_multiple(model)
    # By default a larger, differently shaped size: it catches sides swapped or frozen.
    default_check = [max(step, round(f * s / step) * step) for f, s in zip((1.5, 1.25), args.size)]
    sizes = [tuple(args.size)] + [tuple(s) for s in args.check_size or [default_check]]
    try:  # every size is validated before anything is written
        check_export_size(model, tuple(args.size))
        check_sizes(model, sizes)
    except ValueError as error:
        sys.exit(f'--size/--check-size: {error}')
    info = export_onnx(model, args.out, tuple(args.size), args.batch_size, args.exporter,
                       args.opset)
    print(f"exported {args.out} with the {info['exporter']} exporter; outputs "
          f"{info['output_names']}; H and W must be multiples of {step}")
    try:
        rows = check_onnx(model, args.out, sizes, args.batch_size, args.tolerance)
    except RuntimeError as error:
        sys.exit(f'FAILED: {error}')
    print(f"{'size':>11}  {'output':<20} {'max abs err':>12} {'rel err':>10}")
    for row in rows:
        size = f"{row['height']}x{row['width']}"
        print(f"{size:>11}  {row['output']:<20} {row['max_abs_error']:12.3e} "
              f"{row['rel_error']:10.3e}")
    print(f'OK: every output within {args.tolerance:.0e} relative error at {sizes}')


if __name__ == '__main__':
    main()
