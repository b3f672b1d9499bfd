"""The on-disk teacher cache: what ``tools/cache_teachers.py`` writes and training reads.

A cache is a folder::

    manifest.json          what the targets are (:class:`TeacherCacheManifest`)
    views-00000.json ...   per shard: its number of views and its unreadable source images
    views-00000.tar ...    WebDataset shards, one sample per augmented view:
        <key>.png                       the view the pipeline produced, lossless
        <key>.json                      its source image, view index and seed, and the
                                        SHA-256 of each of its other members
        <key>.<teacher>.summary.npy     (C,) summary (absent for teachers without one)
        <key>.<teacher>.features.npy    (C, h, w) the valid feature cells, teacher's grid

The manifest names every teacher (its config without the checkpoint path, the checkpoint's
SHA-256, its geometry), the dataset and pipeline the views came from, the data preprocessor
that turned them into teacher inputs, the views per image, the seed and the storage
precision. Training refuses a cache whose manifest disagrees with the config, and a resumed
build refuses to add shards to a cache built with anything else. bf16 arrays are stored as
their int16 bit patterns (numpy has no bfloat16); the manifest's ``dtype`` says how to read them.

Every view's ``.json`` records the SHA-256 of its image and arrays (manifest ``checksums:
'sha256'``); :class:`CachedTeacherViews` checks them and skips (counted and logged, naming
the shard) or, with ``strict_checksums=True``, refuses a damaged view. Caches built before
checksums existed are read with a warning that damage cannot be detected.
"""
import io
import json
import os.path as osp

import numpy as np
import torch

from radio_mm.registry import FUNCTIONS
from radio_mm.structures.teacher_cache_manifest import (
    CHECK_CACHE_MATCHES,
    READ_MANIFEST,
    TeacherCacheManifest,
)
from radio_mm.utils.atomic_files import write_text_atomically
from radio_mm.utils.checksums import file_sha256

FORMAT_VERSION = 1
CHECKSUMS = 'sha256'  # manifest ``checksums``: each view's json holds its members' digests
META_KEY = 'json'
MANIFEST = 'manifest.json'
STORAGE_DTYPES = {'fp32': torch.float32, 'fp16': torch.float16, 'bf16': torch.bfloat16}
IMAGE_KEY = 'png'


def shard_name(unit):
    return f'views-{unit:05d}.tar'


def shard_record_name(unit):
    """The shard's record: ``{"views": n, "skipped": [unreadable source images]}``."""
    return f'views-{unit:05d}.json'


def read_shard_record(cache_dir, shard):
    with open(osp.join(cache_dir, shard[:-len('.tar')] + '.json')) as f:
        return json.load(f)


def summary_key(teacher):
    return f'{teacher}.summary.npy'


def features_key(teacher):
    return f'{teacher}.features.npy'


def encode_array(tensor, dtype):
    """A float tensor -> ``.npy`` bytes in storage precision ``dtype`` ('fp32'|'fp16'|'bf16')."""
    tensor = tensor.detach().to('cpu', STORAGE_DTYPES[dtype]).contiguous()
    array = tensor.view(torch.int16).numpy() if dtype == 'bf16' else tensor.numpy()
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def decode_array(payload, dtype):
    """``.npy`` bytes written by :func:`encode_array` -> a tensor in storage precision."""
    array = np.load(io.BytesIO(payload), allow_pickle=False)
    tensor = torch.from_numpy(array)
    return tensor.view(torch.bfloat16) if dtype == 'bf16' else tensor


def plain(obj):
    """A config as plain JSON values (tuples become lists), comparable with a read manifest."""
    return json.loads(json.dumps(obj, sort_keys=True, default=str))


def teacher_identity(cfg):
    """What decides a teacher's targets: its config less the checkpoint's path (a moved file
    is the same teacher), and the checkpoint's SHA-256 (None: random weights)."""
    cfg = plain(cfg)
    path = cfg.pop('pretrained', None)
    checkpoint = None if path is None else dict(file=osp.basename(path), sha256=file_sha256(path))
    return dict(name=cfg['name'], cfg=cfg, checkpoint=checkpoint)


def differences(cached, current, where=''):
    """Human-readable paths at which two plain JSON values differ (empty when equal).

    Lists of equal length are compared item by item (``teachers[sam].cfg.arch.depth``: an
    item with a ``name`` is called by it), so a message names the field, not the list."""
    if isinstance(cached, list) and isinstance(current, list) and len(cached) == len(current):
        found = []
        for i, (a, b) in enumerate(zip(cached, current)):
            same_name = isinstance(a, dict) and isinstance(b, dict) and 'name' in a and \
                a.get('name') == b.get('name')
            found += differences(a, b, f"{where}[{a['name'] if same_name else i}]")
        return found
    if isinstance(cached, dict) and isinstance(current, dict):
        found = []
        for key in sorted(set(cached) | set(current)):
            path = f'{where}.{key}' if where else str(key)
            if key not in current:
                found.append(f'{path}: cache has {cached[key]!r}, config has nothing')
            elif key not in cached:
                found.append(f'{path}: config has {current[key]!r}, cache has nothing')
            else:
                found += differences(cached[key], current[key], path)
        return found
    if cached != current:
        return [f'{where or "value"}: cache has {cached!r}, config has {current!r}']
    return []


@FUNCTIONS.register_module(name=READ_MANIFEST)
def read_manifest(cache_dir):
    """The :class:`TeacherCacheManifest` of the cache in ``cache_dir``."""
    path = osp.join(cache_dir, MANIFEST)
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{cache_dir!r} is not a teacher cache (no {MANIFEST}); build one with '
            'python tools/cache_teachers.py CONFIG --out DIR')
    with open(path) as f:
        manifest = json.load(f)
    if manifest.get('format_version') != FORMAT_VERSION:
        raise ValueError(f'teacher cache {cache_dir!r} has format version '
                         f"{manifest.get('format_version')}, this radio_mm reads "
                         f'{FORMAT_VERSION}; rebuild it with tools/cache_teachers.py')
    return TeacherCacheManifest.from_dict(manifest, source=path)


def write_manifest(cache_dir, manifest):
    """Write a :class:`TeacherCacheManifest` atomically: a reader never sees half of it."""
    write_text_atomically(osp.join(cache_dir, MANIFEST),
                          json.dumps(manifest.to_dict(), indent=1, sort_keys=True))


def missing_shards(cache_dir, manifest):
    """Shards not finished yet (a shard is finished once its ``.tar`` exists)."""
    return [s for s in manifest.shards if not osp.isfile(osp.join(cache_dir, s))]


@FUNCTIONS.register_module(name=CHECK_CACHE_MATCHES)
def check_cache_matches(cache_dir, manifest, teacher_cfgs, data_preprocessor,
                        trust_manifest=False):
    """Raise ValueError naming every way the cache's targets differ from what the config's
    teachers would compute. A checkpoint file that is present is hashed and compared. An
    absent one (training from a cache needs no teacher weights) is trusted to the manifest
    when it has the name of the file the cache was made with; an absent file of another name
    is refused unless ``trust_manifest``."""
    problems = []
    cached = {t.name: t for t in manifest.teachers}
    current = {plain(c)['name']: plain(c) for c in teacher_cfgs}
    if set(cached) != set(current):
        problems.append(f'teachers: cache has {sorted(cached)}, config has {sorted(current)}')
    for name in sorted(set(cached) & set(current)):
        cfg = dict(current[name])
        path = cfg.pop('pretrained', None)
        problems += [f'teacher {name!r} {p}' for p in differences(cached[name].cfg, cfg)]
        checkpoint = cached[name].checkpoint
        if (checkpoint is None) != (path is None):
            problems.append(f'teacher {name!r}: cache made with '
                            f"{'random weights' if checkpoint is None else checkpoint['file']}, "
                            f"config uses {'random weights' if path is None else path}")
        elif path is not None and osp.isfile(path) and file_sha256(path) != checkpoint['sha256']:
            problems.append(f'teacher {name!r}: checkpoint {path} is not the file the cache was '
                            f"made with (SHA-256 {checkpoint['sha256'][:12]}...)")
        elif (path is not None and not osp.isfile(path) and not trust_manifest
              and osp.basename(path) != checkpoint['file']):
            problems.append(f"teacher {name!r}: the cache was made with {checkpoint['file']}, "
                            f'the config names {path}, which is absent and cannot be compared '
                            '(set model.trust_cache_manifest=True if the cache is right)')
    problems += [f'data_preprocessor {p}'
                 for p in differences(manifest.data_preprocessor, plain(data_preprocessor))]
    if problems:
        raise ValueError(f'teacher cache {cache_dir!r} does not match this config: '
                         + '; '.join(problems)
                         + '. Rebuild the cache from this config with tools/cache_teachers.py '
                         'or point teacher_cache at a matching one.')
