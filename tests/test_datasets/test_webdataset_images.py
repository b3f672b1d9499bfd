import itertools
import json
import logging
import os
import tarfile

import numpy as np
import pytest
import torch
import webdataset as wds
from mmengine.logging import MMLogger
from torch.utils.data import DataLoader

from radio_mm.datasets import WebDatasetImages
from radio_mm.datasets.webdataset_images import split_shards, uneven_split_warning

PIPELINE = [dict(type='Resize', scale=(24, 24)), dict(type='PackImageInputs')]


def write_shards(folder, arrays, png_bytes):
    """Two shards of two images each; the second shard has one corrupt image."""
    paths = []
    for shard in range(2):
        path = folder / f'shard-{shard:05d}.tar'
        with wds.TarWriter(str(path)) as sink:
            for i in range(2):
                key = f'{shard}_{i}'
                payload = png_bytes(arrays[2 * shard + i])
                if (shard, i) == (1, 0):
                    payload = b'corrupt'
                sink.write({'__key__': key, 'png': payload, 'txt': 'a caption'})
        paths.append(path)
    return paths


def test_streams_decodes_and_skips_corrupt_samples(tmp_path, rgb_arrays, encode_png):
    write_shards(tmp_path, rgb_arrays, encode_png)
    dataset = WebDatasetImages(str(tmp_path / 'shard-{00000..00001}.tar'), pipeline=PIPELINE,
                               shuffle_buffer=0, num_passes=1)
    samples = list(dataset)
    assert len(samples) == 3
    assert all(s['inputs'].shape == (3, 24, 24) for s in samples)
    skipped = [p for s in samples for p in s.get('data_samples').skipped]
    assert len(skipped) == 1 and skipped[0].endswith('shard-00001.tar:1_0')


def test_shards_split_across_workers(tmp_path, rgb_arrays, encode_png):
    write_shards(tmp_path, rgb_arrays, encode_png)
    dataset = WebDatasetImages([str(p) for p in sorted(tmp_path.glob('*.tar'))],
                               pipeline=PIPELINE, shuffle_buffer=0, num_passes=1)
    loader = DataLoader(dataset, batch_size=None, num_workers=2,
                        collate_fn=lambda sample: sample)
    keys = sorted(s['data_samples'].img_path.rsplit(':', 1)[-1] for s in loader)
    # Each worker reads its own shard: every good sample exactly once.
    assert keys == ['0_0', '0_1', '1_1']


def _keys(samples):
    return [s['data_samples'].img_path.rsplit('/', 1)[-1] for s in samples]


def test_each_rank_reads_its_own_shards_every_pass(tmp_path, rgb_arrays, encode_png,
                                                   monkeypatch):
    shards = []
    for n in range(4):  # four shards of one image each
        shards.append(str(tmp_path / f'{n}.tar'))
        with wds.TarWriter(shards[-1]) as sink:
            sink.write({'__key__': f'{n}', 'png': encode_png(rgb_arrays[n])})
    per_rank = []
    for rank in range(2):  # what split_by_node sees under torchrun
        monkeypatch.setenv('RANK', str(rank))
        monkeypatch.setenv('WORLD_SIZE', '2')
        dataset = WebDatasetImages(shards, pipeline=PIPELINE, shuffle_buffer=0)
        per_rank.append(_keys(itertools.islice(dataset, 6)))  # three passes of two shards
    for rank_keys in per_rank:
        assert len(rank_keys) == 6  # endless: a pass ends, the next begins
    for epoch in range(3):
        first, second = (keys[2 * epoch:2 * epoch + 2] for keys in per_rank)
        assert sorted(first + second) == ['0.tar:0', '1.tar:1', '2.tar:2', '3.tar:3']
    orders = {tuple(sorted(per_rank[0][2 * e:2 * e + 2])) for e in range(3)}
    assert len(orders) > 1  # passes draw new shard orders

    dataset = WebDatasetImages(shards, pipeline=PIPELINE, shuffle_buffer=0)
    dataset.restart_at(1000)
    restarted = _keys(itertools.islice(dataset, 6))
    dataset.restart_at(1000)
    assert _keys(itertools.islice(dataset, 6)) == restarted  # a resume is reproducible
    assert restarted != per_rank[1]


def test_more_readers_than_shards_and_length_are_explained(tmp_path, rgb_arrays, encode_png,
                                                           monkeypatch):
    write_shards(tmp_path, rgb_arrays, encode_png)
    monkeypatch.setenv('RANK', '3')
    monkeypatch.setenv('WORLD_SIZE', '4')
    dataset = WebDatasetImages(str(tmp_path / 'shard-{00000..00001}.tar'), pipeline=PIPELINE)
    with pytest.raises(ValueError, match=r'2 shards cannot feed 4 readers \(4 ranks x 1'):
        next(iter(dataset))
    with pytest.raises(TypeError, match='StreamTrainLoop'):
        len(dataset)
    dataset.set_length(10)
    assert len(dataset) == 10


def test_decodes_like_the_folder_reader_and_counts_small_images_and_truncated_shards(
        tmp_path, camera16_png, encode_png, rgb_arrays):
    good = tmp_path / 'good.tar'
    with wds.TarWriter(str(good)) as sink:
        sink.write({'__key__': 'camera16', 'png': camera16_png[0]})
        sink.write({'__key__': 'tiny', 'png': encode_png(np.zeros((8, 40, 3), np.uint8))})
        sink.write({'__key__': 'photo', 'png': encode_png(rgb_arrays[0])})
    broken = tmp_path / 'broken.tar'
    with wds.TarWriter(str(broken)) as sink:
        for i in range(3):
            sink.write({'__key__': f'b{i}', 'png': encode_png(rgb_arrays[i])})
    whole = broken.read_bytes()
    broken.write_bytes(whole[:len(whole) // 2])  # the copy stopped halfway through b1
    dataset = WebDatasetImages([str(broken), str(good)], pipeline=[dict(type='PackImageInputs')],
                               shuffle_buffer=0, min_side=16, num_passes=1,
                               shuffle_shards=False)
    samples = list(dataset)
    keys = [s['data_samples'].img_path.rsplit(':', 1)[-1] for s in samples]
    assert keys == ['b0', 'camera16', 'photo']
    assert abs(samples[1]['inputs'].float().mean().item() - camera16_png[1]) < 0.5
    skipped = [p for s in samples for p in s['data_samples'].skipped]
    # The truncated shard's lost members count (they used to vanish in a warning).
    assert len(skipped) == 2
    assert skipped[0] == f'{broken}: the rest of the shard'
    assert skipped[1].endswith('good.tar:tiny')


def damage_header(path, member, block=0):
    """Corrupt the checksum of header block ``block`` of ``member`` in the tar at ``path``
    (TarWriter writes a pax header, 2 blocks, before each member's own header)."""
    with tarfile.open(path) as archive:
        offset = archive.getmember(member).offset + block * tarfile.BLOCKSIZE
    data = bytearray(path.read_bytes())
    data[offset + 148:offset + 156] = b'0000000\x00'  # chksum field: no longer matches
    path.write_bytes(bytes(data))


@pytest.mark.parametrize('block', [0, 2], ids=['pax header', 'own header'])
def test_a_damaged_member_header_counts_the_members_it_loses(tmp_path, rgb_arrays,
                                                              encode_png, block):
    shard = tmp_path / 'shard.tar'
    with wds.TarWriter(str(shard)) as sink:
        for i in range(8):
            sink.write({'__key__': f's{i}', 'png': encode_png(rgb_arrays[i % len(rgb_arrays)]),
                        'txt': 'a caption'})
    shard_copy = tmp_path / 'intact.tar'
    shard_copy.write_bytes(shard.read_bytes())
    good = tmp_path / 'good.tar'
    with wds.TarWriter(str(good)) as sink:
        sink.write({'__key__': 'g0', 'png': encode_png(rgb_arrays[0])})
    damage_header(shard, 's2.png', block)
    dataset = WebDatasetImages(str(shard), pipeline=[dict(type='PackImageInputs')],
                               shuffle_buffer=0, num_passes=1)
    samples = list(dataset)
    keys = [s['data_samples'].img_path.rsplit(':', 1)[-1] for s in samples]
    assert keys == ['s0', 's1']  # tarfile takes the damaged header for the end of the shard
    # ...which used to be all: no warning, no count. Now s2.png and the 11 members after it
    # are counted and handed along with a sample (the last of the shard, or the next one).
    dataset = WebDatasetImages([str(shard), str(good)], pipeline=[dict(type='PackImageInputs')],
                               shuffle_buffer=0, num_passes=1, shuffle_shards=False)
    samples = list(dataset)
    assert len(samples) == 2 + 1
    skipped = [p for s in samples for p in s['data_samples'].skipped]
    offset = tarfile.open(shard_copy).getmember('s2.png').offset + block * tarfile.BLOCKSIZE
    assert skipped == [f'{shard}: 12 members from byte {offset}']


def test_readers_split_shards_as_webdataset_does_and_uneven_counts_are_explained(monkeypatch):
    urls = [f'{n}.tar' for n in range(7)]
    for rank, worker in itertools.product(range(2), range(3)):
        # webdataset's own splitters, told the reader by the variables they read
        monkeypatch.setenv('RANK', str(rank))
        monkeypatch.setenv('WORLD_SIZE', '2')
        monkeypatch.setenv('WORKER', str(worker))
        monkeypatch.setenv('NUM_WORKERS', '3')
        expected = list(wds.split_by_worker(wds.split_by_node(urls)))
        assert split_shards(urls, rank, 2, worker, 3) == expected
    assert uneven_split_warning(8, 2, 2) is None
    warning = uneven_split_warning(6, 2, 2)
    assert '6 WebDataset shards do not divide evenly among 4 readers (2 ranks x 2' in warning
    assert 'reads 1 or 2 shards (rank 0: 3, rank 1: 3)' in warning
    assert warning.endswith('a multiple of 4 shards (4 or 8) or set '
                            'train_dataloader.num_workers=1.')


def _one_pass_per_epoch(rank, world_size, port, shards, out):
    """A rank of the sample-count test: started as torchrun starts one, reading two epochs of
    one pass each with two dataloader workers."""
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(world_size), LOCAL_RANK=str(rank))
    torch.distributed.init_process_group('gloo')
    # what this rank and its dataloader workers (forked from it) log, in a file of its own
    log = logging.FileHandler(os.path.join(out, f'rank{rank}.log'))
    MMLogger.get_current_instance().addHandler(log)
    dataset = WebDatasetImages(shards, pipeline=PIPELINE, shuffle_buffer=4, num_passes=1)
    loader = DataLoader(dataset, batch_size=None, num_workers=2, collate_fn=_as_is)
    epochs = [[s['data_samples'].img_path for s in loader] for _ in range(2)]
    with open(os.path.join(out, f'rank{rank}.json'), 'w') as f:
        json.dump(epochs, f)
    torch.distributed.destroy_process_group()


def _as_is(sample):
    return sample


@pytest.mark.multiprocess
def test_two_ranks_of_two_workers_read_every_sample_once_per_pass(tmp_path, rgb_arrays,
                                                                   encode_png, free_port):
    shards, keys = [], []
    for n in range(6):  # 6 shards for 2 ranks x 2 workers: readers get 2, 2, 1 and 1
        shards.append(str(tmp_path / f'{n:05d}.tar'))
        with wds.TarWriter(shards[-1]) as sink:
            for i in range(3):
                keys.append(f'{shards[-1]}:{n}_{i}')
                sink.write({'__key__': f'{n}_{i}', 'png': encode_png(rgb_arrays[i])})
    # forked: spawned ranks would also spawn their dataloader workers, each re-importing all
    torch.multiprocessing.start_processes(_one_pass_per_epoch, nprocs=2, start_method='fork',
                                          args=(2, free_port, shards, str(tmp_path)))
    per_rank = [json.loads((tmp_path / f'rank{r}.json').read_text()) for r in range(2)]
    for epoch in range(2):
        read = [key for epochs in per_rank for key in epochs[epoch]]
        assert sorted(read) == sorted(keys)  # none twice, none missed
        # ranks take shards first (split_by_node), then workers: 3 shards each
        assert [len(epochs[epoch]) for epochs in per_rank] == [9, 9]
    logs = ''.join((tmp_path / f'rank{r}.log').read_text() for r in range(2))
    assert logs.count('6 WebDataset shards do not divide evenly') == 1  # once in the run
