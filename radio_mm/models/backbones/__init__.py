from .eradio import ERADIO
from .radio_backbone import RADIOBackbone, RadioFeatures, summary_embedding
from .radio_vit import RADIOViT

__all__ = ['RADIOBackbone', 'RadioFeatures', 'summary_embedding', 'RADIOViT', 'ERADIO']
