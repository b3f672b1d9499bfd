"""One image decoder for every reader: encoded bytes -> (H, W, 3) uint8 BGR, or a reason to skip.

The folder and WebDataset readers both decode here, so an image reads the same whichever
way it is stored. PIL's ``convert('RGB')`` clips 16-bit grayscale (modes ``I;16`` / ``I``) at
255, so a 16-bit photo of mean 129 would train as a white frame; high-bit-depth images are
scaled to 8 bits instead. Palette, alpha and 1-bit images go through PIL's conversion, and
EXIF orientation is applied as OpenCV's ``imread`` does.
"""
import io

import numpy as np
from PIL import Image, ImageOps

# Whole 16-bit range -> 8 bits (65535 / 255 = 257, the scale that maps 0xffff to 0xff).
SIXTEEN_BIT_SCALE = 257
# Smaller images (icons, tracking pixels) carry nothing a 224+ px crop can learn from.
DEFAULT_MIN_SIDE = 16
# Pillow modes that hold more than 8 bits per pixel (single channel).
HIGH_DEPTH_MODES = ('I;16', 'I;16L', 'I;16B', 'I;16N', 'I', 'F')


class UnusableImage(ValueError):
    """The bytes are not an image we can train on; the message says why."""


def decode_image(payload, min_side=0):
    """Encoded image bytes -> (H, W, 3) uint8 BGR (mmcv's channel order).

    Raises :class:`UnusableImage` for anything that does not decode, or whose shorter side
    is below ``min_side`` pixels.
    """
    try:
        with Image.open(io.BytesIO(payload)) as image:
            image.load()  # decode now: a truncated file fails here, not in a transform
            rgb = _to_rgb8(ImageOps.exif_transpose(image))
    except UnusableImage:
        raise
    except Exception as error:  # noqa: BLE001  (decoders raise many types on garbage)
        raise UnusableImage(f'{type(error).__name__}: {error}') from error
    height, width = rgb.shape[:2]
    if min(height, width) < min_side:
        raise UnusableImage(f'{width}x{height} pixels, smaller than min_side={min_side}')
    return np.ascontiguousarray(rgb[..., ::-1])


def decoded_results(payload, img_path, min_side=0):
    """The results dict a pipeline starts from, as mmcv's ``LoadImageFromFile`` leaves it."""
    img = decode_image(payload, min_side)
    return dict(img=img, img_path=img_path, img_shape=img.shape[:2], ori_shape=img.shape[:2])


def _to_rgb8(image):
    """A PIL image of any mode -> (H, W, 3) uint8 RGB."""
    if image.mode not in HIGH_DEPTH_MODES:
        return np.asarray(image.convert('RGB'))
    gray = np.asarray(image).astype(np.float64)
    peak = float(gray.max(initial=0))
    if image.mode.startswith('I;16') or 255 < peak <= 65535:
        # 16-bit data (a dark 16-bit image is still 16-bit: no guessing from its values).
        gray = gray / SIXTEEN_BIT_SCALE
    elif image.mode == 'F' and peak <= 1.0:
        gray = gray * 255  # float images in [0, 1]
    elif peak > 65535 or gray.min(initial=0) < 0:
        raise UnusableImage(f'{image.mode} pixels range over [{gray.min()}, {peak}]: no known '
                            'scale to 8 bits')
    gray = np.clip(np.rint(gray), 0, 255).astype(np.uint8)
    return np.repeat(gray[..., None], 3, axis=2)
