from radio_mm.structures import mask_iou  # noqa: F401  (its former home)

from .radio_sam import RADIOSAM
from .sam_decoder import SAM_DECODER_DEFAULTS, build_sam_decoder, load_sam_decoder

__all__ = ['RADIOSAM', 'mask_iou', 'SAM_DECODER_DEFAULTS', 'build_sam_decoder',
           'load_sam_decoder']
