"""The E-RADIO students of NVIDIA's releases: their timm names and weights -> ERADIO configs.

Release knowledge kept beside the rest of the release layout (:mod:`.official_checkpoint`), so
that the model file (:mod:`radio_mm.models.backbones.eradio`) knows nothing of release files.
"""
import torch

from radio_mm.models.backbones.eradio import ERADIO, NUM_CONV_LEVELS, NUM_LEVELS
from radio_mm.models.backbones.eradio_blocks import ContinuousPositionBias

# ERADIO preset -> the official timm name that builds it (`radio/eradio_model.py`).
RELEASE_NAMES = {'l': 'eradio', 'xxxtiny': 'eradio_xxxtiny'}
# ERADIO arch keys -> official ERADIO kwargs, for widths no official name builds.
OFFICIAL_KWARGS = dict(stem_channels='in_dim', base_channels='dim', depths='depths',
                       num_heads='num_heads', window_sizes='window_size', sr_ratios='sr_ratio',
                       neck_channels='full_features_head_dim',
                       neck_start_stage='neck_start_stage', cpb_mlp_hidden='cpb_mlp_hidden')

# Official timm names of the E-RADIO students (`radio/eradio_model.py` @register_model; before
# June 2024 E-RADIO-L was registered as fastervit2_large_fullres_ws16). All use window 16.
OFFICIAL_WINDOW = {'eradio': 16, 'eradio_large_fullres_ws16': 16,
                   'fastervit2_large_fullres_ws16': 16, 'eradio_xxxtiny': 16}


def eradio_arch_from_state_dict(state_dict, window_size=None):
    """Read an ERADIO ``arch`` dict off official (``base_model.``-stripped) weights.

    The attention window only shows in the CPB buffers (``relative_coords_table`` is
    (1, 2w-1, 2w-1, 2)); without them ``window_size`` is used.
    """
    def indices(prefix):
        return {int(k[len(prefix):].split('.')[0]) for k in state_dict if k.startswith(prefix)}

    depths, num_heads, windows, ratios = [], [], [], []
    for i in range(NUM_LEVELS):
        if i < NUM_CONV_LEVELS:
            depths.append(len(indices(f'levels.{i}.blocks.m.')))
            num_heads.append(None)
            windows.append(None)
            ratios.append(1)
            continue
        depths.append(len(indices(f'levels.{i}.blocks.')))
        block = f'levels.{i}.blocks.0.attention_blocks.'
        down = [state_dict.get(f'{block}{k}.downsample_op.weight') for k in sorted(indices(block))]
        level_ratios = tuple(1 if w is None else w.shape[-1] for w in down)
        ratios.append(level_ratios[0] if len(level_ratios) == 1 else level_ratios)
        cpb = f'{block}0.attn.pos_emb_funct.'
        num_heads.append(state_dict[cpb + 'cpb_mlp.2.weight'].shape[0])
        table = state_dict.get(cpb + 'relative_coords_table')
        windows.append(window_size if table is None else (table.shape[1] + 1) // 2)
    if None in windows[NUM_CONV_LEVELS:]:
        raise ValueError('these E-RADIO weights carry no relative_coords_table buffers; pass '
                         'the training window_size')
    neck = 'high_res_neck.neck_features_proj.'
    num_projections = max(indices(neck)) + 1
    return dict(
        stem_channels=state_dict['patch_embed.conv_down.0.conv.weight'].shape[0],
        base_channels=state_dict['patch_embed.conv_down.2.conv.weight'].shape[0],
        depths=tuple(depths), num_heads=tuple(num_heads), window_sizes=tuple(windows),
        sr_ratios=tuple(ratios),
        neck_channels=state_dict[f'{neck}{num_projections - 1}.conv2.weight'].shape[0],
        neck_start_stage=NUM_LEVELS - num_projections,
        cpb_mlp_hidden=state_dict[f'{block}0.attn.pos_emb_funct.cpb_mlp.0.weight'].shape[0])


def eradio_cfg_from_official(model, model_kwargs, state_dict):
    """ERADIO config for an official student from ``args.model``, ``args.model_kwargs`` and
    its ``base_model.``-stripped weights; raises for variants ERADIO does not build
    (``conv_base=False`` mixers, SwiGLU, qkv bias, layer scale, window shift, ...)."""
    if (model_kwargs or {}).get('use_shift'):
        raise ValueError(f'{model!r} uses shifted windows (use_shift); ERADIO does not')
    try:
        arch = eradio_arch_from_state_dict(state_dict, OFFICIAL_WINDOW.get(model))
    except KeyError as missing:
        raise ValueError(f'{model!r} weights lack the E-RADIO key {missing}') from None
    with torch.device('meta'):
        expected = ERADIO(arch=arch).state_dict()
    derived = ContinuousPositionBias._DERIVED
    given = {k: v for k, v in state_dict.items()
             if not k.startswith(('norm.', 'head.')) and k.rsplit('.', 1)[-1] not in derived}
    mismatched = sorted(k for k in set(given) | set(expected)
                        if k not in given or k not in expected
                        or given[k].shape != expected[k].shape)
    if mismatched:
        raise ValueError(f'{model!r} is an E-RADIO variant ERADIO does not build; weights that '
                         f'differ from {arch}: {mismatched[:8]}')
    return dict(type='ERADIO', arch=arch)
