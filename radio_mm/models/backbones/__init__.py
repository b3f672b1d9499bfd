from .radio_backbone import RADIOBackbone, RadioFeatures
from .radio_vit import RADIOViT
from .eradio import ERADIO

__all__ = ['RADIOBackbone', 'RadioFeatures', 'RADIOViT', 'ERADIO']
