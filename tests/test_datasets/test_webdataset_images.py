import itertools
import tarfile

import numpy as np
import pytest
import webdataset as wds
from torch.utils.data import DataLoader

from radio_mm.datasets import WebDatasetImages

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
