import io

import numpy as np
import pytest
from PIL import Image
from skimage import data

from radio_mm.datasets.image_decoding import UnusableImage, decode_image


def test_sixteen_bit_grayscale_keeps_its_brightness(camera16_png):
    payload, mean = camera16_png
    assert Image.open(io.BytesIO(payload)).mode.startswith('I')
    img = decode_image(payload)
    assert img.shape == (128, 128, 3) and img.dtype == np.uint8
    # PIL's convert('RGB') clips at 255 and gave a near-white image (mean ~255).
    assert abs(img.mean() - mean) < 0.5


def test_a_dark_sixteen_bit_image_is_not_mistaken_for_eight_bit(encode_png):
    dark = np.full((32, 32), 200 * 257 // 256, np.uint16)  # all values below 256
    assert decode_image(encode_png(dark)).max() == 1


def test_palette_images_decode_to_their_colours(palette_png):
    payload, mean = palette_png
    img = decode_image(payload)
    assert img.shape[2] == 3 and abs(img.mean() - mean) < 1e-6


def test_channel_order_is_bgr(encode_png):
    rgb = np.ascontiguousarray(data.astronaut()[::8, ::8])
    assert np.array_equal(decode_image(encode_png(rgb)), rgb[..., ::-1])


def test_unusable_images_say_why(encode_png):
    with pytest.raises(UnusableImage, match='10x12 pixels, smaller than min_side=16'):
        decode_image(encode_png(np.zeros((12, 10, 3), np.uint8)), min_side=16)
    with pytest.raises(UnusableImage, match='UnidentifiedImageError'):
        decode_image(b'not an image')
    truncated = encode_png(data.astronaut()[::4, ::4])[:300]
    with pytest.raises(UnusableImage):
        decode_image(truncated)
