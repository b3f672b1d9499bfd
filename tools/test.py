"""Evaluate a checkpoint with any radio_mm, mmseg, mmdet or mmpretrain config.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--show-dir DIR] [--out preds.pkl]
"""
import argparse
import os

from radio_mm.apis import build_test_runner
from radio_mm.apis.run_config import add_common_args


def parse_args():
    parser = argparse.ArgumentParser(description='Test a checkpoint')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where the evaluation logs go')
    parser.add_argument('--show-dir', help='draw predictions into this folder')
    parser.add_argument('--out', help='dump raw predictions to this .pkl file')
    add_common_args(parser)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main():
    args = parse_args()
    runner = build_test_runner(args.config, args.checkpoint, work_dir=args.work_dir,
                               show_dir=args.show_dir, out=args.out,
                               cfg_options=args.cfg_options, launcher=args.launcher)
    runner.test()


if __name__ == '__main__':
    main()
