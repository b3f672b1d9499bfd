"""Estimate PHI-S statistics of each teacher's features over a distillation config's data.

    python tools/analysis_tools/estimate_phi_s.py configs/distill/radio_vith.py \
        --out-dir checkpoints/phi_s --num-batches 200

then, in the distillation config:
    model = dict(phi_s=dict(sam=dict(stats_file='checkpoints/phi_s/sam.pth')),
                 teacher_losses=dict(sam=dict(feature_loss=dict(type='MSEFeatureLoss'))))
"""
import argparse
import os
import os.path as osp

import torch

from radio_mm.apis.phi_s_statistics import estimate_teacher_phi_s


def parse_args():
    parser = argparse.ArgumentParser(description='estimate PHI-S teacher statistics')
    parser.add_argument('config', help='distillation config')
    parser.add_argument('--out-dir', required=True, help='one <teacher>.pth per teacher')
    parser.add_argument('--teachers', nargs='*', help='teacher names (default: all)')
    parser.add_argument('--num-batches', type=int, default=100)
    parser.add_argument('--tokens-per-image', type=int, default=64)
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    return parser.parse_args()


def main():
    args = parse_args()
    stats = estimate_teacher_phi_s(args.config, args.teachers, args.num_batches,
                                   args.tokens_per_image, args.device)
    os.makedirs(args.out_dir, exist_ok=True)
    for name, teacher_stats in stats.items():
        path = osp.join(args.out_dir, f'{name}.pth')
        torch.save(teacher_stats, path)
        print(f'{name}: {teacher_stats["num_tokens"]} tokens, '
              f'{teacher_stats["transform"].shape[0]} channels -> {path}')


if __name__ == '__main__':
    main()
