"""Read NVIDIA's released RADIO checkpoints into radio_mm's model layout.

Official layout (NVlabs/RADIO `hubconf.py::radio_model`, `radio/radio_model.py`): a
``.pth.tar`` dict with ``args`` (argparse Namespace: ``model``, ``model_kwargs``,
``teachers`` [dicts with ``name``, ``use_summary``, ``fd_upsample_factor``...],
``cpe_max_size``, ``cls_token_per_teacher``, ``register_multiple``, ``model_norm``...) and
``state_dict`` or ``state_dict_ema`` (preferred) whose keys are

* ``base_model.*``: the student (timm ViT + ``patch_generator``, or E-RADIO);
* ``input_conditioner.norm_mean`` / ``norm_std``: (3, 1, 1) input statistics;
* ``_heads.<i|name>.*`` / ``_feature_projections.<i|name>.*``: summary / feature adaptor
  MLPs of teacher ``i`` (by position in ``args.teachers``) or by name, 'v2' MLPs or RADIOv1's
  'v1' ones;
* ``_feature_normalizer.{mean,tx}`` / ``_intermediate_feature_normalizer.*``: whitening of
  the final / intermediate features (RADIOv2.5, C-RADIO; `radio/feature_normalizer.py`).

Every student of NVlabs/RADIO `radio/common.py` RESOURCE_MAP is a timm ViT made CPE
(`radio/enable_cpe_support.py`) or E-RADIO; the ViT variants (LayerScale of the
`vit_*_patch16_v2_224` C-RADIOv3 students, LayerNorm inside the MLP of
`vit_huge_patch16_224_mlpnorm`, SO400M's 4304-wide MLP, final norm of `-norm` releases) are
:class:`~radio_mm.models.backbones.RADIOViT` options read from the weights.

All functions here are plain: state dict in, state dict or config out.
"""
import re

import torch

from radio_mm.models.adaptors import adaptor_mlp_from_state_dict, mlp_version_of
from radio_mm.models.backbones.radio_vit import ARCH_ALIASES, ARCH_SETTINGS, RADIOViT
from radio_mm.models.input_conditioner import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD

from .eradio_release import eradio_cfg_from_official
from .official_args import check_release_args

# Heads of the released students by width (RADIOViT's sizes, and timm's ViT-g/14 1408 and
# ViT-bigG 1664, which no preset has), then by timm size name (`vit_<size>_patch..`);
# `args.model_kwargs['num_heads']` overrides both. Widths and depths come from the weights.
_HEADS_BY_WIDTH = {**{s['embed_dims']: s['num_heads'] for s in ARCH_SETTINGS.values()},
                   1408: 16, 1664: 16}
_HEADS_BY_SIZE = {name: RADIOViT.arch_settings(name)['num_heads']
                  for name in [*ARCH_SETTINGS, *ARCH_ALIASES]}
# `vit_so400m_v2_patch16_224` (`radio/extra_timm_models.py`) puts a version before the patch.
_VIT_NAME = re.compile(r'vit_(?P<size>[A-Za-z0-9]+)(_v\d+)?_patch(?P<patch>\d+)')
# (embed_dims, num_layers, num_heads) -> timm's size name (`vit_<name>_patch16_224`); mm2radio
# writes other shapes as 'base' with every width in model_kwargs.
VIT_SIZE_NAMES = {(s['embed_dims'], s['num_layers'], s['num_heads']): name
                  for name, s in ((n, RADIOViT.arch_settings(n))
                                  for n in ('tiny', 'small', 'base', 'large', 'huge'))}

# The release layout, read here and written by radio_mm.apis.official_export: radio_mm key
# prefix -> release key prefix for the parts that are not adaptor heads (`hubconf.py` reads
# `_feature_normalizer.*` / `_intermediate_feature_normalizer.*`) ...
NORMALIZER_KEY_MAP = (('feature_normalizer.', '_feature_normalizer.'),
                      ('intermediate_normalizer.', '_intermediate_feature_normalizer.'))
RELEASE_KEY_MAP = (('backbone.', 'base_model.'),
                   ('input_conditioner.', 'input_conditioner.')) + NORMALIZER_KEY_MAP
# ... and adaptor MLP -> release group, numbered by teacher (`_heads.<i>.*`, ...).
ADAPTOR_KEY_MAP = (('summary_mlp', '_heads'), ('feature_mlp', '_feature_projections'))
# Top-level key groups of a release, all read by radio_mm.
RELEASE_PREFIXES = tuple(theirs for _, theirs in RELEASE_KEY_MAP) + tuple(
    f'{group}.' for _, group in ADAPTOR_KEY_MAP)


def release_weights(checkpoint):
    """The weights hubconf uses: ``state_dict_ema`` when the release has it."""
    return checkpoint.get('state_dict_ema') or checkpoint.get('state_dict') or {}


def is_official_checkpoint(checkpoint):
    if not isinstance(checkpoint, dict) or 'args' not in checkpoint:
        return False
    return any(k.startswith('base_model.') for k in release_weights(checkpoint))


def _strip(state_dict, prefix):
    return {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}


def summary_slots(args):
    """Teacher name -> summary token index, and the backbone's ``summary_idxs``.

    hubconf dedups teacher names, keeping each name's first position (commit 9569be1).
    """
    per_teacher = getattr(args, 'cls_token_per_teacher', True)
    teachers = _first_teachers(args)
    slots = {name: teacher.get('token_slot', i) if per_teacher else 0
             for name, (i, teacher) in teachers.items()}
    if per_teacher:
        summary_idxs = sorted(i for i, teacher in teachers.values()
                              if teacher.get('use_summary', True))
    else:
        summary_idxs = [0]
    return slots, summary_idxs


def num_summary_tokens(args):
    if not getattr(args, 'cls_token_per_teacher', True):
        return 1
    return len({t['name'] for t in getattr(args, 'teachers', [])})


def unused_student_keys(args, state_dict):
    """``base_model.*`` keys the official model holds but never reads, so radio_mm skips them.

    With CPE (`radio/enable_cpe_support.py`) the timm ViT's own tokens are replaced by
    ``patch_generator``, yet timm's DINOv2-style ``reg_token`` (C-RADIOv3 students) stays in
    the state dict; ``fc_norm``/``attn_pool``/``head`` belong to timm's classifier, which
    ``forward_features`` never runs; ``norm`` is an Identity unless ``args.model_norm``.
    """
    unused = ('reg_token', 'fc_norm.', 'attn_pool.', 'head.')
    if not getattr(args, 'model_norm', False):
        unused += ('norm.', )
    return sorted(k for k in state_dict if k.startswith('base_model.')
                  and k[len('base_model.'):].startswith(unused))


def check_release_keys(state_dict):
    """Refuse a release with keys outside the groups radio_mm reads (never drop silently)."""
    unknown = sorted(k for k in state_dict if not k.startswith(RELEASE_PREFIXES))
    if unknown:
        raise KeyError(f'checkpoint keys radio_mm does not understand: {unknown[:8]}'
                       f'{" ..." if len(unknown) > 8 else ""} ({len(unknown)} in all). Known '
                       f'groups: {list(RELEASE_PREFIXES)}. Please report this release.')


def backbone_cfg_from_checkpoint(args, state_dict, ema=True):
    """The radio_mm backbone config that reproduces ``args.model`` with these weights
    (``ema``: they are the release's ``state_dict_ema``); ``args`` values radio_mm does not
    build raise (:mod:`.official_args`)."""
    model = args.model
    kwargs = dict(getattr(args, 'model_kwargs', None) or {})
    base = _strip(state_dict, 'base_model.')
    if 'eradio' in model or 'fastervit' in model:
        check_release_args(args, ema=ema)
        return eradio_cfg_from_official(model, kwargs, base)
    check_release_args(args, kwargs, ema)
    match = _VIT_NAME.match(model)
    if match is None or 'patch_generator.pos_embed' not in base:
        raise ValueError(f'unsupported RADIO student {model!r}: radio_mm converts CPE ViTs '
                         '(vit_<size>_patch<P>_*, with base_model.patch_generator.*) and '
                         'E-RADIO.')
    embed_dims = base['patch_generator.pos_embed'].shape[-1]
    num_layers = 1 + max(int(k.split('.')[1]) for k in base if k.startswith('blocks.'))
    hidden = base['blocks.0.mlp.fc1.weight'].shape[0]
    if 'blocks.0.mlp.fc2.weight' not in base or \
            base['blocks.0.mlp.fc2.weight'].shape[1] != hidden:
        # timm's DINOv2 giants (`vit_giant_patch14_reg4_dinov2`) pack SwiGLU's two inputs
        # into fc1 (SwiGLUPacked); RADIOViT's MLP is fc1 -> GELU -> fc2.
        raise ValueError(f'unsupported RADIO student {model!r}: its MLP is a gated (SwiGLU) '
                         'one, which RADIOViT does not build. Please report this release.')
    patch_size = int(round((base['patch_generator.embedder.weight'].shape[1] / 3)**0.5))
    num_heads = kwargs.get('num_heads') or _HEADS_BY_WIDTH.get(embed_dims) or \
        _HEADS_BY_SIZE.get(match['size'])
    if num_heads is None or embed_dims % num_heads:
        raise ValueError(f'cannot tell the number of heads of {model!r} (width {embed_dims});'
                         " set args.model_kwargs['num_heads']")
    num_summary = num_summary_tokens(args)
    num_tokens = base['patch_generator.cls_token.token'].shape[0]
    grid = int(round(base['patch_generator.pos_embed'].shape[1]**0.5))
    layer_scale = any(k.startswith('blocks.0.ls1.') for k in base)
    return dict(
        type='RADIOViT',
        arch=dict(embed_dims=embed_dims, num_layers=num_layers, num_heads=num_heads,
                  mlp_ratio=_mlp_ratio(embed_dims, hidden)),
        patch_size=patch_size,
        cpe_max_size=grid * patch_size,
        num_summary_tokens=num_summary,
        num_registers=num_tokens - num_summary,
        qkv_bias='blocks.0.attn.qkv.bias' in base,
        # The value is overwritten by the weights; it only switches LayerScale on.
        init_values=1e-5 if layer_scale else None,
        mlp_norm='blocks.0.mlp.norm.weight' in base,
        final_norm=bool(getattr(args, 'model_norm', False)),
        **(dict(scaled_ln=True) if kwargs.get('scaled_ln') else {}))


def _mlp_ratio(embed_dims, hidden):
    """The ratio for which timm's ``int(dim * mlp_ratio)`` gives ``hidden`` (SO400M: 4304)."""
    ratio = hidden / embed_dims
    if int(embed_dims * ratio) != hidden:
        ratio = (hidden + 0.5) / embed_dims
    return ratio


def adaptor_cfgs_from_checkpoint(args, state_dict, adaptor_names=None, unbuildable=None):
    """Adaptor name -> TeacherAdaptor config inferred from the head weights.

    ``unbuildable`` (dict, filled in): with ``adaptor_names=None``, a head radio_mm cannot
    build is recorded there (name -> reason) and left out instead of failing the whole
    release, so that its student still loads; heads asked for by name always raise.
    """
    slots, _ = summary_slots(args)
    teachers = _first_teachers(args)
    names = list(teachers) if adaptor_names is None else list(adaptor_names)
    cfgs = {}
    for name in names:
        if name not in teachers:
            raise ValueError(f'unknown adaptor {name!r}; this checkpoint has {list(teachers)}')
        try:
            cfg = _adaptor_cfg(args, state_dict, name, teachers[name], slots[name])
        except (KeyError, ValueError) as error:
            if adaptor_names is not None or unbuildable is None:
                raise
            unbuildable[name] = str(error)
            continue
        if cfg is None:
            if adaptor_names is None:
                continue  # a teacher without heads in this release
            raise KeyError(f'checkpoint has no feature head for adaptor {name!r}')
        cfgs[name] = cfg
    return cfgs


def _adaptor_cfg(args, state_dict, name, position_and_teacher, slot):
    """One TeacherAdaptor config (None: the release has no heads for this teacher)."""
    index, teacher = position_and_teacher
    feature = _adaptor_state(state_dict, '_feature_projections', name, index)
    if not feature:
        return None
    summary = _adaptor_state(state_dict, '_heads', name, index)
    upsample = int(teacher.get('fd_upsample_factor') or 1)
    feature_version = mlp_version_of(feature)
    # `radio/adaptor_generic.py` GenericAdaptor: the teacher's `spatial_mlp_version`, else
    # args.spatial_mlp_version, else the summary version, picks the feature head.
    declared = (teacher.get('spatial_mlp_version') or getattr(args, 'spatial_mlp_version', None)
                or teacher.get('mlp_version') or getattr(args, 'mlp_version', None))
    if declared and declared != feature_version:
        raise ValueError(f'adaptor {name!r}: the release declares a {declared!r} feature head '
                         f'but its weights are a {feature_version!r} one')
    feature_mlp = adaptor_mlp_from_state_dict(feature, upsample)
    summary_mlp = adaptor_mlp_from_state_dict(summary) if summary else None
    if summary_mlp is not None and mlp_version_of(summary) == 'attn':
        raise ValueError(f"adaptor {name!r}: an 'attn' summary head (official summary heads "
                         "are 'v1' or 'v2' MLPs)")
    summary_version = None if summary_mlp is None else mlp_version_of(summary)
    cfg = dict(
        in_dims=feature_mlp.fc1.in_features,
        feature_dims=feature_mlp.out_dims,
        summary_dims=None if summary_mlp is None else summary_mlp.out_dims,
        hidden_dims=feature_mlp.fc1.out_features,
        num_inner=_num_inner(feature_mlp),
        summary_slot=slot,
        upsample_factor=feature_mlp.upsample_factor,
        pre_norm=not isinstance(getattr(feature_mlp, 'pre_norm', None),
                                (torch.nn.Identity, type(None))),
        mlp_version=summary_version or feature_version)
    if feature_version == 'attn':
        cfg.update(feature_mlp_version='attn', num_inner=0)
    if summary_mlp is not None:
        cfg.update(summary_hidden_dims=summary_mlp.fc1.out_features,
                   summary_num_inner=_num_inner(summary_mlp),
                   summary_mlp_version=summary_version)
    return cfg


def _num_inner(mlp):
    if hasattr(mlp, 'inner'):  # 'v1'
        return len(mlp.inner) // 3
    return len(getattr(mlp, 'mlp', mlp).blocks)  # 'v2', or the MLP of an 'attn' head


def _first_teachers(args):
    """Teacher name -> (first position, config), in teacher order (hubconf's lookup)."""
    teachers = {}
    for i, teacher in enumerate(getattr(args, 'teachers', [])):
        teachers.setdefault(teacher['name'], (i, teacher))
    return teachers


def _adaptor_state(state_dict, kind, name, index):
    """Weights under ``<kind>.<index>.`` or ``<kind>.<name>.`` (both appear in releases)."""
    for key in (f'{kind}.{index}.', f'{kind}.{name}.'):
        found = _strip(state_dict, key)
        if found:
            return found
    return {}


def convert_official_state_dict(args, state_dict, adaptor_names=None):
    """Official keys -> :class:`RADIOModel` keys (``backbone.*``, ``input_conditioner.*``,
    ``adaptors.<name>.{summary,feature}_mlp.*``, ``feature_normalizer.*``,
    ``intermediate_normalizer.*``). Keys outside the known groups raise; student keys the
    official model never reads (:func:`unused_student_keys`) are skipped."""
    check_release_keys(state_dict)
    unused = set(unused_student_keys(args, state_dict))
    converted = {}
    for key, value in _strip({k: v for k, v in state_dict.items() if k not in unused},
                             'base_model.').items():
        # LayerScale is saved as `grandma` by the releases (HF renames "gamma").
        key = re.sub(r'\.(ls[12])\.grandma$', r'.\1.gamma', key)
        converted[f'backbone.{key}'] = value
    for key in ('norm_mean', 'norm_std'):
        converted[f'input_conditioner.{key}'] = state_dict.get(
            f'input_conditioner.{key}',
            torch.tensor(OPENAI_CLIP_MEAN if key == 'norm_mean' else OPENAI_CLIP_STD).view(
                -1, 1, 1))
    for key, value in state_dict.items():
        for ours, official in NORMALIZER_KEY_MAP:
            if key.startswith(official):
                converted[ours + key[len(official):]] = value
    teachers = _first_teachers(args)
    names = adaptor_cfgs_from_checkpoint(args, state_dict, adaptor_names, unbuildable={})
    for name in names:
        for target, kind in ADAPTOR_KEY_MAP:
            for key, value in _adaptor_state(state_dict, kind, name, teachers[name][0]).items():
                # The blocks of an 'attn' head are timm's (LayerScale `gamma`); accept the
                # students' `grandma` rename too.
                key = re.sub(r'\.(ls[12])\.grandma$', r'.\1.gamma', key)
                converted[f'adaptors.{name}.{target}.{key}'] = value
    return converted


def radio_model_cfg_from_checkpoint(args, state_dict, adaptor_names=None, unbuildable=None,
                                    ema=True):
    """Full :class:`RADIOModel` config for an official checkpoint (``unbuildable``: see
    :func:`adaptor_cfgs_from_checkpoint`)."""
    _, summary_idxs = summary_slots(args)
    backbone = backbone_cfg_from_checkpoint(args, state_dict, ema)
    adaptors = adaptor_cfgs_from_checkpoint(args, state_dict, adaptor_names, unbuildable)
    if backbone['type'] != 'RADIOViT':
        summary_idxs = None  # E-RADIO pools one summary, which every adaptor reads
        for cfg in adaptors.values():
            cfg['summary_slot'] = 0
    mean = state_dict.get('input_conditioner.norm_mean')
    std = state_dict.get('input_conditioner.norm_std')
    return dict(
        type='RADIOModel', backbone=backbone,
        adaptors=adaptors,
        summary_idxs=summary_idxs,
        **normalizer_cfgs_from_checkpoint(state_dict),
        mean=OPENAI_CLIP_MEAN if mean is None else tuple(mean.flatten().tolist()),
        std=OPENAI_CLIP_STD if std is None else tuple(std.flatten().tolist()))


def normalizer_cfgs_from_checkpoint(state_dict):
    """RADIOModel ``feature_normalizer`` / ``intermediate_normalizer`` arguments."""
    cfgs = {}
    if '_feature_normalizer.mean' in state_dict:
        cfgs['feature_normalizer'] = True
    means = state_dict.get('_intermediate_feature_normalizer.means')
    if means is not None:
        rotation = state_dict['_intermediate_feature_normalizer.rotation']
        cfgs['intermediate_normalizer'] = dict(num_layers=means.shape[0],
                                               rot_per_layer=rotation.dim() == 3)
    return cfgs


def data_preprocessor_stats(model_cfg):
    """mm ``data_preprocessor`` mean/std (0-255 images) equal to the input conditioner."""
    return dict(mean=[round(m * 255, 4) for m in model_cfg['mean']],
                std=[round(s * 255, 4) for s in model_cfg['std']])
