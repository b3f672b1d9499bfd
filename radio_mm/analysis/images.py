"""Images for the analysis tools: a file, a folder, or the photos shipped in installed packages."""
import os.path as osp

import numpy as np

from radio_mm.datasets import PackageSampleImages, UnlabeledImageDataset
from radio_mm.utils.toolboxes import require_toolbox

SAMPLES = 'samples'  # the source name of the packages' sample photos


def image_paths(source=SAMPLES, limit=None):
    """Image files of ``source``: an image file, a folder (searched recursively, as
    :class:`UnlabeledImageDataset` does) or ``'samples'`` (scikit-image / scikit-learn)."""
    if source == SAMPLES:
        dataset = PackageSampleImages()
    elif osp.isfile(source):
        return [source]
    elif osp.isdir(source):
        dataset = UnlabeledImageDataset(data_root=source)
    else:
        raise FileNotFoundError(f'image source {source!r} is not a file, a folder or '
                                f'{SAMPLES!r} (the photos shipped with scikit-image/learn)')
    paths = [dataset.get_data_info(i)['img_path'] for i in range(len(dataset))]
    return paths[:limit] if limit else paths


def read_rgb(path):
    """(H, W, 3) uint8 RGB."""
    mmcv = require_toolbox('mmcv', 'reading images')
    rgb = mmcv.imread(path, channel_order='rgb')
    if rgb is None:
        raise OSError(f'cannot read image {path!r}')
    return rgb


def load_images(source=SAMPLES, limit=None):
    """[(file name, (H, W, 3) uint8 RGB)] of ``source`` (see :func:`image_paths`)."""
    return [(osp.basename(p), read_rgb(p)) for p in image_paths(source, limit)]


def square_crop(rgb):
    """Centre square of an (H, W, 3) image: both models then see the same content, undistorted."""
    h, w = rgb.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    return np.ascontiguousarray(rgb[top:top + side, left:left + side])
