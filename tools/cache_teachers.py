"""Run a distillation config's teachers once and store their targets (a teacher cache).

    python tools/cache_teachers.py configs/distill/radio_vitb.py \
        --out data/teacher_cache/radio_vitb --views 2 --dtype bf16
    torchrun --nproc-per-node 8 tools/cache_teachers.py CONFIG --out DIR --launcher pytorch
    python tools/cache_teachers.py CONFIG --out DIR --views 2 --dtype bf16 --resume

then train with ``model.teacher_cache=DIR`` and ``CachedTeacherViews`` data (see
configs/distill/radio_vitb_cached.py and configs/distill/README.md).
"""
import argparse

import torch
from mmengine.dist import init_dist

from radio_mm.apis.run_config import add_common_args, load_config
from radio_mm.apis.teacher_cache import build_teacher_cache
from radio_mm.formats.teacher_cache import STORAGE_DTYPES


def parse_args():
    parser = argparse.ArgumentParser(description='cache the teachers of a distillation config')
    parser.add_argument('config', help='distillation config with online teachers')
    parser.add_argument('--out', required=True, help='cache folder')
    parser.add_argument('--views', type=int, default=1, help='augmented views per image')
    parser.add_argument('--dtype', choices=list(STORAGE_DTYPES), default='bf16',
                        help='storage precision of the targets (default bf16)')
    parser.add_argument('--resume', action='store_true',
                        help='complete an interrupted cache; finished shards are kept')
    parser.add_argument('--images-per-shard', type=int, default=1000,
                        help='images per output shard of a map-style dataset (a WebDataset '
                        'corpus keeps one output shard per input tar)')
    parser.add_argument('--batch-size', type=int, help='default: the train dataloader\'s')
    parser.add_argument('--num-workers', type=int, help='default: the train dataloader\'s')
    parser.add_argument('--device', help='default: cuda when available')
    add_common_args(parser)  # --cfg-options, --launcher, --local-rank as tools/train.py
    return parser.parse_args()


def main():
    args = parse_args()
    # Without CUDA, load_config starts a gloo process group for the pytorch launcher.
    cfg = load_config(args.config, cfg_options=args.cfg_options, launcher=args.launcher)
    if args.launcher != 'none' and torch.cuda.is_available():
        init_dist(args.launcher)
    build_teacher_cache(cfg, args.out, views=args.views, dtype=args.dtype, resume=args.resume,
                        images_per_shard=args.images_per_shard, batch_size=args.batch_size,
                        num_workers=args.num_workers, device=args.device)


if __name__ == '__main__':
    main()
