"""PCA pictures of a RADIO model's features, its adaptors' and teachers', side by side.

    python tools/analysis_tools/visualize_features.py checkpoints/radio_v2.5-b.pth.tar \
        --adaptors clip sam --image demo.jpg --size 512 --out work_dirs/feature_pca.png
    python tools/analysis_tools/visualize_features.py work_dirs/radio_demo/iter_160.pth \
        --adaptors clip dino_v2 sam --teacher configs/distill/radio_demo.py:model.teachers.0

The first three principal components of each feature map are shown as RGB (the AM-RADIO
paper's figure 1). Teachers resize the image to their own resolution.
"""
import argparse
import os
import os.path as osp

import torch

from radio_mm.analysis import build_model, feature_pca_picture, read_rgb
from radio_mm.apis import radio_model


def parse_args():
    parser = argparse.ArgumentParser(description='feature PCA pictures of a RADIO model')
    parser.add_argument('checkpoint', help='official release or radio_mm checkpoint')
    parser.add_argument('--adaptors', nargs='*', default=[],
                        help='adaptor heads to show, e.g. clip sam (default: backbone only)')
    parser.add_argument('--teacher', action='append', default=[],
                        help='teacher to show beside them: a config dict or CONFIG_FILE:key; '
                        'repeat for several')
    parser.add_argument('--image', help="image file (default: scikit-image's astronaut)")
    parser.add_argument('--size', type=int, default=512,
                        help='longer side of the student input, pixels')
    parser.add_argument('--tile', type=int, default=256, help='height of each panel')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--out', default='work_dirs/feature_pca.png')
    return parser.parse_args()


def main():
    args = parse_args()
    if args.image:
        rgb = read_rgb(args.image)
    else:
        from skimage import data
        rgb = data.astronaut()
    model = radio_model(args.checkpoint, adaptor_names=args.adaptors)
    teachers = [build_model(spec) for spec in args.teacher]
    picture = feature_pca_picture(model, rgb, args.size, teachers, args.device, args.tile)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    picture.save(args.out)
    print(f'saved {picture.width}x{picture.height} picture to {args.out}')


if __name__ == '__main__':
    main()
