"""``RADIOSamPredictor``: segment_anything's ``SamPredictor`` on a RADIO image embedding.

Only the image embedding changes: RADIO's ``sam`` adaptor computes it (see
:class:`radio_mm.models.sam.RADIOSAM`). Prompt transforms (``ResizeLongestSide``), prompt
encoding, mask decoding and upscaling to the original image are SamPredictor's own code,
inherited, so given SAM's embedding the results are SAM's.

    predictor = RADIOSamPredictor(radio_sam)
    predictor.set_image(image)                       # (H, W, 3) uint8 RGB
    masks, scores, low_res = predictor.predict(box=np.array([x0, y0, x1, y1]))
"""
import numpy as np
import torch
from segment_anything import SamPredictor
from segment_anything.utils.transforms import ResizeLongestSide


class RADIOSamPredictor(SamPredictor):
    """Embed an image once with RADIO, then answer point, box and mask prompts with SAM.

    ``predict(point_coords, point_labels, box, mask_input, multimask_output, return_logits)``
    returns ``(masks (C, H, W), iou_predictions (C,), low_res_masks (C, 4e, 4e))`` as numpy
    arrays, and ``predict_torch`` the batched tensors, exactly as ``SamPredictor``.

    Args:
        model (RADIOSAM): put in eval mode here, as ``build_sam`` does for SAM.
    """

    def __init__(self, model):
        # SamPredictor.__init__ sizes its transform from a SAM image encoder, which RADIOSAM
        # does not have; the rest of its state is set by reset_image.
        self.model = model.eval()
        self.transform = ResizeLongestSide(model.image_size)
        self.reset_image()

    def set_image(self, image, image_format='RGB'):
        """Embed ``image``, an (H, W, 3) uint8 array in ``image_format`` ('RGB' or 'BGR')."""
        if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError('RADIOSamPredictor.set_image expects an (H, W, 3) numpy array, '
                             f'got {type(image).__name__} of shape {np.shape(image)}')
        if image.dtype != np.uint8:
            raise TypeError(f'RADIOSamPredictor.set_image expects uint8 pixels in [0, 255], '
                            f'got {image.dtype}: convert with (image * 255).astype(np.uint8) '
                            'for images in [0, 1]')
        super().set_image(image, image_format)

    @torch.no_grad()
    def set_torch_image(self, transformed_image, original_image_size):
        """Embed a (1, 3, h, w) RGB tensor of 0-255 values already resized by
        ``self.transform`` (longest side ``model.image_size``); the image was
        ``original_image_size`` (H, W) before."""
        size = self.model.image_size
        shape = tuple(transformed_image.shape)
        if len(shape) != 4 or shape[:2] != (1, 3) or max(shape[2:]) != size:
            raise ValueError(f'set_torch_image expects (1, 3, h, w) with longest side {size} '
                             f'(ResizeLongestSide({size})), got {shape}')
        self.reset_image()
        self.original_size = tuple(original_image_size)
        self.input_size = shape[2:]
        images01 = transformed_image.to(self.device, torch.float32) / 255
        self.features = self.model.image_embedding(images01, [self.input_size])
        self.is_image_set = True
