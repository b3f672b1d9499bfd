from radio_mm.registry import MODELS
from radio_mm.utils.toolboxes import register_placeholders, require_toolbox, toolbox_available

if toolbox_available('mmpretrain'):
    require_toolbox('mmpretrain', 'radio_mm.models.classifiers')
    from .clip_zero_shot import RADIOCLIPZeroShot
    from .feature_extractor import RADIOFeatureExtractor
else:  # pip install radio_mm without [cls]: the names say what to install when built
    register_placeholders(MODELS, ['RADIOCLIPZeroShot', 'RADIOFeatureExtractor'], 'mmpretrain')

__all__ = ['RADIOCLIPZeroShot', 'RADIOFeatureExtractor']
