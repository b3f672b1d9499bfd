"""Export a radio_mm student to the official RADIO release layout (the inverse of radio2mm.py).

    python tools/model_converters/mm2radio.py work_dirs/radio_vitb/iter_600000.pth radio_b.pth.tar

The input is a distillation run checkpoint or a radio2mm.py output; the output loads with
NVlabs/RADIO's ``torch.hub.load('NVlabs/RADIO', 'radio_model', version='radio_b.pth.tar',
adaptor_names=[...])`` and with ``radio_mm.apis.radio_model``.
"""
import argparse
import os
import os.path as osp

import torch

from radio_mm.apis.official_export import export_official_checkpoint


def parse_args():
    parser = argparse.ArgumentParser(description='radio_mm checkpoint -> official RADIO release')
    parser.add_argument('src', help='radio_mm .pth (distillation run or radio2mm.py output)')
    parser.add_argument('dst', help='output .pth.tar')
    return parser.parse_args()


def main():
    args = parse_args()
    if osp.abspath(args.src) == osp.abspath(args.dst):
        raise SystemExit('refusing to overwrite the source checkpoint: choose another dst')
    release = export_official_checkpoint(args.src)
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    torch.save(release, args.dst)
    teachers = [t['name'] for t in release['args'].teachers]
    print(f"saved {args.dst}: {release['args'].model} {release['args'].model_kwargs}, "
          f"teachers {teachers}, {'EMA and raw' if 'state_dict_ema' in release else 'one set of'}"
          ' weights')


if __name__ == '__main__':
    main()
