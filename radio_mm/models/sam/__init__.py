from .radio_sam import RADIOSAM, mask_iou
from .sam_decoder import SAM_DECODER_DEFAULTS, build_sam_decoder, load_sam_decoder

__all__ = ['RADIOSAM', 'mask_iou', 'SAM_DECODER_DEFAULTS', 'build_sam_decoder',
           'load_sam_decoder']
