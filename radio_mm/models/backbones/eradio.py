"""ERADIO: the AM-RADIO efficient hybrid CNN-Transformer student (E-RADIO).

Ranzinger et al., "AM-RADIO" (CVPR 2024), the E-RADIO student; NVlabs/RADIO
`radio/eradio_model.py` (commit c0f3701). Conv stem (stride 4), two YOLOv8 C2f stages
(strides 4, 8), two windowed multi-resolution attention stages (strides 16, 32), and the
HiRes neck that fuses the stride-16 and stride-32 maps into the stride-16 map the RADIO
features come from.

The official classifier parts are not built: NVlabs/RADIO hubconf replaces the final
BatchNorm ``norm`` and the ``head`` by Identity (`radio/radio_model.py`
``create_model_from_args``); their checkpoint keys are ignored on load.
"""
import torch
from timm.layers import trunc_normal_
from torch import nn

from radio_mm.registry import MODELS

from ..utils.inference_form import fuse_all_conv_norm_act
from .eradio_blocks import AttentionStage, ConvStage, HiResNeck, Stem
from .radio_backbone import RADIOBackbone, RadioFeatures

# `eradio_large_fullres_ws16` (= `eradio`, the released e-radio_v2) and `eradio_xxxtiny`
# (official names and kwargs: radio_mm/formats/eradio_release.py).
ARCH_SETTINGS = {
    'l': dict(stem_channels=64, base_channels=192, depths=(3, 3, 5, 5),
              num_heads=(2, 4, 8, 16), window_sizes=(None, None, 16, 16),
              sr_ratios=(1, 1, (2, 1), 1), neck_channels=1536, neck_start_stage=2,
              cpb_mlp_hidden=512),
    'xxxtiny': dict(stem_channels=32, base_channels=32, depths=(1, 3, 4, 5),
                    num_heads=(2, 4, 8, 16), window_sizes=(None, None, 16, 16),
                    sr_ratios=(1, 1, (2, 1), 1), neck_channels=256, neck_start_stage=2,
                    cpb_mlp_hidden=512),
}
ARCH_ALIASES = {'large': 'l'}
ARCH_DEFAULTS = dict(sr_ratios=(1, 1, 1, 1), neck_start_stage=2, cpb_mlp_hidden=512)
REQUIRED_ARCH_KEYS = {'stem_channels', 'base_channels', 'depths', 'num_heads', 'window_sizes',
                      'neck_channels'}
NUM_LEVELS = 4
NUM_CONV_LEVELS = 2  # levels 0 and 1 are C2f, 2 and 3 windowed attention (upstream l.1111)
NECK_INDEX = NUM_LEVELS  # out_indices slot of the neck map


def _as_tuple(value):
    return tuple(value) if isinstance(value, (list, tuple)) else (value, )


def _one_window(name, window):
    """One window per attention level; the official per-block list form must agree."""
    windows = set(_as_tuple(window))
    if len(windows) != 1 or not isinstance(next(iter(windows)), int) or min(windows) < 2:
        raise ValueError(f'{name} must be one int >= 2 (or a list of equal ints, the '
                         f'official form), got {window!r}')
    return windows.pop()


@MODELS.register_module()
class ERADIO(RADIOBackbone):
    """E-RADIO student.

    Output indexing (``out_indices``): 0-3 are the four levels' maps *before* their
    downsample (strides 4, 8, 16, 32; ``base_channels * 2**i`` channels), for FPN necks; 4
    (= -1, the default) is the neck map (stride ``2**(neck_start_stage + 2)``, 16 for the
    presets; ``neck_channels``). ``frozen_stages`` and layer ids count the same way: stem,
    levels 0-3, neck.

    RADIO outputs (``forward_radio``): ``features`` are the neck map's tokens (B, h*w,
    neck_channels), row-major; ``summary`` is their mean, (B, 1, neck_channels), one slot:
    E-RADIO has no CLS token (NVlabs/RADIO `radio/radio_model.py` ``_extract_final``).

    Args:
        arch (str | dict): ``'l'`` (E-RADIO-L, the released e-radio_v2), ``'xxxtiny'``, or
            a dict with stem_channels, base_channels, depths, num_heads, window_sizes
            (None for the two conv levels), neck_channels and optionally sr_ratios (int or
            sequence of subsample ratios per level), neck_start_stage (1-3),
            cpb_mlp_hidden. num_heads of the conv levels are unused.
        window_size (int): attention window for both attention levels instead of the arch's
            (official ``change_window_size``, e.g. 7 for 224 px input); the position-bias
            coordinates stay normalised by the arch (training) window. None keeps it.
        drop_path_rate (float): stochastic depth, increasing linearly over all blocks.
        **kwargs: out_indices, out_type, pad_to_multiple, frozen, frozen_stages, with_cp
            (checkpoints each C2f stage and each attention block), deploy, init_cfg (see
            :class:`RADIOBackbone`).

    Official ``base_model.*`` weights load after stripping the prefix, e.g.
    ``init_cfg=dict(type='Pretrained', checkpoint=..., prefix='base_model.')``.
    """

    def __init__(self, arch='l', window_size=None, drop_path_rate=0.0, out_indices=(NECK_INDEX, ),
                 **kwargs):
        super().__init__(out_indices=out_indices, **kwargs)
        settings = self.arch_settings(arch)
        if window_size is not None:
            window_size = _one_window('window_size', window_size)
        depths = settings['depths']
        channels = [settings['base_channels'] * 2**i for i in range(NUM_LEVELS)]
        dpr = torch.linspace(0, drop_path_rate, sum(depths), device='cpu').tolist()
        self.patch_embed = Stem(3, settings['stem_channels'], channels[0])
        self.levels = nn.ModuleList()
        for i in range(NUM_LEVELS):
            with_downsample = i < NUM_LEVELS - 1
            if i < NUM_CONV_LEVELS:
                self.levels.append(ConvStage(channels[i], depths[i], with_downsample))
                continue
            trained_window = settings['window_sizes'][i]
            self.levels.append(AttentionStage(
                channels[i], depths[i], settings['num_heads'][i],
                window_size or trained_window, trained_window, settings['sr_ratios'][i],
                settings['cpb_mlp_hidden'], dpr[sum(depths[:i]):sum(depths[:i + 1])],
                with_downsample))
        start = settings['neck_start_stage']
        self.high_res_neck = HiResNeck(channels, start, settings['neck_channels'])
        self.stage_channels = (*channels, settings['neck_channels'])
        self.embed_dims = settings['neck_channels']
        self.patch_size = 2**(start + 2)  # pixels per feature token
        self.apply(_init_weights)
        self.freeze()

    @staticmethod
    def arch_settings(arch):
        """The settings an ``arch`` builds: a preset of :data:`ARCH_SETTINGS`, or a dict
        completed with :data:`ARCH_DEFAULTS`; lists become tuples, checked per level."""
        if isinstance(arch, dict):
            missing = REQUIRED_ARCH_KEYS - set(arch)
            if missing:
                raise ValueError(f'custom ERADIO arch needs keys {sorted(missing)}')
            settings = dict(ARCH_DEFAULTS, **arch)
        else:
            key = ARCH_ALIASES.get(arch, arch)
            if key not in ARCH_SETTINGS:
                raise ValueError(f'unknown ERADIO arch {arch!r}; choose from '
                                 f'{sorted(ARCH_SETTINGS) + sorted(ARCH_ALIASES)} or pass a dict')
            settings = dict(ARCH_SETTINGS[key])
        per_level = ('depths', 'num_heads', 'window_sizes', 'sr_ratios')
        bad = [k for k in per_level if len(settings[k]) != NUM_LEVELS]
        if bad:
            raise ValueError(f'ERADIO arch {bad} need one entry per level ({NUM_LEVELS})')
        settings.update((k, tuple(settings[k])) for k in per_level)
        windows = list(settings['window_sizes'])
        if any(w is not None for w in windows[:NUM_CONV_LEVELS]):
            raise ValueError('window_sizes of the conv levels 0 and 1 must be None')
        for i in range(NUM_CONV_LEVELS, NUM_LEVELS):
            windows[i] = _one_window(f'window_sizes[{i}]', windows[i])
        settings['window_sizes'] = tuple(windows)
        ratios = [_as_tuple(r) for r in settings['sr_ratios']]
        for i, level_ratios in enumerate(ratios[NUM_CONV_LEVELS:], NUM_CONV_LEVELS):
            if any(max(level_ratios) % r for r in level_ratios):
                raise ValueError(f'sr_ratios[{i}]={level_ratios}: every ratio must divide '
                                 'the largest one, so all blocks see whole windows')
        settings['sr_ratios'] = tuple(ratios)
        if not 1 <= settings['neck_start_stage'] < NUM_LEVELS:
            raise ValueError(f"neck_start_stage must be 1, 2 or 3, got "
                             f"{settings['neck_start_stage']}")
        return settings

    @property
    def size_multiple(self):
        # Five stride-2 steps; upstream raises for anything else (l.1172).
        return 32

    @property
    def num_stages(self):
        return NUM_LEVELS + 1  # the levels and the neck

    def stage_modules(self):
        return [self.patch_embed, *self.levels, self.high_res_neck]

    def layer_id(self, param_name):
        if param_name.startswith('patch_embed.'):
            return 0
        if param_name.startswith('levels.'):
            return int(param_name.split('.')[1]) + 1
        if param_name.startswith('high_res_neck.'):
            return NUM_LEVELS + 1
        return NUM_LEVELS + 2

    def _switch_to_deploy(self):
        """Batch norm folded into every conv (official ``switch_to_deploy`` folds the conv
        blocks' only, not the neck's) and channels-last weights, which mkldnn's convolutions
        run faster and which make the NCHW <-> token-layout changes views. The blocks' own
        ``switch_to_deploy`` ran before: position-bias MLPs evaluated once, the residual
        ``x + pre_conv(x)`` folded into the conv, the neck's batch norms folded."""
        fuse_all_conv_norm_act(self)
        if self._deploy_channels_last:
            self.to(memory_format=torch.channels_last)

    # benchmarks/README.md measures the deploy form with and without channels-last.
    _deploy_channels_last = True

    def _forward(self, x, out_indices):
        with_cp = self.with_cp and self.training and torch.is_grad_enabled()
        if self.deployed and self._deploy_channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        x = self.patch_embed(x)
        maps = []
        for level in self.levels:
            x, pre_downsample = level(x, with_cp)
            maps.append(pre_downsample)
        fused = self.high_res_neck(maps)
        maps.append(fused)
        tokens = fused.flatten(2).transpose(1, 2)
        radio = RadioFeatures(summary=tokens.mean(1, keepdim=True), features=tokens,
                              hw=tuple(fused.shape[2:]))
        return radio, [m for i, m in enumerate(maps) if i in out_indices]

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # Official checkpoints may hold the classifier parts hubconf drops (module docstring).
        for key in [k for k in state_dict if k.startswith((prefix + 'norm.', prefix + 'head.'))]:
            del state_dict[key]
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


def _init_weights(module):
    """Upstream init (l.1151-1163): truncated-normal linears, zero biases."""
    if isinstance(module, nn.Linear):
        trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
