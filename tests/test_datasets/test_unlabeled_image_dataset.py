import numpy as np
import pytest
import torch

from radio_mm.datasets import PackageSampleImages, UnlabeledImageDataset

PIPELINE = [dict(type='Resize', scale=(32, 32)), dict(type='PackImageInputs')]


def test_scans_folders_and_skips_unreadable_images(image_folder):
    dataset = UnlabeledImageDataset(data_root=str(image_folder), pipeline=PIPELINE)
    assert len(dataset) == 5  # the .txt is not collected
    samples = [dataset[i] for i in range(len(dataset))]
    skipped = [p for s in samples for p in s.get('data_samples').skipped]
    assert {p.rsplit('/', 1)[-1] for p in skipped} == {'broken.jpg', 'truncated.png'}
    for sample in samples:
        assert sample['inputs'].shape == (3, 32, 32) and sample['inputs'].dtype == torch.uint8
        assert not sample['data_samples'].img_path.endswith(('broken.jpg', 'truncated.png'))


def test_file_list_and_errors(image_folder, tmp_path):
    listing = tmp_path / 'list.txt'
    listing.write_text('astronaut.jpg\na/coffee.png\n')
    dataset = UnlabeledImageDataset(data_root=str(image_folder), ann_file=str(listing),
                                    pipeline=PIPELINE)
    assert len(dataset) == 2
    with pytest.raises(FileNotFoundError, match='does not exist; set data_root'):
        UnlabeledImageDataset(data_root=str(tmp_path / 'nowhere'))
    (tmp_path / 'empty').mkdir()
    with pytest.raises(FileNotFoundError, match='no images'):
        UnlabeledImageDataset(data_root=str(tmp_path / 'empty'))


def test_an_all_broken_dataset_fails_loudly(tmp_path):
    for i in range(3):
        (tmp_path / f'{i}.jpg').write_bytes(b'junk')
    dataset = UnlabeledImageDataset(data_root=str(tmp_path), pipeline=PIPELINE, max_skips=2)
    with pytest.raises(RuntimeError, match='3 consecutive images could not be read'):
        dataset[0]


def test_package_sample_images_are_real_photos():
    dataset = PackageSampleImages(pipeline=PIPELINE)
    names = {dataset.get_data_info(i)['img_path'].rsplit('/', 1)[-1] for i in range(len(dataset))}
    assert {'astronaut.png', 'coffee.png', 'china.jpg', 'flower.jpg'} <= names
    assert all(not n.endswith('.tif') for n in names)
    sample = dataset[0]
    assert sample['inputs'].float().std() > 10  # real image content, not a blank


def test_package_sample_images_hold_out_a_val_split():
    def names(split):
        dataset = PackageSampleImages(split=split)
        return [dataset.get_data_info(i)['img_path'] for i in range(len(dataset))]

    everything, train, val = names(None), names('train'), names('val')
    assert val == everything[::5] and not set(train) & set(val)
    assert sorted(train + val) == sorted(everything)
    with pytest.raises(ValueError, match='split must be one of'):
        PackageSampleImages(split='test')


def test_sixteen_bit_and_palette_pngs_keep_their_pixels_and_small_images_are_skipped(
        tmp_path, camera16_png, palette_png, encode_png):
    (tmp_path / 'camera16.png').write_bytes(camera16_png[0])
    (tmp_path / 'palette.png').write_bytes(palette_png[0])
    (tmp_path / 'tiny.png').write_bytes(encode_png(np.zeros((8, 40, 3), np.uint8)))
    # Older configs start with LoadImageFromFile: it is dropped, not run a second time.
    dataset = UnlabeledImageDataset(
        data_root=str(tmp_path), min_side=16,
        pipeline=[dict(type='LoadImageFromFile', imdecode_backend='pillow'),
                  dict(type='PackImageInputs')])
    camera, palette, tiny = (dataset[i] for i in range(3))
    assert abs(camera['inputs'].float().mean().item() - camera16_png[1]) < 0.5
    assert abs(palette['inputs'].float().mean().item() - palette_png[1]) < 1e-4
    # tiny.png (8 px high) is skipped and reported with the next image (camera16.png).
    assert tiny['data_samples'].img_path.endswith('camera16.png')
    assert [p.rsplit('/', 1)[-1] for p in tiny['data_samples'].skipped] == ['tiny.png']
