"""Images without labels, for distillation: a folder tree or a file list.

The dataset reads and decodes each file itself (:func:`decode_image`, shared with the
WebDataset reader), so 16-bit and palette images load correctly. A corrupt, unreadable or
too small image never stops a run: the dataset moves on to the next image and hands the
skipped paths along with the sample, so :class:`SkippedImagesHook` can count them across
dataloader workers and report them.
"""
import os
import os.path as osp

from mmengine import fileio
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from radio_mm.registry import DATASETS, TRANSFORMS

from .image_decoding import DEFAULT_MIN_SIDE, UnusableImage, decoded_results

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')
# What a bad file raises: I/O errors, UnusableImage (a ValueError) from decoding, and what
# transforms raise on degenerate images.
DECODE_ERRORS = (OSError, ValueError, SyntaxError, AssertionError, TypeError)


@DATASETS.register_module()
class UnlabeledImageDataset(BaseDataset):
    """Every image under ``data_root`` (recursively), or those listed in ``ann_file``.

    Args:
        data_root (str): folder of images.
        ann_file (str): optional text file, one path per line, relative to ``data_root``.
        extensions (tuple[str]): image suffixes to collect when scanning.
        max_skips (int): consecutive unreadable images tolerated before giving up (a whole
            folder of broken files is a configuration error, not noise).
        min_side (int): images whose shorter side has fewer pixels are skipped and counted.
        pipeline (list[dict]): transforms applied to ``dict(img=BGR array, img_path=...)``;
            the dataset decodes the file itself, so no ``LoadImageFromFile``.
    """

    def __init__(self, data_root='', ann_file='', extensions=IMAGE_EXTENSIONS, max_skips=100,
                 min_side=DEFAULT_MIN_SIDE, pipeline=(), **kwargs):
        self.extensions = tuple(e.lower() for e in extensions)
        self.max_skips = max_skips
        self.min_side = min_side
        # built from radio_mm's registry, as WebDatasetImages does: mmengine's (what
        # BaseDataset builds from) is their parent and does not see radio_mm's transforms
        pipeline = [TRANSFORMS.build(t) if isinstance(t, dict) else t
                    for t in without_file_loader(pipeline)]
        super().__init__(ann_file=ann_file, data_root=data_root, pipeline=pipeline, **kwargs)

    def load_data_list(self):
        if self.ann_file:
            if not osp.isfile(self.ann_file):
                raise FileNotFoundError(f'image list {self.ann_file!r} does not exist')
            with open(self.ann_file) as f:
                paths = [line.strip() for line in f if line.strip()]
            paths = [p if osp.isabs(p) else osp.join(self.data_root, p) for p in paths]
        else:
            paths = self.scan(self.data_root)
        if not paths:
            raise FileNotFoundError(
                f'no images ({", ".join(self.extensions)}) found under '
                f'{self.data_root or self.ann_file!r}; check data_root/ann_file in the config')
        return [dict(img_path=p) for p in paths]

    def scan(self, root):
        if not osp.isdir(root):
            raise FileNotFoundError(f'image folder {root!r} does not exist; set data_root')
        found = []
        for folder, _, files in os.walk(root, followlinks=True):
            found += [osp.join(folder, f) for f in files if f.lower().endswith(self.extensions)]
        return sorted(found)

    def prepare_data(self, idx):
        info = self.get_data_info(idx)
        info.update(decoded_results(fileio.get(info['img_path']), info['img_path'],
                                    self.min_side))
        return self.pipeline(info)

    def __getitem__(self, idx):
        if not self._fully_initialized:
            self.full_init()
        skipped = []
        for attempt in range(self.max_skips + 1):
            index = (idx + attempt) % len(self)
            try:
                data = self.prepare_data(index)
            except DECODE_ERRORS as error:
                data = None
                reason = str(error) if isinstance(error, UnusableImage) else \
                    f'{type(error).__name__}: {error}'
            else:
                reason = 'the pipeline dropped it'
            if data is not None:
                data['data_samples'].set_metainfo(dict(skipped=skipped))
                return data
            path = self.get_data_info(index)['img_path']
            print_log(f'skipping unreadable image {path} ({reason})', logger='current',
                      level=30)
            skipped.append(path)
        raise RuntimeError(f'{len(skipped)} consecutive images could not be read, starting at '
                           f'{skipped[0]!r}; the dataset looks broken')


def without_file_loader(pipeline):
    """``pipeline`` minus a leading ``LoadImageFromFile``: older configs start with one, and
    it would decode the file again, without the 16-bit handling."""
    pipeline = list(pipeline)
    first = pipeline[0] if pipeline else None
    name = first.get('type', '') if isinstance(first, dict) else type(first).__name__
    if isinstance(name, str) and name.split('.')[-1] == 'LoadImageFromFile':
        print_log('UnlabeledImageDataset decodes images itself; the pipeline\'s leading '
                  'LoadImageFromFile is not used (remove it from the config)',
                  logger='current', level=30)
        pipeline = pipeline[1:]
    return pipeline
