"""tools/cache_teachers.py under torchrun: 2 ranks split a WebDataset corpus's shards, each
writes its own, rank 0 checks the whole cache at the end; the cache is the one a single
process builds (same manifest, same targets for every sample key)."""
import os
import os.path as osp
import subprocess
import sys
import tarfile

import pytest
import torch

from radio_mm.apis.teacher_cache import build_teacher_cache
from radio_mm.formats.teacher_cache import read_manifest

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(__file__)), 'test_e2e'))
from webdataset_fixture import write_shards  # noqa: E402

CONFIG = """
_base_ = ['{demo}']
train_pipeline = [
    dict(type='mmpretrain.RandomResizedCrop', scale=64, crop_ratio_range=(0.5, 1.0),
         backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackImageInputs'),
]
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                        dataset=dict(_delete_=True, type='WebDatasetImages', shards='{shards}',
                                     pipeline=train_pipeline))
"""


def views_by_key(cache):
    """{sample key: {member: bytes}} over every shard of a cache."""
    samples = {}
    for shard in read_manifest(cache).shards:
        with tarfile.open(osp.join(cache, shard)) as archive:
            for member in archive.getmembers():
                key, member_name = member.name.split('.', 1)
                samples.setdefault(key, {})[member_name] = archive.extractfile(member).read()
    return samples


@pytest.mark.multiprocess
def test_two_ranks_build_the_single_process_cache(tmp_path, repo_root, python, free_port):
    shards = write_shards(str(tmp_path), num_shards=3, per_shard=2)  # rank 0: 2, rank 1: 1
    config = tmp_path / 'cache.py'
    config.write_text(CONFIG.format(demo=osp.join(repo_root, 'configs/distill/radio_demo.py'),
                                    shards=shards))
    single = str(tmp_path / 'single')
    # torchrun gives each rank one thread; with two, SAM's float sums round differently
    # (measured: 1.7e-6 on features of magnitude 4) and the bytes would differ for that alone
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        build_teacher_cache(str(config), single, views=2, dtype='fp32')
    finally:
        torch.set_num_threads(threads)

    split = str(tmp_path / 'two_ranks')
    env = dict(os.environ, OMP_NUM_THREADS='1')
    result = subprocess.run(
        [python, '-m', 'torch.distributed.run', '--nproc-per-node', '2', '--master-port',
         str(free_port), 'tools/cache_teachers.py', str(config), '--out', split, '--views', '2',
         '--dtype', 'fp32', '--launcher', 'pytorch'],
        cwd=repo_root, env=env, capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert 'rank 0 of 2 has 2 of 3 shards' in output
    assert f'teacher cache {split} complete: 3 shards from 2 rank(s), 12 views' in output

    # No manifest field depends on how many processes built the cache: all equal.
    assert read_manifest(split).to_dict() == read_manifest(single).to_dict()
    by_key = views_by_key(split)
    assert len(by_key) == 12 and by_key == views_by_key(single)
    assert sorted(os.listdir(split)) == sorted(os.listdir(single))  # no partial files left
