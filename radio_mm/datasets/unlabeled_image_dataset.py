"""Images without labels, for distillation: a folder tree or a file list.

A corrupt or unreadable image never stops a run: the dataset moves on to the next image and
hands the skipped paths along with the sample, so :class:`SkippedImagesHook` can count them
across dataloader workers and report them.
"""
import os
import os.path as osp

from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from radio_mm.registry import DATASETS

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')
# What decoding a bad file raises: PIL/cv2 errors, mmcv's assertion on a None decode, I/O.
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
        pipeline (list[dict]): transforms; the first one loads the file (``img_path``).
    """

    def __init__(self, data_root='', ann_file='', extensions=IMAGE_EXTENSIONS, max_skips=100,
                 pipeline=(), **kwargs):
        self.extensions = tuple(e.lower() for e in extensions)
        self.max_skips = max_skips
        super().__init__(ann_file=ann_file, data_root=data_root, pipeline=list(pipeline),
                         **kwargs)

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

    def __getitem__(self, idx):
        if not self._fully_initialized:
            self.full_init()
        skipped = []
        for attempt in range(self.max_skips + 1):
            index = (idx + attempt) % len(self)
            try:
                data = self.prepare_data(index)
            except DECODE_ERRORS as error:
                data, reason = None, f'{type(error).__name__}: {error}'
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
