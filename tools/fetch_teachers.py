"""Download teacher checkpoints to the folder the teacher configs read.

    python tools/fetch_teachers.py [--out-dir checkpoints/teachers] [--teachers clip sam]
    python tools/fetch_teachers.py --dry-run     # print sources and target paths only

Sources (radio_mm/models/teachers/paper_teachers.py): DFN CLIP ViT-H/14-378 from Hugging Face
(apple/DFN5B-CLIP-ViT-H-14-378, open_clip's 'dfn5b' tag), DINOv2 ViT-g/14-reg4 and SAM ViT-H
from dl.fbaipublicfiles.com. About 2.6, 4.5 and 2.6 GB. Files already present are skipped.
Then use ``am_radio_teacher_cfgs(out_dir)`` (or its printed configs) in a distillation config.

The later releases' teachers (``RELEASE_TEACHER_WEIGHTS``, read by
``configs/_base_/models/*_teachers.py``): ``siglip`` (RADIOv2.5's SigLIP SO400M/14-384),
``siglip2-g`` (SigLIP2-g-384), ``dino_v3`` (DINOv3-7B, gated on Hugging Face: accept its
license and log in first), ``sam2`` (SAM 2.1 Hiera-L); and RADIO releases for
``RADIOTeacher``, by release name (``c-radio_v4-h``...: the official ``.pth.tar``)::

    python tools/fetch_teachers.py --teachers siglip2-g dino_v3 c-radio_v4-h
"""
import argparse
import os
import os.path as osp
import sys
from urllib.parse import urlparse

from radio_mm.formats.official_releases import RELEASES
from radio_mm.models.teachers.paper_teachers import (
    AM_RADIO_TEACHERS,
    DEFAULT_CHECKPOINT_DIR,
    am_radio_teacher_cfgs,
)
from radio_mm.models.teachers.weight_tables import RELEASE_TEACHER_WEIGHTS, TeacherWeights


def fetchable():
    """Name -> TeacherWeights of everything this tool downloads."""
    table = {name: teacher.weights for name, teacher in AM_RADIO_TEACHERS.items()}
    table.update(RELEASE_TEACHER_WEIGHTS)
    for name, release in RELEASES.items():  # RADIOTeacher(pretrained=<out-dir>/<file>)
        table[name] = TeacherWeights(osp.basename(urlparse(release.url).path), url=release.url)
    return table


def parse_args():
    parser = argparse.ArgumentParser(description='Download the AM-RADIO teacher checkpoints')
    parser.add_argument('--out-dir', default=DEFAULT_CHECKPOINT_DIR,
                        help='folder for the checkpoints (default: %(default)s)')
    parser.add_argument('--teachers', nargs='+', choices=list(fetchable()),
                        default=list(AM_RADIO_TEACHERS),
                        help="which teachers (default: the paper's three)")
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
    table = fetchable()
    for name in args.teachers:
        weights = table[name]
        target = osp.join(args.out_dir, weights.filename)
        state = 'present' if osp.isfile(target) else 'missing'
        print(f'{name}: {weights.source}\n    -> {target} ({state})', flush=True)
        if state == 'missing' and not args.dry_run:
            fetch(weights, target)
    paper = [name for name in args.teachers if name in AM_RADIO_TEACHERS]
    if not paper:
        return
    print('\nteacher configs:')
    for cfg in am_radio_teacher_cfgs(args.out_dir, paper):
        print(f'    {cfg},')


if __name__ == '__main__':
    main()
