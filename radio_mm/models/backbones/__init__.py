from .radio_backbone import RADIOBackbone, RadioFeatures
from .radio_vit import RADIOViT

__all__ = ['RADIOBackbone', 'RadioFeatures', 'RADIOViT']
