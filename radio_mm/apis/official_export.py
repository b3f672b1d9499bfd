"""Export a radio_mm student to NVIDIA's release layout (the inverse of radio2mm.py).

The written ``.pth.tar`` is what NVlabs/RADIO `hubconf.py::radio_model(version=<file>)`
reads (commit c0f3701), so a student distilled or converted with radio_mm runs wherever the
official RADIO does:

* ``args``: an ``argparse.Namespace`` for `radio/radio_model.py::create_model_from_args`
  (timm ``model`` name + ``model_kwargs`` with every width, ``*_mlpnorm`` for ``mlp_norm``;
  ``cpe_max_size``, ``cls_token_per_teacher``, ``register_multiple`` /
  ``cpe_num_registers``, ``model_norm``, ``mlp_version='v2'``) and ``teachers``
  (``name``, ``type='generic'``, ``use_summary``, ``token_slot``, ``fd_upsample_factor``);
* ``state_dict`` (+ ``state_dict_ema``): ``base_model.*``, ``input_conditioner.*``,
  ``_heads.<i>.*``, ``_feature_projections.<i>.*``. A run with EMA (mmengine convention,
  EMA weights in ``state_dict``, raw ones in ``ema_state_dict``) gives both, as the
  releases do: ``state_dict_ema`` averaged (what hubconf loads), ``state_dict`` raw.

Official facts used: every adaptor the hub builds by name needs a summary head
(`radio/adaptor_generic.py` builds ``head_mlp`` from ``_heads``), so a teacher without one
(SAM) gets a zero summary head that outputs zeros; ``use_summary`` only selects which summary
tokens form the backbone summary (`hubconf.py`, ``summary_idxs``); the adaptor reads token
``token_slot`` (default: the teacher's position).
"""
from argparse import Namespace

import torch

from radio_mm.formats.eradio_release import OFFICIAL_KWARGS, RELEASE_NAMES
from radio_mm.formats.official_checkpoint import ADAPTOR_KEY_MAP, RELEASE_KEY_MAP, VIT_SIZE_NAMES
from radio_mm.formats.radio_checkpoint import META_KEY, load_checkpoint_file, read_radio_checkpoint
from radio_mm.models.adaptors import AttnFDHead
from radio_mm.models.backbones.radio_vit import RADIOViT

from .model_loading import model_from_checkpoint

# RADIOViT arguments the official timm ViT + CPE reproduces, and those that only change how
# radio_mm trains or runs it (not saved in a release).
VIT_EXPORTED = {'arch', 'patch_size', 'cpe_max_size', 'num_summary_tokens', 'register_multiple',
                'num_registers', 'qkv_bias', 'init_values', 'mlp_norm', 'final_norm'}
VIT_RUNTIME = {'type', 'drop_path_rate', 'window_size', 'global_blocks', 'cpe_train_crop',
               'pos_dropout', 'out_indices', 'out_type', 'pad_to_multiple', 'frozen',
               'frozen_stages', 'with_cp', 'init_cfg'}
# What create_model_from_args reads besides the model (values of the releases).
BASE_ARGS = dict(pretrained=False, in_chans=None, input_size=None, num_classes=0, drop=0.0,
                 drop_path=None, drop_block=None, gp=None, bn_momentum=None, bn_eps=None,
                 torchscript=False, initial_checkpoint='', mlp_version='v2',
                 spectral_reparam=False, dtype=torch.float32)


def export_official_checkpoint(checkpoint):
    """radio_mm model checkpoint (converted release or distillation run) -> release dict
    ``{'args', 'state_dict'[, 'state_dict_ema']}`` (see the module docstring)."""
    source = load_checkpoint_file(checkpoint)  # read once: EMA and raw weights below
    meta = source.get('meta', {}) if isinstance(source, dict) else {}
    if META_KEY not in meta:
        raise ValueError(f'{checkpoint!r} is not a radio_mm model checkpoint (no '
                         f"meta['{META_KEY}']): export distillation runs or radio2mm.py outputs")
    # Every adaptor, strictly loaded, EMA weights when the run has them.
    model = model_from_checkpoint(read_radio_checkpoint(source, source=checkpoint))
    backbone_cfg = meta[META_KEY]['backbone']
    teachers, tokens = _teachers(model)
    if isinstance(model.backbone, RADIOViT):
        args = _vit_args(model.backbone, backbone_cfg, teachers, tokens)
    else:
        args = _eradio_args(model.backbone, backbone_cfg, teachers)
    order = [t['name'] for t in teachers]
    weights = _release_state_dict(model.state_dict(), order, model)
    release = dict(args=args, state_dict=weights)
    if source.get('ema_state_dict'):
        # EMA run: the release keeps the average in state_dict_ema and the raw weights in
        # state_dict; the checkpoint view reads the raw ones (StudentEMAHook's convention).
        raw = model_from_checkpoint(read_radio_checkpoint(source, use_ema=False,
                                                          source=checkpoint))
        release = dict(args=args, state_dict=_release_state_dict(raw.state_dict(), order, model),
                       state_dict_ema=weights)
    return release


def _teachers(model):
    """Official ``teachers`` and summary-token layout that reproduce ``model``.

    Summary teachers come first in slot order, the others after; ``use_summary`` marks the
    positions of the backbone summary tokens, ``token_slot`` the token each adaptor reads.
    Returns (teachers, cls_token_per_teacher).
    """
    adaptors = model.adaptors
    ordered = sorted((n for n, a in adaptors.items() if a.summary_mlp is not None),
                     key=lambda n: adaptors[n].summary_slot)
    ordered += [n for n, a in adaptors.items() if a.summary_mlp is None]
    num_summary = getattr(model.backbone, 'num_summary_tokens', 1)
    backbone_summary = [int(i) for i in (model.summary_idxs if model.summary_idxs is not None
                                         else range(num_summary))]
    per_teacher = isinstance(model.backbone, RADIOViT) and num_summary > 1
    if per_teacher and (not ordered or max(backbone_summary) >= len(ordered)):
        raise ValueError(
            f'the backbone summary reads tokens {backbone_summary} but the official layout '
            f'derives it from the teachers ({ordered}): one per token. Set the student\'s '
            'summary_idxs to tokens of teachers that have a summary.')
    teachers = []
    for i, name in enumerate(ordered):
        adaptor = adaptors[name]
        teachers.append(dict(
            name=name, type='generic',
            use_summary=i in backbone_summary if per_teacher else adaptor.summary_mlp is not None,
            token_slot=adaptor.summary_slot if per_teacher else 0,
            fd_upsample_factor=adaptor.upsample_factor))
        if isinstance(adaptor.feature_mlp, AttnFDHead):
            # `radio/adaptor_generic.py` builds an AttnFDHead for this version only.
            teachers[-1]['spatial_mlp_version'] = 'attn'
    if not per_teacher and backbone_summary != [0]:
        raise ValueError(f'a one-token student must use summary token 0, not {backbone_summary}')
    return teachers, per_teacher


def _vit_args(backbone, cfg, teachers, per_teacher):
    unexpected = sorted(k for k in set(cfg) - VIT_EXPORTED - VIT_RUNTIME)
    if unexpected:
        raise ValueError(f'RADIOViT options {unexpected} have no official equivalent that '
                         'mm2radio writes; export a student without them')
    settings = RADIOViT.arch_settings(cfg.get('arch', 'b'))
    block = backbone.blocks[0]
    shape = (settings['embed_dims'], settings['num_layers'], settings['num_heads'])
    model_kwargs = dict(embed_dim=shape[0], depth=shape[1], num_heads=shape[2],
                        mlp_ratio=block.mlp.fc1.out_features / shape[0],
                        patch_size=backbone.patch_size, qkv_bias=block.attn.qkv.bias is not None)
    if cfg.get('init_values') is not None:
        model_kwargs['init_values'] = cfg['init_values']  # LayerScale; weights carry values
    num_tokens = backbone.num_prefix_tokens
    num_cls = len(teachers) if per_teacher else 1
    if num_tokens < num_cls:
        raise ValueError(f'the student has {num_tokens} summary/register tokens, the official '
                         f'layout needs one per teacher ({num_cls})')
    registers = num_tokens - num_cls
    generator = backbone.patch_generator
    return Namespace(
        **BASE_ARGS,
        # The official `vit_huge_patch16_224_mlpnorm` adds the MLP LayerNorm to whatever
        # widths model_kwargs give (`radio/extra_timm_models.py`).
        model='vit_huge_patch16_224_mlpnorm' if cfg.get('mlp_norm') else
        f'vit_{VIT_SIZE_NAMES.get(shape, "base")}_patch16_224',
        model_kwargs=model_kwargs,
        teachers=teachers,
        cls_token_per_teacher=per_teacher,
        cpe_max_size=generator.grid_size * backbone.patch_size,
        # Explicit count: `radio/cls_token.py` prefers it to register_multiple.
        register_multiple=cfg.get('register_multiple') if registers else None,
        cpe_num_registers=registers or None,
        model_norm=bool(cfg.get('final_norm', False)))


def _eradio_args(backbone, cfg, teachers):
    # Compared as ERADIO builds them: aliases resolved, a dict's missing keys defaulted.
    settings = backbone.arch_settings(cfg.get('arch', 'l'))
    name = next((official for preset, official in RELEASE_NAMES.items()
                 if backbone.arch_settings(preset) == settings), None)
    model_kwargs = dict(return_full_features=True)
    if name is None:
        # No official name builds these widths; NVlabs/RADIO's hub rejects the duplicate
        # kwargs, radio_mm's loader reads the widths off the weights.
        model_kwargs.update({OFFICIAL_KWARGS[k]: settings[k] for k in OFFICIAL_KWARGS})
        name = 'eradio'
    return Namespace(**BASE_ARGS, model=name, model_kwargs=model_kwargs, teachers=teachers,
                     cls_token_per_teacher=False, cpe_max_size=None, register_multiple=None,
                     cpe_num_registers=None, model_norm=False)


def _release_state_dict(state, order, model):
    """RADIOModel keys -> release keys, adaptors numbered by teacher position.

    Every key of ``state`` is written or raises: a student part the release layout cannot
    hold must not vanish from the export.
    """
    release, written = {}, set()
    for key, value in state.items():
        for ours, theirs in RELEASE_KEY_MAP:
            if key.startswith(ours):
                release[theirs + key[len(ours):]] = value
                written.add(key)
    for name, buffers in _derived_eradio_buffers(model).items():
        release['base_model.' + name] = buffers
    for index, name in enumerate(order):
        adaptor = model.adaptors[name]
        for kind, target in ADAPTOR_KEY_MAP:
            prefix = f'adaptors.{name}.{kind}.'
            head = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
            if kind == 'feature_mlp' and adaptor.phi_s is not None:
                head = _fold_phi_s(head, adaptor)
                written.update(f'adaptors.{name}.phi_s.{k}' for k in adaptor.phi_s.state_dict())
            release.update({f'{target}.{index}.{k}': v for k, v in head.items()})
            written.update(prefix + k for k in head)
        if adaptor.summary_mlp is None:
            for key, value in _zero_summary_head(adaptor.feature_mlp.fc1.in_features).items():
                release[f'_heads.{index}.{key}'] = value
    left = sorted(set(state) - written)
    if left:
        raise ValueError(f'the release layout has no place for {left[:5]} '
                         f'({len(left)} keys): this student cannot be exported as it is')
    return release


def _fold_phi_s(head, adaptor):
    """Fold the PHI-S inverse into the feature head's last Linear, so that the official
    adaptor (which knows no PHI-S) outputs the teacher-space features radio_mm's does.

    ``unstandardize(y) = y @ M + mean`` is affine, so ``W_k <- M^T W_k``,
    ``b_k <- M^T b_k + mean`` for each of the u**2 sub-pixel groups ``k`` of the output
    channels (order (u1, u2, c), c innermost: :class:`AdaptorMLP`).
    """
    last = 'final.2.' if 'final.2.weight' in head else 'fc2.'
    phi_s = adaptor.phi_s
    matrix = phi_s.inverse_matrix(torch.float64)
    weight, bias = head[last + 'weight'].double(), head[last + 'bias'].double()
    groups, dims = weight.shape[0] // matrix.shape[0], matrix.shape[0]
    weight = torch.einsum('ij,gih->gjh', matrix, weight.reshape(groups, dims, -1))
    bias = bias.reshape(groups, dims) @ matrix + phi_s.mean.double()
    dtype = head[last + 'weight'].dtype
    return dict(head, **{last + 'weight': weight.reshape(groups * dims, -1).to(dtype),
                         last + 'bias': bias.reshape(-1).to(dtype)})


def _zero_summary_head(in_dims):
    """Smallest 'v2' MLP (fc1 -> final [LN, GELU, Linear]) whose output is zeros."""
    return {'fc1.weight': torch.zeros(1, in_dims), 'fc1.bias': torch.zeros(1),
            'final.0.weight': torch.ones(1), 'final.0.bias': torch.zeros(1),
            'final.2.weight': torch.zeros(1, 1), 'final.2.bias': torch.zeros(1)}


def _derived_eradio_buffers(model):
    """The official E-RADIO keeps its position-bias tables as persistent buffers
    (`radio/eradio_model.py` ``PosEmbMLPSwinv2D``); radio_mm derives them, so write them."""
    buffers = {}
    for name, module in model.backbone.named_modules():
        if hasattr(module, '_DERIVED') and hasattr(module, 'relative_position_index'):
            n = module.window_size**2
            # (1, 2w-1, 2w-1, 2) in the official layout
            buffers[f'{name}.relative_coords_table'] = module.relative_coords_table.reshape(
                1, 2 * module.window_size - 1, 2 * module.window_size - 1, 2)
            buffers[f'{name}.relative_position_index'] = module.relative_position_index
            buffers[f'{name}.relative_bias'] = torch.zeros(1, module.num_heads, n, n)
    return buffers
