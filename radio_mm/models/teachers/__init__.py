"""Frozen teachers that produce the distillation targets (one wrapper per model family)."""
from .base_teacher import BaseTeacher, TeacherOutput
from .cached_teacher import CachedTeacher, cached_teachers
from .dinov2_teacher import DINOv2Teacher
from .dinov3_teacher import DINOv3Teacher
from .open_clip_teacher import OpenCLIPTeacher
from .paper_teachers import AM_RADIO_TEACHERS, am_radio_teacher_cfgs
from .radio_teacher import RADIOTeacher
from .sam2_teacher import SAM2Teacher
from .sam_teacher import SAMTeacher

__all__ = [
    'BaseTeacher', 'TeacherOutput', 'OpenCLIPTeacher', 'DINOv2Teacher', 'DINOv3Teacher',
    'SAMTeacher', 'SAM2Teacher', 'RADIOTeacher', 'CachedTeacher', 'cached_teachers',
    'AM_RADIO_TEACHERS', 'am_radio_teacher_cfgs'
]
