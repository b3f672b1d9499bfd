"""Real photographs shipped inside installed packages, for the demo and tests.

scikit-image ships ~25 sample images in ``skimage/data`` and scikit-learn two in
``sklearn/datasets/images``; nothing is downloaded.
"""
import os
import os.path as osp

from radio_mm.registry import DATASETS

from .unlabeled_image_dataset import DECODE_ERRORS, UnlabeledImageDataset

# skimage also ships multi-page TIFFs and other test files: photographs only.
PHOTO_EXTENSIONS = ('.png', '.jpg', '.jpeg')


def sample_image_dirs(packages=('skimage', 'sklearn')):
    """Folders of the packages' bundled sample images."""
    dirs = []
    if 'skimage' in packages:
        import skimage
        dirs.append(osp.join(osp.dirname(skimage.__file__), 'data'))
    if 'sklearn' in packages:
        import sklearn.datasets
        dirs.append(osp.join(osp.dirname(sklearn.datasets.__file__), 'images'))
    return dirs


@DATASETS.register_module()
class PackageSampleImages(UnlabeledImageDataset):
    """The sample images of scikit-image and scikit-learn (``packages`` selects).

    Args:
        min_size (int): skip files whose shorter side is smaller (tiny crops and icons).
        repeat (int): list the images this many times, so an "epoch" holds enough steps.
        split (str | None): ``'val'`` keeps every ``val_every``-th photo (in sorted order)
            as held-out images, ``'train'`` the others, None all of them.
        val_every (int): see ``split``.
    """

    SPLITS = (None, 'train', 'val')

    def __init__(self, packages=('skimage', 'sklearn'), min_size=128, repeat=1, split=None,
                 val_every=5, **kwargs):
        if split not in self.SPLITS:
            raise ValueError(f'PackageSampleImages split must be one of {self.SPLITS}, '
                             f'got {split!r}')
        self.packages = tuple(packages)
        self.min_size = min_size
        self.repeat = repeat
        self.split = split
        self.val_every = val_every
        super().__init__(**kwargs)

    def load_data_list(self):
        from PIL import Image
        paths = []
        for folder in sample_image_dirs(self.packages):
            for name in sorted(os.listdir(folder)):
                path = osp.join(folder, name)
                if not name.lower().endswith(PHOTO_EXTENSIONS):
                    continue
                try:
                    with Image.open(path) as image:
                        size = min(image.size)
                except DECODE_ERRORS:
                    continue
                if size >= self.min_size:
                    paths.append(path)
        if self.split is not None:
            held_out = set(paths[::self.val_every])
            paths = [p for p in paths if (p in held_out) == (self.split == 'val')]
        if not paths:
            raise FileNotFoundError(f'no sample images found in {self.packages} '
                                    f'(split {self.split})')
        return [dict(img_path=p) for p in paths] * self.repeat
