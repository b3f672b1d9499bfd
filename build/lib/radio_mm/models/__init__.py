from . import (adaptors, backbones, classifiers, distillers, heads, losses,  # noqa: F401
               necks, sam, teachers, utils)
from .input_conditioner import InputConditioner
from .inference_model import RADIOModel

__all__ = ['InputConditioner', 'RADIOModel']
