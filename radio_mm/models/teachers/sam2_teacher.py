"""SAM 2 / SAM 2.1's Hiera image encoder as a teacher (features only, like SAM).

Built by the ``sam2`` package itself: the ``image_encoder`` section of its packaged model
config (``sam2/configs/sam2.1/sam2.1_hiera_l.yaml`` ...) instantiated with hydra, as
``sam2.build_sam.build_sam2`` does for the whole model; ``encoder_overrides`` changes it
(a toy-size Hiera in tests). Preprocessing is SAM 2's (``sam2/utils/transforms.py``,
``SAM2Transforms``): squash-resize to ``image_size`` x ``image_size``, ImageNet statistics.

Features (``features=``):

* ``'trunk'`` (default): Hiera's last stage (stride 32, e.g. 1152 channels for -L), the
  features before the neck. RADIO distills SAM encoders there: NVlabs/RADIO's ``SAMWrapper``
  (``examples/common/model_loader.py``) returns SAM ViT's block output without the neck, and
  C-RADIOv4 learned SAM3's "vision features just before the neck" (NVlabs/RADIO issue #175).
  No RADIO release used SAM 2 itself, so which of Hiera's stages is [ours]: the last one.
* ``'neck'``: ``vision_features``, the FPN neck's stride-16 256-channel map that SAM 2's mask
  decoder reads (``SAM2Base.forward_image``).
"""
import importlib.util
import os.path as osp
from collections.abc import Mapping

from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD

from radio_mm.registry import MODELS

from .base_teacher import BaseTeacher, submodule_weights
from .weight_tables import SAM2_CHECKPOINT_URLS

SAM2_FEATURES = ('trunk', 'neck')
SAM2_INSTALL = ('pip install sam2==1.1.0 with SAM2_BUILD_CUDA=0 set (an sdist; its CUDA '
                'extension only serves video post-processing), see requirements/optional.txt')


def sam2_config_path(arch):
    """The packaged config of ``arch`` ('sam2.1_hiera_l', 'sam2_hiera_t', ...)."""
    spec = importlib.util.find_spec('sam2')
    if spec is None:  # optional: only this teacher needs it
        raise ImportError(f'SAM2Teacher needs the sam2 package: {SAM2_INSTALL}')
    folder = 'sam2.1' if arch.startswith('sam2.1') else 'sam2'
    path = osp.join(osp.dirname(spec.origin), 'configs', folder, f'{arch}.yaml')
    if not arch.startswith('sam2') or not osp.isfile(path):
        raise ValueError(f'SAM2Teacher: unknown arch {arch!r}; choose one of '
                         f'{sorted(SAM2_CHECKPOINT_URLS)}')
    return path


def _plain(value):
    """``value`` with every mapping a dict and every sequence a list."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def build_sam2_image_encoder(arch, encoder_overrides=None):
    """``(image_encoder, image_size)`` of the packaged ``arch`` config, ``encoder_overrides``
    merged into its ``model.image_encoder`` section (e.g. ``dict(trunk=dict(embed_dim=8))``).
    """
    path = sam2_config_path(arch)
    from hydra.utils import instantiate  # sam2's own dependencies
    from omegaconf import OmegaConf
    cfg = OmegaConf.load(path).model
    # mmengine hands ConfigDicts and tuples, which OmegaConf refuses: plain containers
    overrides = OmegaConf.create(_plain(encoder_overrides or {}))
    encoder_cfg = OmegaConf.merge(cfg.image_encoder, overrides)
    return instantiate(encoder_cfg, _recursive_=True), int(cfg.image_size)


def sam2_weights_hint(arch):
    url = SAM2_CHECKPOINT_URLS.get(arch, 'the SAM 2 checkpoint of this configuration')
    return f'download {url} (a full SAM 2 checkpoint; only image_encoder.* is used), e.g. ' \
        'with tools/fetch_teachers.py'


@MODELS.register_module()
class SAM2Teacher(BaseTeacher):
    """SAM 2 Hiera image encoder: (B, C, h, w) features, no summary.

    Args:
        arch (str): a packaged config name, e.g. ``'sam2.1_hiera_l'`` (SAM 2.1 Large).
        pretrained (str | None): a full SAM 2 checkpoint (``{'model': ...}``,
            ``image_encoder.*`` taken) or an image-encoder state dict.
        features (str): ``'neck'`` or ``'trunk'``, see the module docstring.
        image_size (int | None): the square input side; None: the config's (1024).
        encoder_overrides (dict | None): merged into the config's ``image_encoder``.
        name (str): teacher name the distiller pairs with student adaptor heads.
        dtype (str | None): ``'bf16'`` to run under autocast.
    """

    def __init__(self, arch='sam2.1_hiera_l', pretrained=None, features='trunk', image_size=None,
                 encoder_overrides=None, name='sam2', dtype=None):
        if features not in SAM2_FEATURES:
            raise ValueError(f'SAM2Teacher: features must be one of {SAM2_FEATURES}, got '
                             f'{features!r}')
        super().__init__(name=name, arch=arch, pretrained=pretrained, dtype=dtype,
                         weights_hint=sam2_weights_hint(arch))
        with self.seeded_random_init():
            self.encoder, config_size = build_sam2_image_encoder(arch, encoder_overrides)
        self.features = features
        side = image_size or config_size
        self.input_size = (side, side)
        trunk = self.encoder.trunk
        # Hiera: 4x4 patch embedding, then q_pool stages of 2x pooling
        stride = trunk.patch_embed.proj.stride[0] * 2**len(trunk.q_pool_blocks)
        if features == 'neck':  # the scalped FPN's last level: one pooling stage less
            stride //= 2**self.encoder.scalp
        self.patch_size = stride
        self.summary_dim = None
        self.feature_dim = self.encoder.neck.d_model if features == 'neck' else \
            trunk.channel_list[0]
        self.set_normalization(IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD)
        self.interpolation = 'bilinear'  # torchvision Resize in SAM2Transforms
        self.check_geometry()
        self.load_pretrained()
        self.freeze()

    def convert_checkpoint(self, state_dict):
        """Full SAM 2 checkpoints hold the encoder under ``image_encoder.``."""
        return submodule_weights(state_dict, 'image_encoder.')

    def encode(self, x):
        if self.features == 'trunk':
            return None, self.encoder.trunk(x)[-1]
        return None, self.encoder(x)['vision_features']
