"""DINOv2 (with or without registers) as a teacher, built from timm's architectures.

Targets, as NVlabs/RADIO's ``DinoWrapper`` (``examples/common/model_loader.py``) takes them
from DINOv2's ``forward_features``: summary = the CLS token after the final norm
(``x_norm_clstoken``), features = the normed patch tokens (``x_norm_patchtokens``); register
tokens are dropped.

Checkpoints load in timm's layout (huggingface ``timm/vit_*_dinov2.lvd142m``) or the original
facebookresearch/dinov2 one (``dinov2_vitg14_reg4_pretrain.pth``): timm's
``checkpoint_filter_fn`` maps the latter's keys and resamples the position embedding (trained
at 518 px) to ``input_size``.

:class:`DINOv3Teacher` (``dinov3_teacher.py``) is this teacher with timm's DINOv3 models: the
family-specific parts are the class attributes ``archs`` and the methods
:meth:`weights_hint` and :meth:`convert_checkpoint`.
"""
import difflib

import timm
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from timm.layers import to_2tuple
from timm.models.vision_transformer import checkpoint_filter_fn

from radio_mm.registry import MODELS

from .base_teacher import BaseTeacher, tokens_to_map

DINOV2_ARCHS = tuple(timm.list_models('vit_*_dinov2'))


def dinov2_weights_hint(arch):
    return (f"timm's weights huggingface.co/timm/{arch}.lvd142m (model.safetensors) or the "
            'original checkpoint from github.com/facebookresearch/dinov2 (e.g. '
            'dl.fbaipublicfiles.com/dinov2/dinov2_vitg14/dinov2_vitg14_reg4_pretrain.pth); '
            'tools/fetch_teachers.py fetches the paper\'s one')


@MODELS.register_module()
class DINOv2Teacher(BaseTeacher):
    """DINOv2 ViT: final-norm CLS token as summary, final-norm patch tokens as features.

    Args:
        arch (str): a timm DINOv2 model, e.g. ``'vit_giant_patch14_reg4_dinov2'``.
        pretrained (str | None): local checkpoint, timm or facebookresearch layout.
        input_size (int | tuple): resolution the teacher runs at; a multiple of 14.
        arch_kwargs (dict | None): overrides for ``timm.create_model``, e.g.
            ``dict(embed_dim=64, depth=2, num_heads=2)`` for a tiny test model.
        name (str): teacher name the distiller pairs with student tokens.
        dtype (str | None): ``'bf16'`` to run under autocast.
    """

    archs = DINOV2_ARCHS

    def __init__(self, arch='vit_giant_patch14_reg4_dinov2', pretrained=None, input_size=224,
                 arch_kwargs=None, name='dino_v2', dtype=None):
        if arch not in self.archs:
            close = difflib.get_close_matches(arch, self.archs)
            raise ValueError(f'{type(self).__name__}: unknown arch {arch!r} (closest: '
                             f'{close}); choose one of {self.archs}')
        super().__init__(name=name, arch=arch, pretrained=pretrained, dtype=dtype,
                         weights_hint=self.weights_hint(arch))
        self.input_size = to_2tuple(input_size)
        # num_classes=0: DINOv2 has no classifier, and its checkpoints carry none
        with self.seeded_random_init():
            self.encoder = timm.create_model(arch, pretrained=False, num_classes=0,
                                             img_size=self.input_size, **(arch_kwargs or {}))
        self.patch_size = self.encoder.patch_embed.patch_size[0]
        self.summary_dim = self.feature_dim = self.encoder.embed_dim
        # DINOv2 trains and evaluates with ImageNet statistics and bicubic resizing
        # (facebookresearch/dinov2, dinov2/data/transforms.py)
        self.set_normalization(IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD)
        self.check_geometry()
        self.load_pretrained()
        self.freeze()

    @staticmethod
    def weights_hint(arch):
        return dinov2_weights_hint(arch)

    def convert_checkpoint(self, state_dict):
        return checkpoint_filter_fn(state_dict, self.encoder)

    def encode(self, x):
        # (B, 1 + registers + h*w, C) after the final norm, as x_norm_clstoken/patchtokens
        tokens = self.encoder.forward_features(x)
        patches = tokens[:, self.encoder.num_prefix_tokens:]
        return tokens[:, 0], tokens_to_map(patches, self.feature_hw)
