from . import adaptors, backbones, distillers, heads, losses, necks, teachers  # noqa: F401
from . import utils  # noqa: F401  (LN2d)
from .input_conditioner import InputConditioner
from .radio_model import RADIOModel

__all__ = ['InputConditioner', 'RADIOModel']
