"""Any open_clip image tower as a teacher (DFN CLIP, OpenAI CLIP, SigLIP, ...).

Targets, following NVlabs/RADIO's own CLIP wrapper (``examples/common/model_loader.py``,
``CLIPWrapper``, which turns on ``visual.output_tokens``):

* summary: the projected image embedding, i.e. what ``CLIP.encode_image`` returns, not
  L2-normalized. It must live in the text tower's space: RADIO's CLIP adaptor compares the
  student's summary with ``encode_text`` (``radio/open_clip_adaptor.py``). The cosine loss
  of AM-RADIO makes the missing normalization irrelevant.
* features: the final block's patch tokens after the tower's final norm (``ln_post``), before
  the projection, i.e. the tokens open_clip returns with ``output_tokens=True``; (B, width,
  h, w). For timm towers (SigLIP, SigLIP2) the trunk's normed ``forward_features`` patch
  tokens; SigLIP2 (``ViT-gopt-16-SigLIP2-384``, C-RADIOv3/v4's ``siglip2-g`` teacher, NVlabs/RADIO
  issue #163) has no CLS token, and its summary is the attention-pool (``map``) embedding,
  as NVlabs/RADIO's ``SigLIP2Wrapper`` (same file) takes ``pooler_output`` and
  ``last_hidden_state`` (after the final norm) of the Hugging Face tower.

Only the image tower is built (open_clip's ``_build_vision_tower``, the constructor
``CLIP.__init__`` uses), so a ViT-H teacher does not also allocate a 350M-parameter text tower.
"""
import difflib

import open_clip
import timm
from open_clip.model import CLIPVisionCfg, _build_vision_tower
from open_clip.timm_model import TimmModel
from open_clip.transformer import VisionTransformer
from torch import nn

from radio_mm.registry import MODELS

from .base_teacher import BaseTeacher, tokens_to_map

FETCH_TOOL = 'tools/fetch_teachers.py'


def merge_model_cfg(model_cfg, overrides):
    """open_clip model config with ``overrides`` applied; ``vision_cfg`` merges key by key."""
    merged = dict(model_cfg)
    for key, value in (overrides or {}).items():
        if key == 'vision_cfg':
            merged[key] = dict(merged.get(key, {}), **value)
        else:
            merged[key] = value
    return merged


class SizedTimmTower(TimmModel):
    """open_clip's :class:`TimmModel` for a pass-through tower (``timm_proj='none'``, timm's
    own pooling: SigLIP, SigLIP2), with extra ``timm.create_model`` arguments.

    ``TimmModel.__init__`` gives timm only the pooling and class count, so a toy-size or
    other-resolution trunk cannot be asked of it. This builds what its pass-through branch
    builds (``trunk`` = the timm model with ``num_classes=0`` and the config's pool, ``head``
    = an empty ``Sequential``): same module names, so the same checkpoints load.
    """

    def __init__(self, vision_cfg, trunk_kwargs):
        nn.Module.__init__(self)  # not TimmModel.__init__: it would build the full-size trunk
        if vision_cfg.get('timm_proj') != 'none' or \
                vision_cfg.get('timm_pool') in ('abs_attn', 'rot_attn'):
            raise ValueError('OpenCLIPTeacher: trunk_kwargs applies to pass-through timm towers '
                             "(timm_proj='none' with timm's own pooling, as SigLIP/SigLIP2), "
                             f"got timm_proj={vision_cfg.get('timm_proj')!r}, "
                             f"timm_pool={vision_cfg.get('timm_pool')!r}")
        self.trunk = timm.create_model(vision_cfg['timm_model_name'], pretrained=False,
                                       num_classes=0, global_pool=vision_cfg['timm_pool'],
                                       **trunk_kwargs)
        self.image_size = tuple(self.trunk.patch_embed.img_size)
        self.head = nn.Sequential()


def open_clip_weights_hint(model_name, pretrained_tag):
    """Where the weights for (model, tag) are published, from open_clip's own registry."""
    tags = open_clip.list_pretrained_tags_by_model(model_name)
    if pretrained_tag is None:
        return (f"an open_clip checkpoint of '{model_name}' (published tags: {tags or 'none'}; "
                f'open_clip.download_pretrained fetches them); {FETCH_TOOL} fetches the '
                'paper\'s teachers')
    cfg = open_clip.get_pretrained_cfg(model_name, pretrained_tag)
    home = f"huggingface.co/{cfg['hf_hub'].rstrip('/')}" if cfg.get('hf_hub') else cfg.get('url')
    return (f"download the '{pretrained_tag}' weights of open_clip model '{model_name}' "
            f'({home}), e.g. with {FETCH_TOOL}')


@MODELS.register_module()
class OpenCLIPTeacher(BaseTeacher):
    """An open_clip image tower: projected embedding as summary, final patch tokens as features.

    Args:
        model_name (str): an open_clip model config name, e.g. ``'ViT-H-14-378-quickgelu'``.
        pretrained (str | None): local checkpoint: a full CLIP state dict (``visual.*`` keys
            are taken) or the image tower's alone; ``.bin``/``.pth``/``.safetensors``.
        pretrained_tag (str | None): the open_clip tag the weights were published under
            (``'dfn5b'``). Gives the normalization and is checked against the config's
            activation; without it open_clip's defaults (OpenAI CLIP statistics) apply.
        model_cfg (dict | None): overrides of the open_clip config, e.g. a tiny tower for
            tests: ``dict(embed_dim=32, vision_cfg=dict(width=64, layers=2, ...))``.
        trunk_kwargs (dict | None): ``timm.create_model`` arguments for a timm tower's trunk
            (:class:`SizedTimmTower`), e.g. a toy SigLIP2 tower: ``dict(embed_dim=64,
            depth=2, num_heads=2, img_size=64)``.
        mean, std (tuple | None): explicit normalization on the [0, 1] scale.
        name (str): teacher name the distiller pairs with student tokens.
        dtype (str | None): ``'bf16'`` to run under autocast.
    """

    def __init__(self, model_name='ViT-H-14-378-quickgelu', pretrained=None, pretrained_tag=None,
                 model_cfg=None, trunk_kwargs=None, mean=None, std=None, name='clip',
                 dtype=None):
        base_cfg = open_clip.get_model_config(model_name)
        if base_cfg is None:
            close = difflib.get_close_matches(model_name, open_clip.list_models(), n=5)
            raise ValueError(f'OpenCLIPTeacher: unknown open_clip model {model_name!r}; '
                             f'close names: {close}. open_clip.list_models() lists all.')
        cfg = merge_model_cfg(base_cfg, model_cfg)
        tag_cfg = self._tag_cfg(model_name, pretrained_tag, cfg)
        super().__init__(name=name, arch=model_name, pretrained=pretrained, dtype=dtype,
                         weights_hint=open_clip_weights_hint(model_name, pretrained_tag))

        # never let timm towers download ImageNet weights; the checkpoint holds the tower
        vision_cfg = dict(cfg['vision_cfg'], output_tokens=True, timm_model_pretrained=False)
        if trunk_kwargs and not vision_cfg.get('timm_model_name'):
            raise ValueError(f'OpenCLIPTeacher: trunk_kwargs applies to timm towers; '
                             f'{model_name!r} builds an open_clip VisionTransformer (size it with '
                             "model_cfg=dict(vision_cfg=dict(width=..., layers=...)))")
        with self.seeded_random_init():
            if trunk_kwargs:
                self.encoder = SizedTimmTower(vision_cfg, trunk_kwargs)
            else:
                self.encoder = _build_vision_tower(cfg['embed_dim'],
                                                   CLIPVisionCfg(**vision_cfg),
                                                   quick_gelu=cfg.get('quick_gelu', False))
        self._read_geometry(cfg, vision_cfg)
        self.set_normalization(mean or tag_cfg.get('mean', open_clip.OPENAI_DATASET_MEAN),
                               std or tag_cfg.get('std', open_clip.OPENAI_DATASET_STD))
        self.interpolation = tag_cfg.get('interpolation', 'bicubic')
        self.check_geometry()
        self.load_pretrained()
        self.freeze()

    @staticmethod
    def _tag_cfg(model_name, pretrained_tag, cfg):
        """open_clip's preprocessing record for the tag, checked against the built config."""
        if pretrained_tag is None:
            return {}
        tag_cfg = open_clip.get_pretrained_cfg(model_name, pretrained_tag)
        if not tag_cfg:
            raise ValueError(f'OpenCLIPTeacher: open_clip has no tag {pretrained_tag!r} for '
                             f'{model_name!r}; known tags: '
                             f'{open_clip.list_pretrained_tags_by_model(model_name)}')
        # a tower run with the wrong GELU silently gives degraded targets
        if tag_cfg.get('quick_gelu', False) != cfg.get('quick_gelu', False):
            raise ValueError(
                f'OpenCLIPTeacher: the {pretrained_tag!r} weights were trained with '
                f"quick_gelu={tag_cfg.get('quick_gelu', False)} but config {model_name!r} "
                f"has quick_gelu={cfg.get('quick_gelu', False)}; use the "
                f"{'-quickgelu' if tag_cfg.get('quick_gelu') else 'plain'} variant of the "
                'model name')
        return tag_cfg

    def _read_geometry(self, cfg, vision_cfg):
        tower = self.encoder
        if isinstance(tower, VisionTransformer):
            if tower.attn_pool is not None or tower.pool_type == 'none':
                raise ValueError(f'{self.describe()}: towers with attentional pooling (CoCa) '
                                 'return pooled queries, not patch tokens; not supported')
            self.input_size = tuple(tower.image_size)
            self.patch_size = tower.patch_size[0]
            self.feature_dim = tower.transformer.width
            self.summary_dim = tower.output_dim
        elif isinstance(tower, TimmModel) and hasattr(tower.trunk, 'patch_embed'):
            trunk = tower.trunk
            self.input_size = tuple(trunk.patch_embed.img_size)
            self.patch_size = trunk.patch_embed.patch_size[0]
            self.feature_dim = trunk.num_features
            # TimmModel's rule: without a projection or attention pool, the trunk's width
            # passes through; otherwise the embedding has the config's embed_dim
            passthrough = (vision_cfg.get('timm_proj') == 'none'
                           and vision_cfg.get('timm_pool') not in ('abs_attn', 'rot_attn'))
            self.summary_dim = trunk.num_features if passthrough else cfg['embed_dim']
        else:
            raise ValueError(f'{self.describe()}: only ViT image towers (open_clip '
                             f'VisionTransformer or timm ViT trunks) give patch tokens, got '
                             f'{type(tower).__name__}')

    def check_geometry(self):
        """timm towers may run at a size their patches do not divide, as published: SigLIP
        SO400M/14 at 384 px (RADIOv2.5's ``siglip``) has 27x27 patches, and its patch
        convolution leaves the last 6 pixel rows and columns unread, in open_clip too."""
        if not isinstance(self.encoder, TimmModel):
            super().check_geometry()

    def convert_checkpoint(self, state_dict):
        """Full CLIP checkpoints hold the tower under ``visual.``; tower-only files do not."""
        if any(k.startswith('visual.') for k in state_dict):
            return {k[len('visual.'):]: v for k, v in state_dict.items()
                    if k.startswith('visual.')}
        return state_dict

    def encode(self, x):
        hw = (x.shape[-2] // self.patch_size, x.shape[-1] // self.patch_size)
        if isinstance(self.encoder, TimmModel):
            trunk = self.encoder.trunk
            tokens = trunk.forward_features(x)
            summary = self.encoder.head(trunk.forward_head(tokens))
            patches = tokens[:, trunk.num_prefix_tokens:]
        else:
            summary, patches = self.encoder(x)
        return summary, tokens_to_map(patches, hw)
