"""Mode switching: an adaptor's error to its teacher as the student's resolution grows.

    python tools/analysis_tools/mode_switch.py checkpoints/radio_v2.5-l.pth.tar \
        --adaptor dino_v2 --teacher configs/distill/radio_vith.py:model.teachers.1 \
        --images data/val_images --num-images 50 \
        --resolutions 224 320 432 512 640 768 1024 --out-dir work_dirs/mode_switch

The teacher sees each image (its centre square) at its own resolution; the student at each
resolution; the adaptor features are resampled onto the teacher's grid. Writes
``<adaptor>_mode_switch.csv`` (one row per image and resolution: 1 - cosine, MSE) and a
plot ``<adaptor>_mode_switch.png``, and prints the means per resolution.
"""
import argparse
import os
import os.path as osp

import torch

from radio_mm.analysis import (
    adaptor_teacher_errors,
    build_model,
    load_images,
    mean_by_resolution,
    plot_errors,
    write_csv,
)
from radio_mm.apis import radio_model


def parse_args():
    parser = argparse.ArgumentParser(description="adaptor-to-teacher error per resolution")
    parser.add_argument('checkpoint', help='official release or radio_mm checkpoint')
    parser.add_argument('--adaptor', required=True, help='adaptor name, e.g. clip')
    parser.add_argument('--teacher', required=True,
                        help='the teacher of that adaptor: a config dict or CONFIG_FILE:key')
    parser.add_argument('--images', default='samples',
                        help="image file or folder, or 'samples' (photos shipped with "
                        'scikit-image and scikit-learn)')
    parser.add_argument('--num-images', type=int, help='use the first N images')
    parser.add_argument('--resolutions', type=int, nargs='+',
                        default=[224, 320, 432, 512, 640, 768, 1024])
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--out-dir', default='work_dirs/mode_switch')
    return parser.parse_args()


def main():
    args = parse_args()
    model = radio_model(args.checkpoint, adaptor_names=[args.adaptor])
    teacher = build_model(args.teacher)
    images = load_images(args.images, args.num_images)
    rows = adaptor_teacher_errors(model, args.adaptor, teacher, images, args.resolutions,
                                  args.device, progress=True)
    os.makedirs(args.out_dir, exist_ok=True)
    stem = osp.join(args.out_dir, f'{args.adaptor}_mode_switch')
    write_csv(rows, stem + '.csv')
    plot_errors(rows, stem + '.png',
                title=f'{args.adaptor} adaptor vs {teacher.describe()}, {len(images)} images')
    print('resolution  1-cosine  MSE')
    for res, (cos_err, mse) in mean_by_resolution(rows).items():
        print(f'{res:10d}  {cos_err:8.4f}  {mse:.4g}')
    print(f'wrote {stem}.csv and {stem}.png')


if __name__ == '__main__':
    main()
