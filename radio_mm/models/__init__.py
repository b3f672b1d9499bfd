from . import adaptors, backbones, distillers, heads, losses, necks, teachers  # noqa: F401
from .input_conditioner import InputConditioner
from .radio_model import RADIOModel

__all__ = ['InputConditioner', 'RADIOModel']
