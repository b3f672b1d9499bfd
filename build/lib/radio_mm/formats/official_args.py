"""What a release's ``args`` may say, and what radio_mm does with each field.

The official loader (NVlabs/RADIO commit c0f3701: `hubconf.py::radio_model`,
`radio/radio_model.py::create_model_from_args`, `radio/enable_cpe_support.py`,
`radio/adaptor_generic.py`) reads a closed set of ``args`` fields; every one of them is listed
here as read by radio_mm, ignored with the reason it cannot change the loaded model, or
refused for values radio_mm does not build. ``args.model_kwargs`` goes whole into timm's
``create_model``, so each of its keys changes the student: one not listed here is an error,
never ignored (``scaled_ln`` used to load and compute something else).

The other fields of ``args`` are the training run's record (the release's ``args`` is the
training script's Namespace); the official loader never reads them, so they cannot change
its model either.
"""
import torch

# Fields of `args` the official loader reads -> how radio_mm treats them.
READ_ARGS = {
    'model': 'the student: official_checkpoint.backbone_cfg_from_checkpoint',
    'model_kwargs': 'checked key by key (VIT_MODEL_KWARGS)',
    'teachers': 'adaptors, summary tokens (official_checkpoint.summary_slots)',
    'cls_token_per_teacher': 'number of summary tokens',
    'register_multiple': 'registers, read from the weights (cls_token.token rows)',
    'cpe_num_registers': 'registers, read from the weights (cls_token.token rows)',
    'cpe_max_size': 'position grid, read from the weights (patch_generator.pos_embed)',
    'model_norm': 'final norm (RADIOViT final_norm)',
    'mlp_version': 'summary (and default feature) head version, checked against the weights',
    'spatial_mlp_version': "feature head version ('attn': AttnFDHead), checked against the "
                           'weights',
    'dtype': 'the dtype radio_model() runs in (overridable)',
}
IGNORED_ARGS = {
    'pretrained': 'initial weights only; the release weights replace them',
    'initial_checkpoint': 'initial weights only; the release weights replace them',
    'num_classes': "timm's classifier head, replaced by Identity",
    'gp': "timm's global pooling, which forward_features does not run",
    'drop': 'dropout, inactive in eval mode',
    'drop_path': 'stochastic depth, inactive in eval mode',
    'drop_block': 'drop block, inactive in eval mode',
    'torchscript': 'scripting switch; the same maths',
    'bn_momentum': 'batch-norm running-stat momentum, used in training only',
    'spectral_reparam': 'hubconf switches it off for the EMA weights (plain weights); raw '
                        'weights saved with it are refused',
    'spectral_heads': 'as spectral_reparam, for the heads',
    'damp': 'as spectral_reparam (hubconf sets it to None for the EMA weights)',
}
# Read with values radio_mm refuses: field -> (allowed values, why).
CHECKED_ARGS = {
    'in_chans': ((None, 3), 'RADIO students take RGB images'),
    'bn_eps': ((None, ), 'E-RADIO batch norms are built with the default eps'),
}

# `args.model_kwargs` of ViT students (timm `VisionTransformer` kwargs and the NVlabs/RADIO
# `radio/extra_timm_models.py` extras) -> how radio_mm treats them.
VIT_MODEL_KWARGS = {
    'embed_dim': 'read from the weights',
    'depth': 'read from the weights',
    'num_heads': 'used (the weights cannot show it)',
    'mlp_ratio': 'read from the weights',
    'patch_size': 'read from the weights',
    'qkv_bias': 'read from the weights',
    'init_values': 'LayerScale, read from the weights',
    'scaled_ln': 'RADIOViT scaled_ln (`radio/extra_timm_models.py` ScaledLayerNorm)',
    'weight_init': 'initialisation only (`create_model_from_args` pops it)',
    'img_size': "timm's position embedding size; CPE replaces it (pos_embed from the weights)",
    'reg_tokens': "timm's register tokens; CPE replaces them (its own cls_token rows)",
    'no_embed_class': "timm's token/position layout; CPE replaces it",
    'class_token': "timm's class token; CPE replaces it",
    'dynamic_img_size': "timm's position resampling; CPE replaces it",
    'global_pool': "timm's pooling, which forward_features does not run",
    'num_classes': "timm's classifier head, replaced by Identity",
    'drop_rate': 'dropout, inactive in eval mode',
    'pos_drop_rate': 'dropout, inactive in eval mode',
    'proj_drop_rate': 'dropout, inactive in eval mode',
    'attn_drop_rate': 'dropout, inactive in eval mode',
    'drop_path_rate': 'stochastic depth, inactive in eval mode',
}

# Students NVlabs/RADIO can build that radio_mm refuses, by name, with what they need.
REFUSED_STUDENTS = {
    'vit_large_dyt_patch16_224': 'DyT (tanh) in place of the blocks\' LayerNorms '
                                 '(`radio/extra_timm_models.py` DyT)',
    'dinov2_': 'the DINOv2 wrapper student (`radio/dinov2_arch.py`, DinoWrapper)',
    'hybrid_': 'the ConvNeXt-ViT hybrid student (`radio/dual_hybrid_vit.py`)',
    'radio1d': 'the 1D-token student (`radio/radio1d.py`)',
}


def check_release_args(args, model_kwargs=None, ema=True):
    """Raise for any ``args`` value radio_mm does not build (module docstring).

    ``model_kwargs``: the student's kwargs when it is a ViT (E-RADIO checks its own).
    ``ema``: the weights are the release's ``state_dict_ema``.
    """
    if not ema:
        for field in ('spectral_reparam', 'spectral_heads', 'damp'):
            if getattr(args, field, None):
                raise ValueError(f'release args.{field}={getattr(args, field)!r} with raw '
                                 'weights: radio_mm reads plain weights only; take the EMA '
                                 'weights (use_ema=True), which hubconf also uses plain')
    for field, (allowed, why) in CHECKED_ARGS.items():
        value = getattr(args, field, None)
        if value not in allowed:
            raise ValueError(f'release args.{field}={value!r} is not supported ({why}); '
                             f'radio_mm builds {field} in {allowed}')
    input_size = getattr(args, 'input_size', None)
    if input_size is not None and getattr(args, 'in_chans', None) is None and \
            input_size[0] != 3:
        raise ValueError(f'release args.input_size={input_size!r}: RADIO students take RGB')
    refused = next((why for prefix, why in REFUSED_STUDENTS.items()
                    if args.model.startswith(prefix)), None)
    if refused:
        raise ValueError(f'release student {args.model!r} is not supported by radio_mm: '
                         f'{refused}. Please report this release.')
    unknown = sorted(set(model_kwargs or {}) - set(VIT_MODEL_KWARGS))
    if model_kwargs is not None and unknown:
        raise ValueError(
            f'release args.model_kwargs {unknown} of {args.model!r}: radio_mm does not know '
            'what they change in the student, and would compute something else. Known: '
            f'{sorted(VIT_MODEL_KWARGS)}. Please report this release.')
    if model_kwargs and model_kwargs.get('scaled_ln') and \
            not args.model.startswith('vit_giant_patch16_224'):
        raise ValueError(f"model_kwargs scaled_ln=True: only 'vit_giant_patch16_224' takes it "
                         f'(`radio/extra_timm_models.py`), not {args.model!r}')


def release_dtype(args):
    """``args.dtype`` as a torch dtype (float32 when absent), as hubconf casts the model."""
    dtype = getattr(args, 'dtype', None)
    if dtype is None:
        return torch.float32
    if isinstance(dtype, str):
        dtype = getattr(torch, dtype.replace('torch.', ''), None)
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ValueError(f'release args.dtype={getattr(args, "dtype")!r} is not a floating '
                         'torch dtype')
    return dtype
