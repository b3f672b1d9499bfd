from . import (  # noqa: F401
               adaptors,
               backbones,
               classifiers,
               distillers,
               heads,
               losses,
               necks,
               sam,
               teachers,
               utils,
)
from .inference_model import RADIOModel
from .input_conditioner import InputConditioner

__all__ = ['InputConditioner', 'RADIOModel']
