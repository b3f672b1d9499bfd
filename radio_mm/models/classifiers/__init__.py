from .clip_zero_shot import RADIOCLIPZeroShot
from .feature_extractor import RADIOFeatureExtractor

__all__ = ['RADIOCLIPZeroShot', 'RADIOFeatureExtractor']
