from .adaptor_mlp import AdaptorMLP
from .teacher_adaptor import RadioOutput, TeacherAdaptor

__all__ = ['AdaptorMLP', 'TeacherAdaptor', 'RadioOutput']
