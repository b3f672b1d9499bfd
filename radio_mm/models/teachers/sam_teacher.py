"""Segment Anything's image encoder as a teacher (features only: SAM has no summary).

Preprocessing is SAM's own (``segment_anything/modeling/sam.py``, ``Sam.preprocess``, and
``utils/transforms.py``, ``ResizeLongestSide``): resize so the longest side is ``img_size``,
normalize, then zero-pad bottom/right to a square, so padding is the mean colour. Features are
the encoder's neck output, the 256-channel embedding SAM's mask decoder reads:
(B, 256, 64, 64) at 1024 px.
"""
from functools import partial

import torch.nn as nn
import torch.nn.functional as F
from segment_anything import sam_model_registry
from segment_anything.modeling import ImageEncoderViT
from segment_anything.utils.transforms import ResizeLongestSide

from radio_mm.registry import MODELS

from .base_teacher import BaseTeacher, resize_images, submodule_weights
from .weight_tables import SAM_CHECKPOINT_URLS

# Sam.__init__ defaults (segment_anything/modeling/sam.py), on the 0-255 scale
SAM_PIXEL_MEAN = (123.675, 116.28, 103.53)
SAM_PIXEL_STD = (58.395, 57.12, 57.375)

# What build_sam._build_sam fixes for every size; a dict ``arch`` sets the rest
SAM_ENCODER_DEFAULTS = dict(patch_size=16, mlp_ratio=4, out_chans=256, qkv_bias=True,
                            use_rel_pos=True, norm_layer=partial(nn.LayerNorm, eps=1e-6))


def build_sam_image_encoder(arch, img_size):
    """A named SAM size (built by segment_anything's registry) or a dict of encoder args."""
    if isinstance(arch, str):
        if arch not in SAM_CHECKPOINT_URLS:
            raise ValueError(f'SAMTeacher: unknown arch {arch!r}; choose one of '
                             f'{list(SAM_CHECKPOINT_URLS)} or give a dict of ImageEncoderViT '
                             'args (embed_dim, depth, num_heads, global_attn_indexes, ...)')
        if img_size != 1024:
            raise ValueError(f'SAMTeacher: the published {arch!r} encoder has position '
                             f'embeddings for 1024 px, got img_size={img_size}; use '
                             'img_size=1024 (reduced sizes need a dict arch)')
        return sam_model_registry[arch](checkpoint=None).image_encoder
    return ImageEncoderViT(img_size=img_size, **dict(SAM_ENCODER_DEFAULTS, **arch))


def sam_weights_hint(arch):
    url = SAM_CHECKPOINT_URLS.get(arch) if isinstance(arch, str) else None
    source = url or 'the SAM checkpoint of this configuration'
    return f'download {source} (a full SAM checkpoint; only image_encoder.* is used), ' \
        'e.g. with tools/fetch_teachers.py'


@MODELS.register_module()
class SAMTeacher(BaseTeacher):
    """SAM ViT image encoder: (B, 256, img_size/16, img_size/16) features, no summary.

    Args:
        arch (str | dict): ``'vit_h'``, ``'vit_l'``, ``'vit_b'``, or ImageEncoderViT args for a
            reduced encoder, e.g. ``dict(embed_dim=64, depth=2, num_heads=2,
            global_attn_indexes=(1, ), window_size=4)``.
        pretrained (str | None): a full SAM checkpoint (``image_encoder.*`` is taken) or an
            image-encoder state dict.
        img_size (int): the square input side; 1024 for the published encoders.
        name (str): teacher name the distiller pairs with student adaptor heads.
        dtype (str | None): ``'bf16'`` to run under autocast.
    """

    def __init__(self, arch='vit_h', pretrained=None, img_size=1024, name='sam', dtype=None):
        arch_name = arch if isinstance(arch, str) else f'ImageEncoderViT({arch})'
        super().__init__(name=name, arch=arch_name, pretrained=pretrained, dtype=dtype,
                         weights_hint=sam_weights_hint(arch))
        with self.seeded_random_init():
            self.encoder = build_sam_image_encoder(arch, img_size)
        self.input_size = (img_size, img_size)
        self.patch_size = self.encoder.patch_embed.proj.kernel_size[0]
        self.summary_dim = None
        self.feature_dim = self.encoder.neck[0].out_channels
        self.set_normalization([v / 255 for v in SAM_PIXEL_MEAN],
                               [v / 255 for v in SAM_PIXEL_STD])
        self.interpolation = 'bilinear'  # ResizeLongestSide.apply_image_torch
        self.check_geometry()
        self.load_pretrained()
        self.freeze()

    def resized_hw(self, image_hw):
        """(h, w) of an (H, W) image after the longest side is scaled to ``img_size``."""
        return ResizeLongestSide.get_preprocess_shape(*image_hw, self.input_size[0])

    def valid_feature_hw(self, image_hw):
        """Feature cells (h, w) covering the image; the rest only see padding."""
        return tuple(-(-side // self.patch_size) for side in self.resized_hw(image_hw))

    def resize(self, images01):
        return resize_images(images01, self.resized_hw(images01.shape[-2:]), self.interpolation)

    def preprocess(self, images01):
        """RGB in [0, 1] -> longest side ``img_size``, normalized, zero-padded to a square."""
        images = super().preprocess(images01)
        h, w = images.shape[-2:]
        return F.pad(images, (0, self.input_size[1] - w, 0, self.input_size[0] - h))

    def convert_checkpoint(self, state_dict):
        """Full SAM checkpoints hold the encoder under ``image_encoder.``."""
        return submodule_weights(state_dict, 'image_encoder.')

    def encode(self, x):
        return None, self.encoder(x)
