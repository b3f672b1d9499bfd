"""Download the AM-RADIO teacher checkpoints to the folder the teacher configs read.

    python tools/fetch_teachers.py [--out-dir checkpoints/teachers] [--teachers clip sam]
    python tools/fetch_teachers.py --dry-run     # print sources and target paths only

Sources (radio_mm/models/teachers/paper_teachers.py): DFN CLIP ViT-H/14-378 from Hugging Face
(apple/DFN5B-CLIP-ViT-H-14-378, open_clip's 'dfn5b' tag), DINOv2 ViT-g/14-reg4 and SAM ViT-H
from dl.fbaipublicfiles.com. About 2.6, 4.5 and 2.6 GB. Files already present are skipped.
Then use ``am_radio_teacher_cfgs(out_dir)`` (or its printed configs) in a distillation config.
"""
import argparse
import os
import os.path as osp
import sys

from radio_mm.models.teachers.paper_teachers import (
    AM_RADIO_TEACHERS,
    DEFAULT_CHECKPOINT_DIR,
    am_radio_teacher_cfgs,
)


def parse_args():
    parser = argparse.ArgumentParser(description='Download the AM-RADIO teacher checkpoints')
    parser.add_argument('--out-dir', default=DEFAULT_CHECKPOINT_DIR,
                        help='folder for the checkpoints (default: %(default)s)')
    parser.add_argument('--teachers', nargs='+', choices=list(AM_RADIO_TEACHERS),
                        default=list(AM_RADIO_TEACHERS), help='which teachers (default: all)')
    parser.add_argument('--dry-run', action='store_true',
                        help='print what would be downloaded where, download nothing')
    return parser.parse_args()


def download(weights, target):
    """Fetch one file to ``target`` through a temporary name, so a broken transfer leaves none."""
    os.makedirs(osp.dirname(target), exist_ok=True)
    if weights.url:
        from torch.hub import download_url_to_file
        download_url_to_file(weights.url, target + '.part', progress=True)
    else:
        from huggingface_hub import hf_hub_download
        fetched = hf_hub_download(weights.hf_repo, weights.hf_file,
                                  local_dir=osp.dirname(target))
        os.replace(fetched, target + '.part')
    os.replace(target + '.part', target)


def fetch(weights, target):
    """:func:`download`, with a failed transfer (offline, refused, not found) as one line
    naming the source and the target instead of a urllib/requests traceback."""
    try:
        download(weights, target)
    except OSError as err:  # URLError, requests' and huggingface_hub's errors are OSErrors
        if osp.exists(target + '.part'):
            os.remove(target + '.part')
        reason = ' '.join(str(getattr(err, 'reason', None) or err).split())
        sys.exit(f'fetch_teachers.py: cannot download {weights.source} to {target}: '
                 f'{reason or type(err).__name__}')


def main():
    args = parse_args()
    for name in args.teachers:
        weights = AM_RADIO_TEACHERS[name].weights
        target = osp.join(args.out_dir, weights.filename)
        state = 'present' if osp.isfile(target) else 'missing'
        print(f'{name}: {weights.source}\n    -> {target} ({state})', flush=True)
        if state == 'missing' and not args.dry_run:
            fetch(weights, target)
    print('\nteacher configs:')
    for cfg in am_radio_teacher_cfgs(args.out_dir, args.teachers):
        print(f'    {cfg},')


if __name__ == '__main__':
    main()
