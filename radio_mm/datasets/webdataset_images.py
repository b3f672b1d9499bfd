"""Images streamed from WebDataset tar shards (DataComp-style corpora).

The stream is endless: pass after pass over the shards, each pass in a new shard order drawn
from ``(seed, start_iter, pass)``, the same on every process. Each pass's shard list is split
across ranks and dataloader workers ("readers") as webdataset splits it
(:func:`split_shards`), so every reader reads different shards and one pass reads every sample
once. Shard counts that do not divide evenly among the readers are allowed and warned about
once at the start (:func:`uneven_split_warning` says what they cost).
Undecodable or too small images, and tar members lost to a truncated shard or a damaged
member header (:mod:`.tar_members`), are skipped, logged and handed along with the next
sample, like :class:`UnlabeledImageDataset` does.

A stream has no length and no sample index, so resuming cannot replay "the next sample".
:class:`StreamTrainLoop` instead restarts the stream at the resumed iteration: shard orders
and shuffles are then drawn with ``start_iter`` = that iteration. A resumed run is therefore
reproducible (same checkpoint, same stream) but reads other samples than the interrupted run
would have; samples seen shortly before the interruption may come again sooner.
"""
import itertools
import logging
import random
import re

import braceexpand
import torch
import webdataset as wds
from mmengine.dataset import Compose
from mmengine.logging import print_log
from torch.utils.data import IterableDataset

from radio_mm.registry import DATASETS, TRANSFORMS

from .image_decoding import DEFAULT_MIN_SIDE, UnusableImage, decoded_results
from .tar_members import DamagedTarHeader, tar_samples

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
        num_passes (int | None): passes over the shards; None streams forever (training).
        shuffle_shards (bool): draw a new shard order for every pass.
        seed (int): base of the shard orders and shuffles (:class:`StreamTrainLoop` sets
            the runner's seed).
    """

    def __init__(self, shards, pipeline=(), shuffle_buffer=1000, image_keys=IMAGE_KEYS,
                 min_side=DEFAULT_MIN_SIDE, num_passes=None, shuffle_shards=True, seed=0):
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
        self.num_passes = num_passes
        self.shuffle_shards = shuffle_shards
        # (seed, start_iter) in shared memory: persistent dataloader workers, started before
        # a resume is loaded, read the new position when the loop iterates them again.
        self._stream = torch.tensor([seed, 0], dtype=torch.int64).share_memory_()
        self._warned = torch.zeros((), dtype=torch.bool).share_memory_()  # uneven split
        self._length = None

    def restart_at(self, start_iter, seed=None):
        """Draw shard orders and shuffles for a stream that begins at ``start_iter``."""
        self._stream[1] = int(start_iter)
        if seed is not None:
            self._stream[0] = int(seed)

    def set_length(self, num_samples):
        """The length a loop declares for the endless stream (``len(dataloader)`` batches)."""
        self._length = int(num_samples)

    def __len__(self):
        if self._length is None:
            raise TypeError(
                'WebDatasetImages is an endless stream and has no length; train it with '
                "train_cfg=dict(type='StreamTrainLoop', max_iters=...), which declares the "
                'whole run as one epoch')
        return self._length

    def _reader(self):
        """(rank, world size, dataloader worker, workers) of this reader, as webdataset sees
        them (the launcher's ``RANK``/``WORLD_SIZE``, else the process group)."""
        rank, world_size, worker, num_workers = wds.utils.pytorch_worker_info()
        readers = world_size * num_workers
        if len(self.shards) < readers:
            raise ValueError(
                f'{len(self.shards)} shards cannot feed {readers} readers ({world_size} ranks '
                f'x {num_workers} dataloader workers): each reader needs shards of its own. '
                f'Lower train_dataloader.num_workers to {max(1, len(self.shards) // world_size)}'
                ' or split the data into more shards')
        warning = uneven_split_warning(len(self.shards), world_size, num_workers)
        if warning and rank == 0 and worker == 0 and not self._warned:
            self._warned.fill_(True)  # shared: workers started later do not repeat it
            print_log(warning, logger='current', level=logging.WARNING)
        return rank, world_size, worker, num_workers

    def _shard_urls(self, reader, seed, start_iter):
        passes = itertools.count() if self.num_passes is None else range(self.num_passes)
        for epoch in passes:
            order = list(self.shards)
            if self.shuffle_shards:  # same order on every reader: their slices are disjoint
                random.Random(f'{seed}/{start_iter}/{epoch}').shuffle(order)
            for url in split_shards(order, *reader):
                yield dict(url=url)

    def _samples(self, handler):
        reader = self._reader()
        seed, start_iter = (int(v) for v in self._stream)
        samples = tar_samples(self._shard_urls(reader, seed, start_iter), handler)
        if self.shuffle_buffer:
            rank, world_size, worker, _ = reader
            samples = wds.shuffle(self.shuffle_buffer, rng=random.Random(
                f'{seed}/{start_iter}/reader{worker * world_size + rank}'))(samples)
        return samples

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
            where, reason = describe_lost_members(error)
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


def split_shards(shards, rank, world_size, worker, num_workers):
    """The shards one reader reads: webdataset's ``split_by_node`` (every ``world_size``-th
    shard from ``rank``), then ``split_by_worker`` (every ``num_workers``-th of those from
    ``worker``; webdataset 1.0 ``shardlists.py``). Ranks get shards first, so with an uneven
    count no rank holds more than one shard above another."""
    return shards[rank::world_size][worker::num_workers]


def uneven_split_warning(num_shards, world_size, num_workers):
    """What an uneven split of ``num_shards`` among ranks x workers costs, and the fix; None
    when they divide evenly.

    webdataset deals shards out whole and leaves uneven counts to the user (its
    ``split_by_node``/``split_by_worker`` slice the list; its documentation splits "at the
    shard level, not at the sample level"). The rule here is the same: every reader reads
    the shards :func:`split_shards` deals it, so one pass still reads every sample exactly
    once, but readers with one shard fewer finish the pass sooner.
    """
    readers = world_size * num_workers
    if num_shards % readers == 0:
        return None
    per_rank = [len(range(rank, num_shards, world_size)) for rank in range(world_size)]
    per_reader = sorted({len(split_shards(range(num_shards), r, world_size, w, num_workers))
                         for r in range(world_size) for w in range(num_workers)})
    below = num_shards // readers * readers
    multiples = ' or '.join(str(n) for n in (below, below + readers) if n)
    workers = [w for w in range(num_workers - 1, 0, -1) if num_shards % (world_size * w) == 0]
    fix = f'write the corpus in a multiple of {readers} shards ({multiples})' + (
        f' or set train_dataloader.num_workers={workers[0]}' if workers else '')
    ranks = ', '.join(f'rank {r}: {n}' for r, n in enumerate(per_rank))
    return (f'{num_shards} WebDataset shards do not divide evenly among {readers} readers '
            f'({world_size} ranks x {num_workers} dataloader workers): per pass a reader reads '
            f'{" or ".join(map(str, per_reader))} shards ({ranks}). A pass still reads every '
            'sample once, but readers finish it at different times: with num_passes set, '
            'readers (and ranks with fewer shards) yield fewer samples; in the endless stream, '
            'shards dealt to readers with fewer shards come round more often (shuffle_shards '
            f'evens this out over passes, a fixed order does not). For an even split, {fix}.')


def describe_lost_members(error):
    """(what was lost, why) for an error webdataset hands its handler.

    Its tar reader puts the url last in ``args`` or, one level down, the file object into
    the message (``'unexpected end of data @ <... name='shard.tar'>'``); both name the shard.
    """
    if isinstance(error, DamagedTarHeader):
        return (f'{error.url}: {error.lost} members from byte {error.offset}',
                f'{type(error).__name__}: {error.args[0]}')
    message = str(error.args[0]) if error.args else ''
    reason, _, source = message.partition(' @ ')
    urls = [a for a in error.args[1:] if isinstance(a, str)]
    named = re.search(r"name='([^']*)'", source)
    shard = urls[-1] if urls else named.group(1) if named else None
    what = f'{shard}: the rest of the shard' if shard else message
    return what, f'{type(error).__name__}: {reason}'
