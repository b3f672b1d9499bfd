"""Convert an official RADIO release into a radio_mm checkpoint and print its config.

    python tools/model_converters/radio2mm.py radio-v2.5-b_half.pth.tar checkpoints/radio_b.pth
    python tools/model_converters/radio2mm.py c-radio_v4-h checkpoints/c-radio_v4-h.pth

A release name (NVlabs/RADIO `radio/common.py`) is read from the torch hub cache, or
downloaded there first.

Then in any mm config:
    backbone=dict(<printed backbone config>,
                  init_cfg=dict(type='Pretrained', checkpoint='checkpoints/radio_b.pth'))
"""
import argparse
import os
import os.path as osp
import pprint

import torch

from radio_mm.models.official_checkpoint import data_preprocessor_stats, official_to_radio_mm
from radio_mm.models.official_releases import checkpoint_path


def parse_args():
    parser = argparse.ArgumentParser(description='official RADIO checkpoint -> radio_mm')
    parser.add_argument('src', help="official .pth.tar, or a release name ('c-radio_v4-h')")
    parser.add_argument('dst', help='output .pth')
    parser.add_argument('--adaptors', nargs='*', default=None,
                        help='adaptor heads to keep (default: all)')
    return parser.parse_args()


def main():
    args = parse_args()
    args.src = checkpoint_path(args.src)
    if osp.abspath(args.src) == osp.abspath(args.dst):
        raise SystemExit('refusing to overwrite the source checkpoint: choose another dst')
    checkpoint = official_to_radio_mm(args.src, args.adaptors)
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    torch.save(checkpoint, args.dst)
    cfg = checkpoint['meta']['radio_model']
    print(f'saved {args.dst} ({len(checkpoint["state_dict"])} tensors)')
    print('\n# backbone for mm configs')
    print('backbone = ' + pprint.pformat(
        dict(cfg['backbone'], init_cfg=dict(type='Pretrained', checkpoint=args.dst)),
        sort_dicts=False))
    print('\n# data preprocessor statistics (0-255 images) = the model\'s input conditioner')
    print('data_preprocessor = ' + pprint.pformat(
        dict(data_preprocessor_stats(cfg), bgr_to_rgb=True), sort_dicts=False))
    print(f"\n# adaptors: {list(cfg['adaptors'])}; summary_idxs: {cfg['summary_idxs']}")
    if cfg.get('feature_normalizer'):
        print('# the release whitens its final features: radio_model() applies it, an mm '
              'backbone returns them unwhitened')
    unused = checkpoint['meta'].get('unused_release_keys')
    if unused:
        print(f'# not converted, never read by the official model: {unused}')


if __name__ == '__main__':
    main()
