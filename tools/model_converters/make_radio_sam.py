"""Join a RADIO model and SAM's prompt encoder + mask decoder into one RADIOSAM checkpoint.

    python tools/model_converters/make_radio_sam.py RADIO_CKPT SAM_CKPT OUT \
        [--config configs/sam/radio-vith_sam-decoder_coco-box-prompt.py]

RADIO_CKPT is an official release or a radio_mm checkpoint (radio2mm.py, distillation) with a
``sam`` adaptor; SAM_CKPT a segment_anything checkpoint of any size (the decoders are the
same). OUT evaluates with ``tools/test.py CONFIG OUT`` and starts fine-tuning as ``load_from``.
With ``--config`` the RADIOSAM is built from that config (its ``model.radio`` must describe
the RADIO weights), so OUT is guaranteed to load into it; without, from the checkpoint alone
with SAM's default decoder at 1024 px.
"""
import argparse
import os
import os.path as osp

import torch
from mmengine.config import DictAction

from radio_mm.apis import load_config, radio_model
from radio_mm.models.sam import RADIOSAM
from radio_mm.registry import MODELS


def parse_args():
    parser = argparse.ArgumentParser(description='RADIO + SAM decoder -> RADIOSAM checkpoint')
    parser.add_argument('radio', help='RADIO checkpoint (official .pth.tar or radio_mm .pth)')
    parser.add_argument('sam', help='SAM checkpoint (e.g. sam_vit_h_4b8939.pth)')
    parser.add_argument('out', help='output RADIOSAM checkpoint (.pth)')
    parser.add_argument('--config', help='RADIOSAM config the checkpoint is for')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, e.g. model.image_size=1024')
    return parser.parse_args()


def make_radio_sam(radio_checkpoint, sam_checkpoint, config=None, cfg_options=None):
    """The RADIOSAM with RADIO's and SAM's weights; built from ``config``'s model if given."""
    radio = radio_model(radio_checkpoint, adaptor_names=['sam'])
    if config is None:
        return RADIOSAM(radio=radio, sam_pretrained=sam_checkpoint)
    cfg = load_config(config, cfg_options=cfg_options).model
    if cfg.get('type') not in ('RADIOSAM', 'radio_mm.RADIOSAM'):
        raise ValueError(f'{config!r} builds a {cfg.get("type")!r}, not a RADIOSAM')
    cfg.sam_pretrained = sam_checkpoint
    model = MODELS.build(cfg)
    try:
        model.radio.load_state_dict(radio.state_dict(), strict=True)
    except RuntimeError as err:
        raise RuntimeError(
            f'{radio_checkpoint!r} does not fit model.radio of {config!r}; make that config '
            'describe the checkpoint (radio2mm.py prints a release\'s backbone and adaptors).'
            f'\n{err}') from err
    return model


def main():
    args = parse_args()
    if osp.abspath(args.out) in (osp.abspath(args.radio), osp.abspath(args.sam)):
        raise SystemExit('refusing to overwrite an input checkpoint: choose another output')
    model = make_radio_sam(args.radio, args.sam, args.config, args.cfg_options)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    meta = dict(radio_source=osp.basename(args.radio), sam_source=osp.basename(args.sam),
                config=args.config)
    torch.save(dict(meta=meta, state_dict=model.state_dict()), args.out)
    print(f'saved {args.out} ({len(model.state_dict())} tensors, image_size '
          f'{model.image_size}, embedding {model.embedding_size}x{model.embedding_size})')


if __name__ == '__main__':
    main()
