from radio_mm.registry import MODELS
from radio_mm.utils.toolboxes import register_placeholders, toolbox_available

if toolbox_available('mmcv'):
    from .simple_fpn import SimpleFPN  # noqa: F401
else:  # pip install radio_mm without a task extra
    register_placeholders(MODELS, ['SimpleFPN'], 'mmcv')
