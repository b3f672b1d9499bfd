"""Print the mm configs that fit a RADIO student file, and convert it to radio_mm's layout.

    python tools/model_converters/radio2mm.py radio-v2.5-b_half.pth.tar checkpoints/radio_b.pth
    python tools/model_converters/radio2mm.py c-radio_v4-h checkpoints/c-radio_v4-h.pth
    python tools/model_converters/radio2mm.py work_dirs/radio_vith/iter_600000.pth

A release name (NVlabs/RADIO `radio/common.py`) is read from the torch hub cache, or
downloaded there first.

SRC is any RADIO student file: an official release, a converted file or a distillation run
(EMA weights when the run has them; ``--raw`` takes the raw ones). With DST the student is
saved in RadioModel keys (no teachers, optimizer or losses); the printed configs point at
DST, else at SRC (a backbone's Pretrained init and ``tools/test.py`` read both). Then in
any mm config:
    backbone=dict(<printed backbone config>)
"""
import argparse
import os
import os.path as osp
import pprint

import torch

from radio_mm.apis.student_configs import student_configs
from radio_mm.formats.official_releases import checkpoint_path
from radio_mm.formats.radio_checkpoint import read_radio_checkpoint


def parse_args():
    parser = argparse.ArgumentParser(description='RADIO student file -> mm configs (+ radio_mm '
                                     'checkpoint)')
    parser.add_argument('src', help="official .pth.tar or release name ('c-radio_v4-h'), "
                        'radio_mm .pth or distillation run')
    parser.add_argument('dst', nargs='?', help='output .pth (omit to only print the configs)')
    parser.add_argument('--adaptors', nargs='*', default=None,
                        help='adaptor heads to keep (default: all)')
    parser.add_argument('--raw', action='store_true',
                        help='the raw weights instead of the EMA average of a run with EMA')
    return parser.parse_args()


def show(name, value):
    print(f'{name} = ' + pprint.pformat(value, sort_dicts=False, width=96))


def main():
    args = parse_args()
    args.src = checkpoint_path(args.src)
    if args.dst and osp.abspath(args.src) == osp.abspath(args.dst):
        raise SystemExit('refusing to overwrite the source checkpoint: choose another dst')
    student = read_radio_checkpoint(args.src, use_ema=not args.raw)
    student.require_config()
    if args.adaptors is not None:
        student = student.with_adaptors(args.adaptors)
    print(f'read {student.describe()}')
    target = args.src
    if args.dst:
        os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
        torch.save(student.to_checkpoint(), args.dst)
        print(f'saved {args.dst} ({len(student.state_dict)} tensors)')
        target = args.dst
    cfgs = student_configs(student.model_cfg, target, student.teachers)
    print('\n# backbone for mm configs (segmentation, detection, fine-tuning)')
    show('backbone', cfgs['backbone'])
    print("\n# data preprocessor statistics (0-255 images) = the model's input conditioner")
    show('data_preprocessor', cfgs['data_preprocessor'])
    print('\n# summary tokens of the teachers trained with a summary loss (the embedding)')
    show('summary_idxs', cfgs['summary_idxs'])
    print(f'\n# k-NN (configs/classification/*_knn_in1k.py): tools/test.py CONFIG {target}')
    show('model', cfgs['knn'])
    print('\n# linear probe (configs/classification/*_linear-probe_in1k.py)')
    show('model', dict(backbone=cfgs['linear_probe']['backbone'],
                       head=dict(in_channels=cfgs['linear_probe']['head_in_channels'])))
    print('\n# adaptor summary heads (sizes and summary token)')
    show('summary_heads', cfgs['summary_heads'])
    for name, zero_shot in cfgs['zero_shot'].items():
        print(f"\n# CLIP zero-shot with the '{name}' adaptor, backbone as for k-NN "
              f'(configs/classification/*_clip-zero-shot_in1k.py)')
        show('model', zero_shot)
    print(f"\n# adaptors: {list(student.model_cfg['adaptors'])}")
    if student.unbuildable_adaptors:
        print(f'# adaptor heads radio_mm cannot build (left out, the student loads): '
              f'{student.unbuildable_adaptors}')
    if student.model_cfg.get('feature_normalizer'):
        print('# the release whitens its features: radio_model() and the backbone above '
              'apply it (feature_normalizer / intermediate_normalizer)')
    if student.unused_release_keys:
        print(f'# not converted, never read by the official model: '
              f'{student.unused_release_keys}')


if __name__ == '__main__':
    main()
