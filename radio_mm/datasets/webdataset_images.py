"""Images streamed from WebDataset tar shards (DataComp-style corpora).

Shards are split across ranks (``split_by_node``) and dataloader workers
(``split_by_worker``) so every process reads different shards. Undecodable or too small
images, and tar members lost to a truncated or corrupt shard, are skipped and handed along
with the next sample, like :class:`UnlabeledImageDataset` does.
"""
import re

import braceexpand
import webdataset as wds
from mmcv.transforms import Compose
from mmengine.logging import print_log
from torch.utils.data import IterableDataset

from radio_mm.registry import DATASETS, TRANSFORMS
from .image_decoding import DEFAULT_MIN_SIDE, UnusableImage, decoded_results

IMAGE_KEYS = ('jpg', 'jpeg', 'png', 'webp')


@DATASETS.register_module()
class WebDatasetImages(IterableDataset):
    """Args:
        shards (str | list[str]): tar paths or brace patterns, e.g.
            ``'data/datacomp/{00000..01023}.tar'``.
        pipeline (list[dict]): transforms applied to ``dict(img=BGR array, img_path=key)``.
        shuffle_buffer (int): samples shuffled in memory (0: keep order).
        image_keys (tuple[str]): sample keys that may hold the image.
        min_side (int): images whose shorter side has fewer pixels are skipped and counted.
    """

    def __init__(self, shards, pipeline=(), shuffle_buffer=1000, image_keys=IMAGE_KEYS,
                 min_side=DEFAULT_MIN_SIDE):
        super().__init__()
        patterns = [shards] if isinstance(shards, str) else list(shards)
        self.shards = [url for p in patterns for url in braceexpand.braceexpand(p)]
        if not self.shards:
            raise ValueError('WebDatasetImages needs at least one shard')
        self.pipeline = Compose([TRANSFORMS.build(t) if isinstance(t, dict) else t
                                 for t in pipeline])
        self.shuffle_buffer = shuffle_buffer
        self.image_keys = tuple(image_keys)
        self.min_side = min_side
        self.metainfo = dict(shards=len(self.shards))


    def _samples(self, handler):
        dataset = wds.WebDataset(self.shards, nodesplitter=wds.split_by_node,
                                 workersplitter=wds.split_by_worker, handler=handler,
                                 shardshuffle=False, empty_check=False)
        if self.shuffle_buffer:
            dataset = dataset.shuffle(self.shuffle_buffer)
        return dataset

    def __iter__(self):
        skipped = []

        def skip(what, reason):
            if what in skipped:  # webdataset reports one broken shard at several levels
                return
            print_log(f'skipping unreadable image {what} ({reason})', logger='current',
                      level=30)
            skipped.append(what)

        def lost_members(error):
            # webdataset calls this where a shard stops reading (a truncated tar, a
            # duplicate member...) and then goes on: what was lost is counted too.
            where, reason = _describe(error)
            skip(where, reason)
            return True

        for sample in self._samples(lost_members):
            key = f"{sample.get('__url__', '')}:{sample.get('__key__', '')}"
            try:
                data = self._decode(sample, key)
            except UnusableImage as error:
                data, reason = None, str(error)
            else:
                reason = 'the pipeline dropped it'
            if data is None:
                skip(key, reason)
                continue
            data['data_samples'].set_metainfo(dict(skipped=skipped))
            skipped = []
            yield data

    def _decode(self, sample, key):
        payload = next((sample[k] for k in self.image_keys if k in sample), None)
        if payload is None:
            raise UnusableImage(f'no {"/".join(self.image_keys)} member')
        return self.pipeline(decoded_results(payload, key, self.min_side))


def _describe(error):
    """(what was lost, why) for an error webdataset hands its handler.

    Its tar reader puts the url last in ``args`` or, one level down, the file object into
    the message (``'unexpected end of data @ <... name='shard.tar'>'``); both name the shard.
    """
    message = str(error.args[0]) if error.args else ''
    reason, _, source = message.partition(' @ ')
    urls = [a for a in error.args[1:] if isinstance(a, str)]
    named = re.search(r"name='([^']*)'", source)
    shard = urls[-1] if urls else named.group(1) if named else None
    what = f'{shard}: the rest of the shard' if shard else message
    return what, f'{type(error).__name__}: {reason}'
