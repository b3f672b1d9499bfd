"""Images streamed from WebDataset tar shards (DataComp-style corpora).

Shards are split across ranks (``split_by_node``) and dataloader workers
(``split_by_worker``) so every process reads different shards. Undecodable images are
skipped and handed along with the next sample, like :class:`UnlabeledImageDataset` does.
"""
import braceexpand
import mmcv
import webdataset as wds
from mmcv.transforms import Compose
from mmengine.logging import print_log
from torch.utils.data import IterableDataset

from radio_mm.registry import DATASETS, TRANSFORMS

IMAGE_KEYS = ('jpg', 'jpeg', 'png', 'webp')


@DATASETS.register_module()
class WebDatasetImages(IterableDataset):
    """Args:
        shards (str | list[str]): tar paths or brace patterns, e.g.
            ``'data/datacomp/{00000..01023}.tar'``.
        pipeline (list[dict]): transforms applied to ``dict(img=BGR array, img_path=key)``.
        shuffle_buffer (int): samples shuffled in memory (0: keep order).
        image_keys (tuple[str]): sample keys that may hold the image.
    """

    def __init__(self, shards, pipeline=(), shuffle_buffer=1000, image_keys=IMAGE_KEYS):
        super().__init__()
        patterns = [shards] if isinstance(shards, str) else list(shards)
        self.shards = [url for p in patterns for url in braceexpand.braceexpand(p)]
        if not self.shards:
            raise ValueError('WebDatasetImages needs at least one shard')
        self.pipeline = Compose([TRANSFORMS.build(t) if isinstance(t, dict) else t
                                 for t in pipeline])
        self.shuffle_buffer = shuffle_buffer
        self.image_keys = tuple(image_keys)
        self.metainfo = dict(shards=len(self.shards))

    def _samples(self):
        dataset = wds.WebDataset(self.shards, nodesplitter=wds.split_by_node,
                                 workersplitter=wds.split_by_worker,
                                 handler=wds.warn_and_continue, shardshuffle=False,
                                 empty_check=False)
        if self.shuffle_buffer:
            dataset = dataset.shuffle(self.shuffle_buffer)
        return dataset

    def __iter__(self):
        skipped = []
        for sample in self._samples():
            key = f"{sample.get('__url__', '')}:{sample.get('__key__', '')}"
            data = self._decode(sample, key)
            if data is None:
                print_log(f'skipping unreadable image {key}', logger='current', level=30)
                skipped.append(key)
                continue
            data['data_samples'].set_metainfo(dict(skipped=skipped))
            skipped = []
            yield data

    def _decode(self, sample, key):
        payload = next((sample[k] for k in self.image_keys if k in sample), None)
        if payload is None:
            return None
        try:
            img = mmcv.imfrombytes(payload, flag='color', channel_order='bgr')
        except Exception:  # noqa: BLE001  (decoders raise many types on garbage)
            return None
        if img is None:
            return None
        return self.pipeline(dict(img=img, img_path=key, img_shape=img.shape[:2],
                                  ori_shape=img.shape[:2]))
