"""Train any radio_mm, mmseg, mmdet or mmpretrain config.

    python tools/train.py configs/distill/radio_demo.py [--work-dir DIR] [--resume [auto|PATH]]
"""
import argparse
import os

from radio_mm.apis import build_train_runner
from radio_mm.apis.run_config import add_common_args


def parse_args():
    parser = argparse.ArgumentParser(description='Train a model from a config')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--work-dir', help='where logs and checkpoints go')
    parser.add_argument(
        '--resume', nargs='?', const='auto', default=None, metavar='auto|PATH',
        help="resume from PATH, or from the latest checkpoint in work-dir when given "
             "without a value ('auto')")
    parser.add_argument('--amp', action='store_true', help='mixed-precision training')
    add_common_args(parser)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main():
    args = parse_args()
    runner = build_train_runner(args.config, work_dir=args.work_dir, resume=args.resume,
                                amp=args.amp, cfg_options=args.cfg_options,
                                launcher=args.launcher)
    runner.train()


if __name__ == '__main__':
    main()
