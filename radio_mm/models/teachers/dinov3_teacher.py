"""DINOv3 as a teacher (C-RADIOv4's ``dino_v3``), built from timm's ``vit_*_patch16_dinov3``.

DINOv3 (Siméoni et al., arXiv 2508.10104) is a ViT/16 with RoPE, a CLS token and 4 register
("storage") tokens; timm implements it as an ``Eva`` (``timm/models/eva.py``). Targets are
DINOv2's (:class:`DINOv2Teacher`, whose code this reuses): summary = the CLS token after the
final norm, features = the normed patch tokens, registers dropped, as NVlabs/RADIO's
``DinoWrapper`` serves DINOv3 too (``examples/common/model_loader.py``, ``dinov3`` branch:
``x_norm_clstoken``, ``x_norm_patchtokens``). C-RADIOv4 distills
DINOv3-7B (NVlabs/RADIO README, "teacher set [SigLIP2-g-384, DINOv3-7B, SAM3]"), summary and
features both (C-RADIOv4 tech report, arXiv 2601.17237, Sec. 1).

Checkpoints load in timm's layout (huggingface ``timm/vit_*_patch16_dinov3.lvd1689m``) or
facebookresearch/dinov3's own (``storage_tokens``, ``rope_embed`` keys): timm's Eva
``checkpoint_filter_fn`` maps the latter. RoPE has no position table to resample, so
``input_size`` is any multiple of 16.

Normalization: ImageNet statistics, those of the LVD-1689M weights (timm's pretrained cfg;
the satellite ``sat493m`` weights have their own: pass ``mean``/``std``).
"""
import timm
from timm.models.eva import checkpoint_filter_fn as eva_checkpoint_filter_fn

from radio_mm.registry import MODELS

from .dinov2_teacher import DINOv2Teacher

DINOV3_ARCHS = tuple(timm.list_models('vit_*_dinov3*'))


@MODELS.register_module()
class DINOv3Teacher(DINOv2Teacher):
    """DINOv3 ViT/16: final-norm CLS token as summary, final-norm patch tokens as features.

    Args:
        arch (str): a timm DINOv3 model, e.g. ``'vit_7b_patch16_dinov3'`` (C-RADIOv4's) or
            ``'vit_large_patch16_dinov3'``.
        pretrained (str | None): local checkpoint, timm or facebookresearch layout.
        input_size (int | tuple): resolution the teacher runs at; a multiple of 16.
        arch_kwargs (dict | None): overrides for ``timm.create_model``, e.g.
            ``dict(embed_dim=64, depth=2, num_heads=2)`` for a tiny test model.
        mean, std (tuple | None): normalization on the [0, 1] scale; None: ImageNet's.
        name (str): teacher name the distiller pairs with student tokens.
        dtype (str | None): ``'bf16'`` to run under autocast.
    """

    archs = DINOV3_ARCHS

    def __init__(self, arch='vit_7b_patch16_dinov3', pretrained=None, input_size=256,
                 arch_kwargs=None, mean=None, std=None, name='dino_v3', dtype=None):
        super().__init__(arch=arch, pretrained=pretrained, input_size=input_size,
                         arch_kwargs=arch_kwargs, name=name, dtype=dtype)
        if mean is not None or std is not None:
            self.set_normalization(mean or self.mean, std or self.std)

    @staticmethod
    def weights_hint(arch):
        return (f"timm's weights huggingface.co/timm/{arch}.lvd1689m (model.safetensors; "
                'DINOv3 license, accept it on the Hugging Face page first) or the original '
                'checkpoint from github.com/facebookresearch/dinov3; tools/fetch_teachers.py '
                "--teachers dino_v3 fetches C-RADIOv4's ViT-7B")

    def convert_checkpoint(self, state_dict):
        return eva_checkpoint_filter_fn(state_dict, self.encoder)
