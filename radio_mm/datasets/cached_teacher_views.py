"""The augmented views of a teacher cache, each with its teachers' targets.

Reads the shards ``tools/cache_teachers.py`` wrote (layout in
:mod:`radio_mm.formats.teacher_cache`) like any WebDataset corpus
(:class:`WebDatasetImages`: split across ranks and workers, shuffled in a buffer) and attaches
to each sample's ``data_samples`` the field ``teacher_targets``: ``{teacher name: (summary (C,)
or None, features (C, h, w))}`` in the cache's storage precision, which
:class:`CachedTeacher` batches, moves to the model's device and casts to float32.

The views are used as stored: the crops and flips were drawn when the cache was built (K
views per image), so no geometric transform may follow (the targets would no longer match).

Each view's image and arrays are checked against the SHA-256 digests its ``.json`` records:
a damaged view is skipped, counted and logged with its shard (``SkippedImagesHook``), or
refused with ``strict_checksums=True``. A cache built before checksums is read with one
warning (rebuild it to have its views checked).
"""
import json
import logging

from mmengine.logging import print_log

from radio_mm.formats.teacher_cache import (
    CHECKSUMS,
    IMAGE_KEY,
    META_KEY,
    decode_array,
    features_key,
    missing_shards,
    read_manifest,
    read_shard_record,
    summary_key,
)
from radio_mm.registry import DATASETS
from radio_mm.utils.checksums import bytes_sha256

from .image_decoding import UnusableImage
from .webdataset_images import WebDatasetImages


@DATASETS.register_module()
class CachedTeacherViews(WebDatasetImages):
    """Args:
        cache (str): the cache folder (holding ``manifest.json``).
        shuffle_buffer (int): samples shuffled in memory (0: keep order).
        strict_checksums (bool): raise on a view whose members fail their checksum instead
            of skipping (and counting) it.
        **kwargs: further :class:`WebDatasetImages` arguments.
    """

    def __init__(self, cache, shuffle_buffer=1000, strict_checksums=False, **kwargs):
        manifest = read_manifest(cache)
        missing = missing_shards(cache, manifest)
        if missing:
            raise FileNotFoundError(
                f'teacher cache {cache!r} is incomplete: {len(missing)} of '
                f'{len(manifest.shards)} shards missing (e.g. {missing[0]}); finish it with '
                'tools/cache_teachers.py CONFIG --out DIR --resume')
        if kwargs.pop('pipeline', None):
            raise ValueError('CachedTeacherViews takes no pipeline: the cached targets belong '
                             'to the views as stored (augmentations were drawn at caching time)')
        self.cache = cache
        self.num_views = sum(read_shard_record(cache, s)['views'] for s in manifest.shards)
        self.dtype = manifest.dtype
        self.teacher_names = [t.name for t in manifest.teachers]
        self.fingerprint = manifest.fingerprint()
        self.checksums = manifest.checksums == CHECKSUMS
        self.strict_checksums = strict_checksums
        if not self.checksums:
            print_log(f'teacher cache {cache!r} was built without checksums: damaged views '
                      'cannot be detected and would be used as targets. Rebuild it with '
                      'tools/cache_teachers.py to have every view checked', logger='current',
                      level=logging.WARNING)
        super().__init__(shards=[f'{cache}/{s}' for s in manifest.shards],
                         pipeline=[dict(type='PackImageInputs')],
                         shuffle_buffer=shuffle_buffer, image_keys=(IMAGE_KEY, ), **kwargs)
        self.metainfo.update(teacher_cache=cache, teachers=self.teacher_names,
                             views_per_image=manifest.views_per_image, dtype=self.dtype)
        print_log(f'teacher cache {cache}: {self.num_views} views in '
                  f'{len(manifest.shards)} shards, {manifest.views_per_image} views per '
                  f'image, {self.dtype} targets of '
                  f'{self.teacher_names}', logger='current')

    def __len__(self):
        """The cached views, unless a stream loop declared another length."""
        return self.num_views if self._length is None else self._length

    def _decode(self, sample, key):
        if self.checksums:
            self._check(sample, key)
        data = super()._decode(sample, key)
        targets = {}
        for name in self.teacher_names:
            if features_key(name) not in sample:  # skipped and counted like a bad image
                raise UnusableImage(f'no {features_key(name)} member')
            summary = sample.get(summary_key(name))
            targets[name] = (None if summary is None else self._array(sample, key,
                                                                      summary_key(name)),
                             self._array(sample, key, features_key(name)))
        data['data_samples'].teacher_targets = targets
        data['data_samples'].set_metainfo(dict(teacher_cache=self.fingerprint))
        return data

    def _check(self, sample, key):
        """Compare the view's members with the digests its json recorded at build time."""
        try:
            recorded = json.loads(sample[META_KEY])[CHECKSUMS]
        except (KeyError, ValueError, TypeError):
            recorded, damaged = {}, [f'{META_KEY} (no checksums readable)']
        else:
            damaged = [m for m, digest in sorted(recorded.items())
                       if m not in sample or bytes_sha256(sample[m]) != digest]
        if not damaged:
            return
        reason = (f"{', '.join(damaged)} fail their SHA-256 (damaged after the cache was "
                  'built)')
        if self.strict_checksums:
            raise ValueError(f'teacher cache view {key}: {reason}; rebuild that shard (delete '
                             'it and run tools/cache_teachers.py --resume) or drop '
                             'strict_checksums to skip damaged views')
        raise UnusableImage(reason)  # skipped, counted and logged with the shard

    def _array(self, sample, key, member):
        try:
            return decode_array(sample[member], self.dtype)
        except ValueError as error:  # e.g. a pickled object array: never unpickled
            raise ValueError(f'teacher cache view {key}: {member} is not a plain array '
                             f'({error}); this shard was not written by '
                             'tools/cache_teachers.py: rebuild it') from error
