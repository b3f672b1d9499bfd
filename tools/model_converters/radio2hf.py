"""Write a RADIO student as a Hugging Face ``transformers`` RadioModel directory.

    python tools/model_converters/radio2hf.py radio-v2.5-b_half.pth.tar hf/radio_b
    python tools/model_converters/radio2hf.py work_dirs/radio_vith/iter_600000.pth hf/radio_h

SRC is any RADIO student file (official release or release name, radio2mm.py output, a
distillation run; ``--raw`` takes a run's raw weights instead of the EMA average). OUT_DIR
gets ``config.json`` + ``model.safetensors`` that ``transformers.AutoModel.from_pretrained``
loads natively (no remote code), and ``radio_mm_extras.safetensors`` with the adaptor heads
the native model has no place for; ``radio_mm.apis.radio_model(OUT_DIR)`` reads all of it
back. Students the native model cannot reproduce (E-RADIO, a final norm, feature
normalizer...) are refused with the reason (radio_mm/formats/hf_checkpoint.py).
"""
import argparse

from radio_mm.formats.hf_checkpoint import save_hf_directory
from radio_mm.formats.official_releases import checkpoint_path
from radio_mm.formats.radio_checkpoint import read_radio_checkpoint


def parse_args():
    parser = argparse.ArgumentParser(description='RADIO student file -> transformers '
                                     'RadioModel directory')
    parser.add_argument('src', help="official .pth.tar or release name ('c-radio_v4-h'), "
                        'radio_mm .pth or distillation run')
    parser.add_argument('out_dir', help='output directory (config.json, model.safetensors)')
    parser.add_argument('--adaptors', nargs='*', default=None,
                        help='adaptor heads to keep beside the model (default: all)')
    parser.add_argument('--raw', action='store_true',
                        help='the raw weights instead of the EMA average of a run with EMA')
    return parser.parse_args()


def main():
    args = parse_args()
    student = read_radio_checkpoint(checkpoint_path(args.src), use_ema=not args.raw)
    if args.adaptors is not None:
        student = student.with_adaptors(args.adaptors)
    print(f'read {student.describe()}')
    try:
        paths = save_hf_directory(student, args.out_dir)
    except ValueError as error:
        raise SystemExit(str(error))
    print('wrote ' + ', '.join(paths))


if __name__ == '__main__':
    main()
