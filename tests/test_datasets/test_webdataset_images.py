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
                               shuffle_buffer=0)
    samples = list(dataset)
    assert len(samples) == 3
    assert all(s['inputs'].shape == (3, 24, 24) for s in samples)
    skipped = [p for s in samples for p in s.get('data_samples').skipped]
    assert len(skipped) == 1 and skipped[0].endswith('shard-00001.tar:1_0')


def test_shards_split_across_workers(tmp_path, rgb_arrays, encode_png):
    write_shards(tmp_path, rgb_arrays, encode_png)
    dataset = WebDatasetImages([str(p) for p in sorted(tmp_path.glob('*.tar'))],
                               pipeline=PIPELINE, shuffle_buffer=0)
    loader = DataLoader(dataset, batch_size=None, num_workers=2,
                        collate_fn=lambda sample: sample)
    keys = sorted(s['data_samples'].img_path.rsplit(':', 1)[-1] for s in loader)
    # Each worker reads its own shard: every good sample exactly once.
    assert keys == ['0_0', '0_1', '1_1']
