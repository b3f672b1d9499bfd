"""Join a sharded checkpoint (an ``iter_N.dcp/`` folder of a FullyShardWrapper run) into one
radio_mm ``.pth``, as a run without sharding saves it.

    python tools/model_converters/consolidate_checkpoint.py \
        work_dirs/radio_vith_fsdp/iter_600000.dcp radio_h.pth

The output is what ``radio_mm.apis.radio_model``, ``mm2radio.py``, ``radio2hf.py``,
``tools/test.py`` and ``load_from`` take; it resumes a run without sharding too (optimizer
state keyed by position, as ``torch.optim`` saves it). It runs on one process without GPUs
and needs memory for the whole checkpoint.
"""
import argparse
import os
import os.path as osp

from radio_mm.engine.sharded_checkpoint import consolidate
from radio_mm.utils.atomic_files import save_torch_atomically
from radio_mm.utils.checkpoint_checks import check_resumable


def parse_args():
    parser = argparse.ArgumentParser(description='sharded .dcp checkpoint -> one .pth')
    parser.add_argument('src', help='a sharded checkpoint folder (iter_N.dcp)')
    parser.add_argument('dst', help='output .pth')
    parser.add_argument('--no-optimizer', action='store_true',
                        help='leave the optimizer state out (weights only, a smaller file)')
    return parser.parse_args()


def main():
    args = parse_args()
    check_resumable(args.src, osp.dirname(osp.abspath(args.src)), action='load')
    checkpoint = consolidate(args.src)
    if args.no_optimizer:
        checkpoint.pop('optimizer', None)
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    save_torch_atomically(checkpoint, args.dst)
    print(f"saved {args.dst}: {len(checkpoint['state_dict'])} weights"
          f"{', EMA' if 'ema_state_dict' in checkpoint else ''}"
          f"{', optimizer' if 'optimizer' in checkpoint else ''}, iter "
          f"{checkpoint['meta'].get('iter')}")


if __name__ == '__main__':
    main()
