from radio_mm.registry import MODELS
from radio_mm.utils.toolboxes import register_placeholders, toolbox_available

if toolbox_available('mmseg'):
    from .bn_linear_head import BNLinearHead  # noqa: F401
else:  # pip install radio_mm without [seg]
    register_placeholders(MODELS, ['BNLinearHead'], 'mmseg')
