from . import transforms  # noqa: F401
from .cached_teacher_views import CachedTeacherViews
from .package_sample_images import PackageSampleImages, sample_image_dirs
from .unlabeled_image_dataset import UnlabeledImageDataset
from .webdataset_images import WebDatasetImages

__all__ = ['UnlabeledImageDataset', 'PackageSampleImages', 'sample_image_dirs',
           'WebDatasetImages', 'CachedTeacherViews']
