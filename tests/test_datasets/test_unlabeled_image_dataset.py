import pytest
import torch

from radio_mm.datasets import PackageSampleImages, UnlabeledImageDataset

PIPELINE = [dict(type='LoadImageFromFile'), dict(type='Resize', scale=(32, 32)),
            dict(type='PackImageInputs')]


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
