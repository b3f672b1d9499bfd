"""SAMTeacher against segment_anything's own preprocessing and checkpoint layout."""
import warnings
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from segment_anything.modeling import Sam
from segment_anything.utils.transforms import ResizeLongestSide

from radio_mm.models.teachers import SAMTeacher

TINY = dict(arch=dict(embed_dim=64, depth=2, num_heads=2, global_attn_indexes=(1, ),
                      window_size=4), img_size=128)


def _teacher(**kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)
        return SAMTeacher(**kwargs)


def _sam_preprocess(images01, img_size):
    """segment_anything's pipeline: ResizeLongestSide on 0-255 pixels, then Sam.preprocess."""
    size = ResizeLongestSide.get_preprocess_shape(*images01.shape[-2:], img_size)
    pixels = F.interpolate(images01 * 255, size, mode='bilinear', align_corners=False,
                           antialias=True)
    sam = SimpleNamespace(pixel_mean=torch.tensor([123.675, 116.28, 103.53]).view(-1, 1, 1),
                          pixel_std=torch.tensor([58.395, 57.12, 57.375]).view(-1, 1, 1),
                          image_encoder=SimpleNamespace(img_size=img_size))
    return Sam.preprocess(sam, pixels)


def test_preprocess_is_sams_longest_side_resize_and_bottom_right_pad(photos):
    teacher = _teacher(**TINY)
    x = teacher.preprocess(photos)  # 60x100 -> 77x128, padded to 128x128
    assert x.shape == (2, 3, 128, 128)
    assert torch.allclose(x, _sam_preprocess(photos, 128), atol=1e-4)
    assert x[:, :, 77:].abs().max() == 0 and x[:, :, :77].abs().amax(dim=(0, 1, 3)).min() > 0
    assert teacher.valid_feature_hw((60, 100)) == (5, 8)
    tall = teacher.preprocess(photos.transpose(-1, -2))  # 100x60 -> 128x77: pads the right
    assert tall[..., 77:].abs().max() == 0


def test_features_are_the_encoder_neck_output(photos):
    teacher = _teacher(**TINY)
    out = teacher(photos)
    with torch.no_grad():
        reference = teacher.encoder(_sam_preprocess(photos, 128))
    assert out.summary is None
    assert out.features.shape == (2, 256, 8, 8)
    assert torch.allclose(out.features, reference, atol=1e-4)


def test_full_sam_checkpoint_loads_only_the_image_encoder(photos, tmp_path):
    source = _teacher(**TINY)
    full = {f'image_encoder.{k}': v for k, v in source.encoder.state_dict().items()}
    full['prompt_encoder.pe_layer.positional_encoding_gaussian_matrix'] = torch.randn(2, 128)
    full['mask_decoder.iou_token.weight'] = torch.randn(1, 256)
    path = str(tmp_path / 'sam_tiny.pth')
    torch.save(full, path)
    loaded = _teacher(**TINY, pretrained=path)
    assert torch.equal(loaded(photos).features, source(photos).features)


def test_published_sizes_need_1024_and_known_names():
    with pytest.raises(ValueError, match='img_size=1024'):
        SAMTeacher('vit_h', img_size=512)
    with pytest.raises(ValueError, match="'vit_b'"):
        SAMTeacher('vit_s')
