"""Data records shared by datasets, models, file formats and apis (as mmdet's
``structures``): plain typed values with no I/O and no model code."""
from .masks import mask_iou
from .teacher_cache_manifest import CachedTeacherRecord, TeacherCacheManifest

__all__ = ['mask_iou', 'CachedTeacherRecord', 'TeacherCacheManifest']
