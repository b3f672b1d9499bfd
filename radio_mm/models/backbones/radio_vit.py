"""RADIOViT: the AM-RADIO ViT student (CPE, per-teacher summary tokens, registers).

Blocks are timm's ``Block`` (fused ``F.scaled_dot_product_attention``), so parameter names
are timm's and the official ``base_model.*`` weights load after a prefix strip. Optional
ViTDet-style windowed attention (Li et al., 2022) for detection follows NVlabs/RADIO
`radio/vitdet.py`: summary and register tokens skip the windowed blocks. Grids that the
windows do not tile are zero-padded inside each windowed block, after ``norm1`` and around
the attention only, as ViTDet does (detectron2 `modeling/backbone/vit.py` ``Block``, timm
`vision_transformer_sam.py` ``Block``); the official RADIO mode handles tiling grids only,
where both agree.
"""
from functools import partial

import torch
from timm.layers import LayerNorm, Mlp
from timm.models.vision_transformer import Block
from timm.models.vision_transformer_sam import window_partition, window_unpartition
from torch import nn
from torch.utils.checkpoint import checkpoint

from radio_mm.registry import MODELS

from .backbone_normalizers import build_normalizers, whitened_map
from .cpe_patch_generator import CPEPatchGenerator, num_register_tokens
from .radio_backbone import RADIOBackbone, RadioFeatures

# The ViT sizes, the one table of them (readers of releases and the exporter derive theirs from
# it): timm vit_{tiny,small,base,large}_patch16_224 and vit_so400m_patch14_siglip (MLP 4304
# wide); ViT-H/16 and ViT-g/16 from NVlabs/RADIO `radio/extra_timm_models.py`.
ARCH_SETTINGS = {
    't': dict(embed_dims=192, num_layers=12, num_heads=3, mlp_ratio=4.0),
    's': dict(embed_dims=384, num_layers=12, num_heads=6, mlp_ratio=4.0),
    'b': dict(embed_dims=768, num_layers=12, num_heads=12, mlp_ratio=4.0),
    'l': dict(embed_dims=1024, num_layers=24, num_heads=16, mlp_ratio=4.0),
    'h': dict(embed_dims=1280, num_layers=32, num_heads=16, mlp_ratio=4.0),
    'so400m': dict(embed_dims=1152, num_layers=27, num_heads=16, mlp_ratio=3.7362),
    'g': dict(embed_dims=1536, num_layers=40, num_heads=24, mlp_ratio=4.0),
}
ARCH_ALIASES = {'tiny': 't', 'small': 's', 'base': 'b', 'large': 'l', 'huge': 'h', 'giant': 'g'}


def default_global_blocks(num_layers, num_global=4, num_windowed=None):
    """Blocks that keep global attention when windowing: the end of each period of blocks,
    and always the last block (`radio/vitdet.py` ``ViTDetHook``). The period is
    ``num_windowed + 1`` when given, else ``num_layers // num_global`` (num_global=4 for
    v2.5, 8 for v2.5-g; v2/v2.1 use num_windowed=5); a period of one block windows every
    block but the last."""
    period = num_windowed + 1 if num_windowed is not None else max(num_layers // num_global, 1)
    return tuple(i for i in range(num_layers)
                 if (period > 1 and i % period == period - 1) or i == num_layers - 1)


def mlp_with_hidden_norm(norm_layer=None, **kwargs):
    """timm ``Mlp`` with LayerNorm (eps 1e-5) on its hidden units, as NVlabs/RADIO's
    `vit_huge_patch16_224_mlpnorm` adds ``nn.LayerNorm(fc1.out_features)``; timm's ``Block``
    passes ``norm_layer=None`` to its MLP, hence the override."""
    return Mlp(norm_layer=nn.LayerNorm, **kwargs)


class ScaledLayerNorm(LayerNorm):
    """LayerNorm (eps 1e-6) whose output is scaled by ``1 / sqrt(depth)``; the same
    parameters as LayerNorm (the scale is not saved)."""

    def __init__(self, dims, depth):
        super().__init__(dims, eps=1e-6)
        self.ln_scale = depth**-0.5

    def forward(self, x):
        return super().forward(x) * self.ln_scale


@MODELS.register_module()
class RADIOViT(RADIOBackbone):
    """AM-RADIO ViT student.

    Args:
        arch (str | dict): a size of :data:`ARCH_SETTINGS` ('t', 's', 'b', 'l', 'h',
            'so400m', 'g', or 'base', ...), or a dict with embed_dims, num_layers, num_heads,
            mlp_ratio.
        patch_size (int): 16 or 14.
        cpe_max_size (int): largest input side (pixels) the position grid covers.
        num_summary_tokens (int): summary tokens, one per teacher with a summary.
        register_multiple (int): pad summary + registers to this multiple, as released.
        num_registers (int): explicit register count (overrides register_multiple).
        qkv_bias (bool): bias in the qkv projection.
        init_values (float): LayerScale init; None for no LayerScale (C-RADIOv3 students,
            `vit_*_patch16_v2_224` in NVlabs/RADIO `radio/extra_timm_models.py`, have it).
        mlp_norm (bool): LayerNorm (eps 1e-5) on the MLP hidden activations, as the
            `vit_huge_patch16_224_mlpnorm` student.
        scaled_ln (bool): the blocks' LayerNorm outputs of block ``i`` (0-based) scaled by
            ``1 / sqrt(i + 1)``, as `vit_giant_patch16_224(scaled_ln=True)` (NVlabs/RADIO
            `radio/extra_timm_models.py` ScaledLayerNorm, arXiv 2502.05795).
        drop_path_rate (float): stochastic depth, linearly increasing over blocks.
        final_norm (bool): LayerNorm after the last block (the released models have none).
        window_size (int): ViTDet windowed attention in patches; None for global only. Any
            grid works: windows that overhang it are zero-padded, as in ViTDet.
        global_blocks (Sequence[int]): blocks that stay global when windowing; None picks
            the released layout (4 global blocks).
        feature_normalizer (bool | None): the release's final-feature whitening on the
            last block's map; None (default) applies it when the loaded weights carry one
            (see :mod:`~radio_mm.models.backbones.backbone_normalizers`).
        intermediate_normalizer (dict | bool | None): the per-block whitening on the other
            blocks' maps, ``dict(num_layers, rot_per_layer)``; None as above.
        cpe_train_crop (bool): random CPE crops while training.
        pos_dropout (float): drop an image's position encoding with this probability.
        **kwargs: out_indices, out_type, pad_to_multiple, frozen, frozen_stages, with_cp,
            deploy, init_cfg (see :class:`RADIOBackbone`).
    """

    def __init__(self, arch='b', patch_size=16, cpe_max_size=2048, num_summary_tokens=3,
                 register_multiple=None, num_registers=None, qkv_bias=True, init_values=None,
                 mlp_norm=False, scaled_ln=False, drop_path_rate=0.0, final_norm=False,
                 window_size=None, global_blocks=None, cpe_train_crop=True, pos_dropout=0.0,
                 feature_normalizer=None, intermediate_normalizer=None, **kwargs):
        if window_size is not None and (isinstance(window_size, bool)
                                        or not isinstance(window_size, int) or window_size < 1):
            # Caught here: a zero or negative window otherwise fails deep inside the
            # first windowed block's partition.
            raise ValueError(f'window_size (vitdet_window_size) must be a positive number of '
                             f'patches, or None for global attention only; got {window_size!r}')
        super().__init__(**kwargs)
        settings = self.arch_settings(arch)
        self.embed_dims = settings['embed_dims']
        self.num_layers = settings['num_layers']
        self.patch_size = patch_size
        self.window_size = window_size
        num_regs = num_register_tokens(num_summary_tokens, register_multiple, num_registers)
        self.patch_generator = CPEPatchGenerator(
            patch_size, self.embed_dims, cpe_max_size, num_summary_tokens, num_regs,
            cpe_train_crop=cpe_train_crop, pos_dropout=pos_dropout)
        norm_layer = partial(LayerNorm, eps=1e-6)
        # Python floats (not torch.linspace) so the model also builds on the meta device.
        dpr = [drop_path_rate * i / max(self.num_layers - 1, 1) for i in range(self.num_layers)]
        mlp_layer = mlp_with_hidden_norm if mlp_norm else Mlp
        self.blocks = nn.Sequential(*[
            Block(self.embed_dims, settings['num_heads'], settings['mlp_ratio'],
                  qkv_bias=qkv_bias, init_values=init_values, drop_path=dpr[i],
                  norm_layer=norm_layer, mlp_layer=mlp_layer) for i in range(self.num_layers)])
        if scaled_ln:
            for depth, block in enumerate(self.blocks, start=1):
                block.norm1 = ScaledLayerNorm(self.embed_dims, depth)
                block.norm2 = ScaledLayerNorm(self.embed_dims, depth)
        self.norm = norm_layer(self.embed_dims) if final_norm else nn.Identity()
        if window_size is None:
            self.global_blocks = frozenset(range(self.num_layers))
        else:
            self.global_blocks = frozenset(
                default_global_blocks(self.num_layers) if global_blocks is None
                else (i % self.num_layers for i in global_blocks))
        build_normalizers(self, feature_normalizer, intermediate_normalizer)
        self.freeze()

    @staticmethod
    def arch_settings(arch):
        """The settings (embed_dims, num_layers, num_heads, mlp_ratio) an ``arch`` builds."""
        if isinstance(arch, dict):
            missing = {'embed_dims', 'num_layers', 'num_heads'} - set(arch)
            if missing:
                raise ValueError(f'custom arch needs keys {sorted(missing)}')
            return dict(dict(mlp_ratio=4.0), **arch)
        key = ARCH_ALIASES.get(arch, arch)
        if key not in ARCH_SETTINGS:
            raise ValueError(f'unknown RADIOViT arch {arch!r}; choose from '
                             f'{sorted(ARCH_SETTINGS) + sorted(ARCH_ALIASES)} or pass a dict')
        return ARCH_SETTINGS[key]

    @property
    def num_summary_tokens(self):
        return self.patch_generator.cls_token.num_summary

    def hidden_architecture(self):
        # One (summary + registers, C) parameter and one qkv matrix hold any split.
        return dict(num_summary_tokens=self.num_summary_tokens,
                    num_registers=self.patch_generator.cls_token.num_registers,
                    num_heads=self.blocks[0].attn.num_heads,
                    scaled_ln=isinstance(self.blocks[0].norm1, ScaledLayerNorm))

    @property
    def num_prefix_tokens(self):
        return self.patch_generator.num_prefix_tokens

    @property
    def size_multiple(self):
        # Windowed blocks pad the token grid themselves, so any whole number of patches works.
        return self.patch_size

    @property
    def num_stages(self):
        return self.num_layers

    def stage_modules(self):
        return [self.patch_generator, *self.blocks]

    def layer_id(self, param_name):
        if param_name.startswith('patch_generator'):
            return 0
        if param_name.startswith('blocks.'):
            return int(param_name.split('.')[1]) + 1
        return self.num_layers + 1

    def _run_block(self, i, x, hw):
        block = self.blocks[i]
        if i in self.global_blocks:
            return block(x)
        # Windowed: only patch tokens attend within windows; prefix tokens pass unchanged.
        n = self.num_prefix_tokens
        prefix, patches = x[:, :n], x[:, n:]
        attn = self._window_attention(block, block.norm1(patches), hw)
        patches = patches + block.drop_path1(block.ls1(attn))
        patches = patches + block.drop_path2(block.ls2(block.mlp(block.norm2(patches))))
        return torch.cat([prefix, patches], dim=1)

    def _window_attention(self, block, tokens, hw):
        """(B, h*w, C) normed patch tokens -> attention within windows, same shape.

        The grid is zero-padded to whole windows (timm's ``window_partition``) after the
        norm, so padding enters attention as zero vectors, and is cut off afterwards; the
        MLP runs on real tokens only.
        """
        ws = self.window_size
        windows, pad_hw = window_partition(tokens.unflatten(1, hw), ws)
        windows = block.attn(windows.flatten(1, 2)).unflatten(1, (ws, ws))
        return window_unpartition(windows, ws, hw, pad_hw).flatten(1, 2)

    def whiten_features(self, features):
        """Final (B, h*w, C) features as the official model returns them."""
        if self.feature_normalizer is None:
            return features
        return self.feature_normalizer(features)

    def block_outputs(self, x, num_blocks=None):
        """Yield ``(i, tokens, hw)`` after each of the first ``num_blocks`` blocks (all by
        default); tokens (B, num_prefix_tokens + h*w, C) before the final norm."""
        hw = (x.shape[2] // self.patch_size, x.shape[3] // self.patch_size)
        x = self.patch_generator(x)
        for i in range(self.num_layers if num_blocks is None else num_blocks):
            if self.with_cp and self.training and x.requires_grad:
                x = checkpoint(self._run_block, i, x, hw, use_reentrant=False)
            else:
                x = self._run_block(i, x, hw)
            yield i, x, hw

    def _forward(self, x, out_indices):
        n = self.num_prefix_tokens
        maps = []
        for i, x, hw in self.block_outputs(x):
            if i == self.num_layers - 1:
                x = self.norm(x)
            if i in out_indices:
                maps.append(whitened_map(self, i, x, hw))
        radio = RadioFeatures(summary=x[:, :self.num_summary_tokens], features=x[:, n:], hw=hw)
        return radio, maps
