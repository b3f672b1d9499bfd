"""Build a teacher cache: run a distillation config's teachers once over K views per image.

Distillation is teacher-bound (benchmarks/README.md); with fixed data, the teachers' targets
for a few augmented views per image can be computed once and reused every epoch
(:class:`CachedTeacher`). Layout: :mod:`radio_mm.formats.teacher_cache`.

Work is split into units, one output shard each: consecutive ``images_per_shard`` images of a
map-style dataset, or one input tar of :class:`WebDatasetImages`. Unit ``u`` belongs to rank
``u % world_size``; a rank's dataloader workers take its units in turn, decode images and run
the pipeline; the main process runs the teachers. Everything a shard holds depends on its
unit alone, so shards come out byte-identical however the work is split or interrupted (on
the same hardware and number of threads: float sums in the teachers round by thread count):

* view ``k`` of image ``i`` runs the pipeline under a seed derived from (seed, unit, i, k);
* teachers see batches of consecutive views of one unit (never mixed with another unit's);
* tar members carry fixed metadata (mtime 0).

A shard is written to ``.<name>.partial`` and renamed when complete, so a finished shard is
never half-written and ``resume=True`` skips exactly the finished ones.

Under torchrun (``--launcher pytorch``) every rank writes its own shards into the one
``--out`` folder, which must be storage all nodes share. The manifest is written once, by
rank 0 between two barriers before any shard (atomically, like the shards): ``--resume``
checks a cache's settings against it, and a reader refuses a cache whose manifest lists a
shard that is not there. After every rank's last shard (a barrier) rank 0 checks that the
folder holds every shard of the manifest, else stops naming the missing ones, and logs the
whole cache. The shards, their records and the manifest are the bytes a single process
writes.
"""
import copy
import hashlib
import json
import os
import os.path as osp
import time
from functools import partial
from typing import NamedTuple

import cv2
import torch
import webdataset as wds
from mmengine.config import Config
from mmengine.dist import barrier, get_dist_info, get_world_size, is_distributed
from mmengine.logging import print_log
from mmengine.registry import DefaultScope
from mmengine.runner import set_random_seed
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from radio_mm.datasets import WebDatasetImages
from radio_mm.datasets.tar_members import tar_samples
from radio_mm.datasets.unlabeled_image_dataset import DECODE_ERRORS
from radio_mm.datasets.webdataset_images import describe_lost_members
from radio_mm.formats.teacher_cache import (
    CHECKSUMS,
    FORMAT_VERSION,
    IMAGE_KEY,
    MANIFEST,
    META_KEY,
    STORAGE_DTYPES,
    differences,
    encode_array,
    features_key,
    missing_shards,
    plain,
    read_manifest,
    read_shard_record,
    shard_name,
    shard_record_name,
    summary_key,
    teacher_identity,
    write_manifest,
)
from radio_mm.models.distillers.radio_distiller import DEFAULT_DATA_PREPROCESSOR
from radio_mm.registry import DATASETS, MODELS
from radio_mm.structures import CachedTeacherRecord, TeacherCacheManifest
from radio_mm.utils import import_toolbox
from radio_mm.utils.atomic_files import partial_path, publish, write_text_atomically
from radio_mm.utils.checksums import bytes_sha256


class _IndexedImages:
    """A map-style dataset in units of ``per_unit`` consecutive indices."""

    def __init__(self, dataset, per_unit):
        self.dataset = dataset
        self.per_unit = per_unit
        self.num_units = -(-len(dataset) // per_unit)

    def images(self, unit):
        """(source key, call that returns the pipeline's output or None) per image."""
        stop = min((unit + 1) * self.per_unit, len(self.dataset))
        for index in range(unit * self.per_unit, stop):
            key = self.dataset.get_data_info(index).get('img_path', str(index))
            yield key, partial(self.dataset.prepare_data, index)


class _ShardImages:
    """A :class:`WebDatasetImages` corpus in units of one input tar."""

    def __init__(self, dataset):
        self.dataset = dataset
        self.num_units = len(dataset.shards)

    def images(self, unit):
        url = self.dataset.shards[unit]
        lost = []  # members of a truncated shard or after a damaged header: skipped images

        def record(error):
            lost.append(describe_lost_members(error)[0])
            return True

        # the units are split here already: this reads the one shard, whole
        for sample in tar_samples([dict(url=url)], record):
            key = f"{url}:{sample.get('__key__', '')}"
            yield key, partial(self.dataset._decode, sample, key)
        for what in dict.fromkeys(lost):  # webdataset may report one loss at two levels
            yield what, _nothing


def _nothing():
    return None


def view_sources(dataset, images_per_shard):
    if isinstance(dataset, WebDatasetImages):
        return _ShardImages(dataset)
    if hasattr(dataset, 'prepare_data') and hasattr(dataset, '__len__'):
        return _IndexedImages(dataset, images_per_shard)
    raise TypeError(f'cannot cache views of a {type(dataset).__name__}: use a map-style '
                    'dataset (UnlabeledImageDataset, ...) or WebDatasetImages')


def view_seed(seed, unit, position, view):
    """The pipeline's seed for one view: fixed by its place in the data, not by who runs it."""
    digest = hashlib.sha256(f'{seed}/{unit}/{position}/{view}'.encode()).digest()
    return int.from_bytes(digest[:4], 'little')


class _UnitViews(IterableDataset):
    """Yields ``(unit, records, last, skipped)``: up to ``batch_size`` views of one unit per
    item, ``last`` on a unit's final item (which also lists its unreadable images). A record is
    ``(key, meta, png bytes, inputs (3, H, W) uint8 BGR)``."""

    def __init__(self, source, units, views, batch_size, seed):
        self.source, self.units, self.views = source, units, views
        self.batch_size, self.seed = batch_size, seed

    def __iter__(self):
        worker = get_worker_info()
        units = self.units if worker is None else self.units[worker.id::worker.num_workers]
        for unit in units:
            records, skipped = [], []
            for position, (key, make_view) in enumerate(self.source.images(unit)):
                for view in range(self.views):
                    seed = view_seed(self.seed, unit, position, view)
                    set_random_seed(seed)
                    try:
                        data = make_view()
                    except DECODE_ERRORS:
                        data = None
                    if data is None:
                        skipped.append(key)
                        break
                    inputs = data['inputs']
                    ok, png = cv2.imencode('.png', inputs.permute(1, 2, 0).numpy())
                    assert ok, f'PNG encoding failed for {key}'
                    meta = dict(source=key, view=view, seed=seed)
                    records.append((f'{unit:05d}-{position:06d}-{view:02d}', meta,
                                    png.tobytes(), inputs))
                    if len(records) == self.batch_size:
                        yield unit, records, False, []
                        records = []
            yield unit, records, True, skipped


def _as_is(item):
    return item


class _ShardWriter:
    """One unit's shard, written to a partial file and renamed when closed."""

    def __init__(self, out_dir, unit):
        self.unit = unit
        self.path = osp.join(out_dir, shard_name(unit))
        self.partial = partial_path(self.path)
        self.stream = open(self.partial, 'wb')
        self.tar = wds.TarWriter(self.stream, encoder=False, mtime=0)
        self.count = 0

    def write(self, sample):
        self.tar.write(sample)
        self.count += 1

    def close(self, skipped):
        self.tar.close()
        self.stream.close()
        # the record first: a finished .tar always has one
        write_text_atomically(osp.join(osp.dirname(self.path), shard_record_name(self.unit)),
                              json.dumps(dict(views=self.count, skipped=skipped), indent=1))
        publish(self.partial, self.path)


def _teacher_record(teacher, cfg, view_size):
    return CachedTeacherRecord(
        **teacher_identity(cfg), input_size=list(teacher.input_size),
        patch_size=teacher.patch_size, summary_dim=teacher.summary_dim,
        feature_dim=teacher.feature_dim,
        valid_feature_hw=list(teacher.valid_feature_hw(view_size)))


def _prepare_out_dir(out_dir, manifest, resume, rank):
    """Write the manifest (rank 0), or check it against the existing one on resume."""
    existing = osp.isfile(osp.join(out_dir, MANIFEST))
    barrier()  # every rank looks before rank 0 writes
    if existing and not resume:
        raise FileExistsError(f'{out_dir!r} already holds a teacher cache; pass --resume to '
                              'complete it, or choose another --out')
    if existing:
        found = differences(read_manifest(out_dir).to_dict(), manifest.to_dict())
        if found:
            raise ValueError(f'cannot resume the teacher cache in {out_dir!r}: it was built '
                             'with other settings (' + '; '.join(found) + '). A cache never '
                             'mixes targets: choose another --out')
    elif rank == 0:
        os.makedirs(out_dir, exist_ok=True)
        if any(n.startswith('views-') for n in os.listdir(out_dir)):
            raise FileExistsError(f'{out_dir!r} holds shards but no {MANIFEST}: not a cache '
                                  'this tool can complete; choose another --out')
        write_manifest(out_dir, manifest)
    barrier()


class _RunSettings(NamedTuple):
    """Where and how this process builds its share of the cache."""
    rank: int
    world_size: int
    batch_size: int
    num_workers: int
    seed: int
    device: torch.device


@torch.no_grad()
def build_teacher_cache(config, out_dir, views=1, dtype='fp32', resume=False,
                        images_per_shard=1000, batch_size=None, num_workers=None, device=None,
                        seed=None, rank=None, world_size=None, log_interval=30.0):
    """Run ``config``'s teachers over ``views`` augmented views of each image of its train
    dataset and write the cache to ``out_dir`` (this rank's share of the shards).

    Args:
        config (str | Config): a distillation config (``model.teachers``,
            ``train_dataloader.dataset`` with its pipeline).
        views (int): views per image, each from the pipeline under its own seed.
        dtype (str): storage precision of the targets: ``'fp32'``, ``'bf16'`` or ``'fp16'``.
        resume (bool): complete an existing cache built with the same settings; finished
            shards are kept as they are.
        images_per_shard (int): images per shard of a map-style dataset (a WebDataset
            corpus keeps one shard per input tar).
        batch_size, num_workers: default to the config's train dataloader.
        device (str | None): where teachers run; CUDA when available.
        seed (int | None): seed of the teachers' random weights (when they have no
            checkpoint) and of the views; default ``randomness.seed`` of the config.
        rank, world_size: default to the initialized process group (or 0 of 1).

    Returns:
        dict: manifest (:class:`TeacherCacheManifest`), shards_written, views_written,
        skipped_images, seconds.
    """
    _check_arguments(views, dtype)
    cfg = _cache_config(config)
    run = _run_settings(cfg, batch_size, num_workers, device, seed, rank, world_size)
    source, teachers, preprocessor_cfg, preprocessor = _build_parts(cfg, run, images_per_shard)
    view_size = _view_size(source, run.seed)
    manifest = TeacherCacheManifest(
        format_version=FORMAT_VERSION, checksums=CHECKSUMS, dtype=dtype, views_per_image=views,
        seed=run.seed, view_size=list(view_size), dataset=plain(cfg.train_dataloader.dataset),
        data_preprocessor=plain(preprocessor_cfg),
        images_per_shard=None if isinstance(source, _ShardImages) else images_per_shard,
        teachers=[_teacher_record(t, c, view_size)
                  for t, c in zip(teachers, cfg.model.teachers)],
        shards=[shard_name(u) for u in range(source.num_units)])
    _prepare_out_dir(out_dir, manifest, resume, run.rank)
    mine, todo = _units_of_rank(out_dir, source, run)
    print_log(f'teacher cache {out_dir}: rank {run.rank} of {run.world_size} has {len(mine)} of '
              f'{source.num_units} shards, {len(mine) - len(todo)} already finished; '
              f'{views} views per image at {view_size}, {dtype} targets of '
              f"{[t.name for t in teachers]} on {run.device}", logger='current')
    loader = DataLoader(_UnitViews(source, todo, views, run.batch_size, run.seed),
                        batch_size=None, num_workers=run.num_workers, collate_fn=_as_is)
    result = _write_shards(loader, len(todo), out_dir, teachers, preprocessor, view_size,
                           dtype, log_interval)
    print_log(f"teacher cache {out_dir}: wrote {result['shards_written']} shards, "
              f"{result['views_written']} views in {result['seconds']:.1f} s "
              f"({result['views_written'] / max(result['seconds'], 1e-9):.2f} views/s); "
              f"{result['skipped_images']} unreadable images skipped", logger='current')
    _check_complete(out_dir, manifest, run)
    return dict(result, manifest=manifest)


def _check_complete(out_dir, manifest, run):
    """After every rank's last shard, rank 0 checks that the cache holds every shard of its
    manifest and logs the whole cache. Ranks given by hand (no process group spanning them)
    run apart: each says how many shards other ranks still owe."""
    spanned = is_distributed() and get_world_size() == run.world_size > 1
    if spanned:
        barrier()  # every rank has published its shards
    if spanned and run.rank != 0:
        return
    missing = missing_shards(out_dir, manifest)
    if missing and spanned:
        raise FileNotFoundError(
            f'teacher cache {out_dir}: every rank finished, yet {len(missing)} of '
            f'{len(manifest.shards)} shards are not in the folder (e.g. {missing[0]}): --out '
            'must be storage that every node writes to and reads (a shared filesystem); '
            'complete the cache there with --resume')
    if missing:
        print_log(f'teacher cache {out_dir}: rank {run.rank} of {run.world_size} is done; '
                  f'{len(missing)} of {len(manifest.shards)} shards are still to be written by '
                  'the other ranks', logger='current')
        return
    records = [read_shard_record(out_dir, s) for s in manifest.shards]
    print_log(f'teacher cache {out_dir} complete: {len(manifest.shards)} shards from '
              f'{run.world_size} rank(s), {sum(r["views"] for r in records)} views, '
              f'{sum(len(r["skipped"]) for r in records)} unreadable images skipped',
              logger='current')


def _check_arguments(views, dtype):
    if dtype not in STORAGE_DTYPES:
        raise ValueError(f'dtype must be one of {list(STORAGE_DTYPES)}, got {dtype!r}')
    if views < 1:
        raise ValueError(f'views must be at least 1, got {views}')


def _cache_config(config):
    """The config (path or Config) with its toolbox imported; it must use online teachers."""
    cfg = Config.fromfile(config) if isinstance(config, str) else config
    import_toolbox(cfg.get('default_scope'))
    if cfg.model.get('teacher_cache'):
        raise ValueError('this config trains from a teacher cache already; build the cache '
                         'from the config with online teachers (e.g. radio_vitb.py)')
    return cfg


def _run_settings(cfg, batch_size, num_workers, device, seed, rank, world_size):
    """The arguments given, else the config's train dataloader and seed, the process group
    and CUDA when available."""
    dist_rank, dist_world = get_dist_info()
    loader_cfg = cfg.train_dataloader
    return _RunSettings(
        rank=dist_rank if rank is None else rank,
        world_size=dist_world if world_size is None else world_size,
        batch_size=batch_size or loader_cfg.get('batch_size', 32),
        num_workers=loader_cfg.get('num_workers', 0) if num_workers is None else num_workers,
        seed=cfg.get('randomness', {}).get('seed', 0) if seed is None else seed,
        device=torch.device(device or ('cuda' if torch.cuda.is_available() else 'cpu')))


def _build_parts(cfg, run, images_per_shard):
    """(view source, teachers, data preprocessor config, data preprocessor) of ``cfg``."""
    preprocessor_cfg = cfg.model.get('data_preprocessor') or DEFAULT_DATA_PREPROCESSOR
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'radio_mm')):
        dataset = DATASETS.build(copy.deepcopy(cfg.train_dataloader.dataset))
        source = view_sources(dataset, images_per_shard)
        # seeded as the Runner seeds before building the distiller, which builds its
        # teachers first: random-weight teachers (the demo's) match an online run
        set_random_seed(run.seed)
        teachers = [MODELS.build(copy.deepcopy(t)).to(run.device) for t in cfg.model.teachers]
        preprocessor = MODELS.build(copy.deepcopy(preprocessor_cfg)).to(run.device)
    return source, teachers, preprocessor_cfg, preprocessor


def _view_size(source, seed):
    """(h, w) of the first readable view: the size every view of the cache must have."""
    first = next((records[0] for _, records, _, _ in
                  _UnitViews(source, list(range(source.num_units)), 1, 1, seed) if records),
                 None)
    if first is None:
        raise FileNotFoundError('the dataset gave no readable image to cache')
    return tuple(first[3].shape[-2:])


def _units_of_rank(out_dir, source, run):
    """This rank's units (``u % world_size == rank``), and those whose shard is not finished."""
    mine = range(run.rank, source.num_units, run.world_size)
    return mine, [u for u in mine if not osp.isfile(osp.join(out_dir, shard_name(u)))]


def _write_shards(loader, num_units, out_dir, teachers, preprocessor, view_size, dtype,
                  log_interval):
    """Consume ``_UnitViews`` batches: run the teachers, fill and close each unit's shard,
    log progress and throughput."""
    writers, done, written, skipped_total = {}, 0, 0, 0
    start = last_log = time.perf_counter()
    for unit, records, last, skipped in loader:
        if unit not in writers:
            writers[unit] = _ShardWriter(out_dir, unit)
        if records:
            _write_batch(writers[unit], records, teachers, preprocessor, view_size, dtype)
            written += len(records)
        if last:
            writer = writers.pop(unit)
            writer.close(skipped)
            done += 1
            skipped_total += len(skipped)
            for key in skipped:
                print_log(f'skipped unreadable image {key}', logger='current', level=30)
        now = time.perf_counter()
        if last or now - last_log > log_interval:
            last_log = now
            rate = written / max(now - start, 1e-9)
            eta = (now - start) / done * (num_units - done) if done else float('nan')
            print_log(f'[{done}/{num_units} shards] {written} views, {rate:.2f} views/s, '
                      f'ETA {eta / 60:.1f} min' + (f'; {osp.basename(writer.path)}: '
                                                   f'{writer.count} views' if last else ''),
                      logger='current')
    return dict(shards_written=done, views_written=written, skipped_images=skipped_total,
                seconds=time.perf_counter() - start)


def _write_batch(writer, records, teachers, preprocessor, view_size, dtype):
    """Run every teacher on one batch of views and append the samples to ``writer``."""
    sizes = {tuple(r[3].shape[-2:]) for r in records}
    if sizes != {view_size}:
        raise ValueError(f'the pipeline gives views of sizes {sorted(sizes)} besides '
                         f'{view_size}; a cache needs one view size (end the pipeline with a '
                         'fixed-size crop such as RandomResizedCrop)')
    images = preprocessor(dict(inputs=[r[3] for r in records]), False)['inputs']
    outputs = {t.name: t(images) for t in teachers}
    for i, (key, meta, png, _) in enumerate(records):
        members = {IMAGE_KEY: png}
        for teacher in teachers:
            target = outputs[teacher.name]
            h, w = teacher.valid_feature_hw(view_size)
            members[features_key(teacher.name)] = encode_array(target.features[i, :, :h, :w],
                                                               dtype)
            if target.summary is not None:
                members[summary_key(teacher.name)] = encode_array(target.summary[i], dtype)
        meta = dict(meta, **{CHECKSUMS: {k: bytes_sha256(v) for k, v in members.items()}})
        writer.write({'__key__': key, META_KEY: json.dumps(meta, sort_keys=True).encode(),
                      **members})
