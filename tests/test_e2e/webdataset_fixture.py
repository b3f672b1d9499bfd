"""DataComp-style WebDataset tar shards of skimage photos (``<key>.jpg`` + ``<key>.txt``).

Shared by the streaming distillation test and the all-configs smoke run.
"""
import io
import os.path as osp

import webdataset as wds
from PIL import Image
from skimage import data

PHOTOS = ('astronaut', 'coffee', 'chelsea', 'rocket')


def write_shards(root, num_shards, per_shard):
    """``root/00000.tar``... -> the brace pattern naming them all, e.g. ``{00000..00003}``."""
    photos = [getattr(data, name)() for name in PHOTOS]
    for shard in range(num_shards):
        with wds.TarWriter(osp.join(root, f'{shard:05d}.tar')) as sink:
            for i in range(per_shard):
                buffer = io.BytesIO()
                photo = photos[(shard + i) % len(photos)][::4, ::4]
                Image.fromarray(photo).save(buffer, format='JPEG')
                sink.write({'__key__': f'{shard}_{i}', 'jpg': buffer.getvalue(),
                            'txt': 'a photo'})
    return osp.join(root, '{00000..%05d}.tar' % (num_shards - 1))
