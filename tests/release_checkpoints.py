"""Tiny release-layout checkpoints of every RADIO family, and an independent reference.

Each family is the real student architecture (a timm ``VisionTransformer`` with the options
of its release, NVlabs/RADIO `radio/extra_timm_models.py`, at a tiny width/depth through
``args.model_kwargs``), saved the way the releases are: ``args`` Namespace as the official
`hubconf.radio_model` reads it, ``state_dict`` with ``base_model.*`` (CPE ``patch_generator``
instead of timm's patch embedding, `radio/enable_cpe_support.py`), ``input_conditioner.*``,
``_heads.<i>`` / ``_feature_projections.<i>`` ('v1' or 'v2' MLPs, `radio/adaptor_mlp.py`) and,
where the family has them, ``_feature_normalizer.*`` / ``_intermediate_feature_normalizer.*``.

:func:`reference_forward` computes what the official model returns with plain tensor maths
and the timm blocks, without radio_mm.
"""
from argparse import Namespace

import timm
import torch
import torch.nn.functional as F
from timm.layers import Mlp
from timm.models.vision_transformer import VisionTransformer
from torch import nn

WIDTH, DEPTH, HEADS, GRID = 32, 3, 2, 4

# Students NVlabs/RADIO registers itself (`radio/extra_timm_models.py`); their LayerScale is
# saved as `grandma` (`_patch_layer_scale`). Other names are timm's own models.
OFFICIAL_STUDENTS = {
    'vit_huge_patch16_224': dict(patch_size=16),
    'vit_huge_patch16_224_mlpnorm': dict(patch_size=16, mlp_norm=True),
    'vit_giant_patch16_224': dict(patch_size=16),
    'vit_so400m_patch16_224': dict(patch_size=16, mlp_ratio=4304 / 1152),
    # 4304 rounded up to a multiple of 32.
    'vit_so400m_v2_patch16_224': dict(patch_size=16, mlp_ratio=4320 / 1152),
    'vit_base_patch16_v2_224': dict(patch_size=16, init_values=1e-5, reg_tokens=4,
                                    no_embed_class=True),
    'vit_large_patch16_v2_224': dict(patch_size=16, init_values=1e-5, reg_tokens=4,
                                     no_embed_class=True),
}

TEACHERS_V2 = [dict(name='clip', type='open_clip_like', use_summary=True),
               dict(name='dino_v2', type='dino', use_summary=True),
               dict(name='sam', type='sam', use_summary=False, fd_upsample_factor=2)]
TEACHERS_V1 = [dict(name='clip', type='clip_like'), dict(name='dino_v2', type='dino')]
# C-RADIOv4: attention feature heads (`radio/adaptor_attn.py`) picked per teacher by
# `spatial_mlp_version` (`radio/adaptor_generic.py`); summary heads stay 'v2' MLPs.
TEACHERS_V4 = [dict(name='siglip2-g', type='siglip2', use_summary=True,
                    spatial_mlp_version='attn'),
               dict(name='dino_v3', type='dino', use_summary=True, spatial_mlp_version='attn'),
               dict(name='sam3', type='sam', use_summary=False, fd_upsample_factor=2,
                    spatial_mlp_version='attn')]
ATTN_HEADS = 16  # `radio/adaptor_attn.py` AttnFDHead: Block(input_size, num_heads=16, ...)

# Release name -> (student, family options). `normalizers`: the release carries
# `_feature_normalizer` / `_intermediate_feature_normalizer`.
FAMILIES = {
    'radio_v1': dict(model='vit_huge_patch14_224', mlp_version='v1', teachers=TEACHERS_V1),
    'radio_v2.1': dict(model='vit_huge_patch16_224', register_multiple=8),
    'radio_v2.5-b': dict(model='vit_base_patch16_224', register_multiple=8, normalizers=True),
    'radio_v2.5-h-norm': dict(model='vit_huge_patch16_224', register_multiple=8,
                              model_norm=True, normalizers=True),
    'radio_v2.5-g': dict(model='vit_giant_patch14_224', register_multiple=8),
    'c-radio_v2-g': dict(model='vit_giant_patch16_224', register_multiple=8,
                         model_kwargs=dict(init_values=1e-5)),
    'c-radio_v3-b': dict(model='vit_base_patch16_v2_224', register_multiple=8,
                         normalizers=True),
    'c-radio_v3-l': dict(model='vit_large_patch16_v2_224', register_multiple=8),
    'c-radio_v4-so400m': dict(model='vit_so400m_patch16_224', register_multiple=8,
                              normalizers=True, model_kwargs=dict(embed_dim=48, num_heads=3)),
    'c-radio_v4-h': dict(model='vit_huge_patch16_224', register_multiple=8, normalizers=True,
                         teachers=TEACHERS_V4),
    'mlpnorm-h': dict(model='vit_huge_patch16_224_mlpnorm', register_multiple=8),
    'scaled-ln-g': dict(model='vit_giant_patch16_224', register_multiple=8,
                        model_kwargs=dict(scaled_ln=True)),
    'c-radio_v4-so400m-v2': dict(model='vit_so400m_v2_patch16_224', register_multiple=8,
                                 model_kwargs=dict(embed_dim=48, num_heads=3)),
    # A timm-registered student with LayerScale keeps timm's `gamma` name.
    'layerscale-gamma': dict(model='vit_small_patch16_224', register_multiple=4,
                             model_kwargs=dict(init_values=1e-5)),
}


class _ScaledNorm(nn.Module):
    """LayerNorm output times 1/sqrt(depth) (`radio/extra_timm_models.py` ScaledLayerNorm)."""

    def __init__(self, norm, depth):
        super().__init__()
        self.norm, self.scale = norm, depth**-0.5

    def forward(self, x):
        return self.norm(x) * self.scale


def build_student(model, model_kwargs):
    """The timm ViT ``args.model`` names, at the size ``model_kwargs`` asks for."""
    if model in OFFICIAL_STUDENTS:
        options = dict(OFFICIAL_STUDENTS[model])
        mlp_norm = options.pop('mlp_norm', False)
        model_kwargs = dict(model_kwargs)
        scaled_ln = model_kwargs.pop('scaled_ln', False)
        student = VisionTransformer(num_classes=0, **dict(options, **model_kwargs))
        for module in student.modules():
            if mlp_norm and isinstance(module, Mlp):  # as `vit_huge_patch16_224_mlpnorm`
                module.norm = nn.LayerNorm(module.fc1.out_features)
        for depth, block in enumerate(student.blocks, start=1):
            if scaled_ln:
                block.norm1 = _ScaledNorm(block.norm1, depth)
                block.norm2 = _ScaledNorm(block.norm2, depth)
        return student
    return timm.create_model(model, pretrained=False, num_classes=0, **model_kwargs)


def _randomize(module, generator):
    """Every weight random (LayerNorm/LayerScale too), so that each one matters."""
    with torch.no_grad():
        for name, param in module.named_parameters():
            scale = 0.3 if param.dim() < 2 else param.shape[-1]**-0.5
            base = 1.0 if name.endswith(('norm1.weight', 'norm2.weight', 'norm.weight')) else 0
            param.copy_(base + scale * torch.randn(param.shape, generator=generator))


def _mlp_state(version, in_dims, hidden, out_dims, generator):
    """Random weights of a released adaptor MLP in its key layout."""
    def lin(prefix, i, o):
        return {f'{prefix}weight': torch.randn(o, i, generator=generator) * i**-0.5,
                f'{prefix}bias': torch.randn(o, generator=generator) * 0.1}

    def ln(prefix, d):
        return {f'{prefix}weight': 1 + 0.2 * torch.randn(d, generator=generator),
                f'{prefix}bias': 0.1 * torch.randn(d, generator=generator)}

    if version == 'v1':
        return {**lin('fc1.', in_dims, hidden), **ln('norm.', hidden),
                **lin('fc2.', hidden, out_dims)}
    if version == 'attn':  # two timm Blocks (no qkv bias, LayerScale, MLP x4), then MLP2
        state = {}
        for b in range(2):
            p = f'blocks.{b}.'
            state.update({**ln(p + 'norm1.', in_dims), **ln(p + 'norm2.', in_dims),
                          **lin(p + 'attn.proj.', in_dims, in_dims),
                          **lin(p + 'mlp.fc1.', in_dims, 4 * in_dims),
                          **lin(p + 'mlp.fc2.', 4 * in_dims, in_dims),
                          p + 'attn.qkv.weight': torch.randn(3 * in_dims, in_dims,
                                                             generator=generator) * in_dims**-0.5,
                          p + 'ls1.gamma': 0.5 + torch.rand(in_dims, generator=generator),
                          p + 'ls2.gamma': 0.5 + torch.rand(in_dims, generator=generator)})
        mlp = {**lin('fc1.', in_dims, hidden), **ln('final.0.', hidden),
               **lin('final.2.', hidden, out_dims)}
        return dict(state, **{'mlp.' + k: v for k, v in mlp.items()})
    return {**lin('fc1.', in_dims, hidden), **ln('blocks.0.0.', hidden),
            **lin('blocks.0.2.', hidden, hidden), **ln('final.0.', hidden),
            **lin('final.2.', hidden, out_dims)}


def build_release(family, seed=0):
    """-> (release checkpoint dict, timm student holding the same block weights)."""
    spec = FAMILIES[family]
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model_kwargs = dict(dict(embed_dim=WIDTH, depth=DEPTH, num_heads=HEADS),
                        **spec.get('model_kwargs', {}))
    student = build_student(spec['model'], model_kwargs).eval()
    _randomize(student, generator)
    width = student.embed_dim
    patch = student.patch_embed.patch_size[0]
    teachers = spec.get('teachers', TEACHERS_V2)
    num_summary = len({t['name'] for t in teachers})
    multiple = spec.get('register_multiple')
    num_tokens = num_summary + (multiple - num_summary % multiple if multiple else 0)

    state = {}
    layer_scale_name = 'grandma' if spec['model'] in OFFICIAL_STUDENTS else 'gamma'
    for key, value in student.state_dict().items():
        # A scaled norm saves as the LayerNorm it wraps (`ScaledLayerNorm` subclasses it).
        key = key.replace('norm1.norm.', 'norm1.').replace('norm2.norm.', 'norm2.')
        if key.startswith(('patch_embed.', 'cls_token', 'pos_embed')):
            continue  # replaced by the CPE patch generator
        if key.startswith('norm.') and not spec.get('model_norm'):
            continue  # `create_model_from_args` makes it an Identity
        key = key.replace('.gamma', f'.{layer_scale_name}')
        state[f'base_model.{key}'] = value
    state['base_model.patch_generator.embedder.weight'] = torch.randn(
        width, 3 * patch**2, generator=generator) * (3 * patch**2)**-0.5
    state['base_model.patch_generator.pos_embed'] = torch.randn(
        1, GRID**2, width, generator=generator) * 0.5
    state['base_model.patch_generator.cls_token.token'] = torch.randn(
        num_tokens, width, generator=generator)
    state['input_conditioner.norm_mean'] = torch.tensor([0.45, 0.46, 0.40]).view(3, 1, 1)
    state['input_conditioner.norm_std'] = torch.tensor([0.27, 0.26, 0.28]).view(3, 1, 1)
    version = spec.get('mlp_version', 'v2')
    for i, teacher in enumerate(teachers):
        out_dims = 24 + 4 * i
        up = teacher.get('fd_upsample_factor') or 1
        # Every teacher has a summary head (hubconf builds one per adaptor), even when its
        # token is not part of the backbone summary (use_summary=False).
        for key, value in _mlp_state(version, width, 40, out_dims, generator).items():
            state[f'_heads.{i}.{key}'] = value
        feature_version = teacher.get('spatial_mlp_version', version)
        feat_out = out_dims * (up**2 if feature_version != 'v1' else 1)
        for key, value in _mlp_state(feature_version, width, 40, feat_out, generator).items():
            state[f'_feature_projections.{i}.{key}'] = value
    if spec.get('normalizers'):
        q, _ = torch.linalg.qr(torch.randn(width, width, generator=generator))
        state['_feature_normalizer.mean'] = torch.randn(width, generator=generator)
        state['_feature_normalizer.tx'] = q * 2
        layers = len(student.blocks)
        state['_intermediate_feature_normalizer.alphas'] = 0.5 + torch.rand(
            layers, generator=generator)
        state['_intermediate_feature_normalizer.means'] = torch.randn(
            layers, width, generator=generator)
        state['_intermediate_feature_normalizer.rotation'] = torch.linalg.qr(
            torch.randn(layers, width, width, generator=generator))[0]

    args = Namespace(
        model=spec['model'], model_kwargs=model_kwargs, teachers=teachers,
        cpe_max_size=GRID * patch, cls_token_per_teacher=True, register_multiple=multiple,
        model_norm=spec.get('model_norm', False), mlp_version=version,
        # What `radio_model.create_model_from_args` reads besides the above.
        in_chans=None, input_size=None, pretrained=False, num_classes=0, drop=0.0,
        drop_path=None, drop_block=None, gp=None, bn_momentum=None, bn_eps=None,
        torchscript=False, initial_checkpoint=None, spectral_reparam=False)
    return dict(args=args, state_dict=state), student


# -- reference maths -------------------------------------------------------------------------
def _ln(x, state, prefix):
    return F.layer_norm(x, x.shape[-1:], state[prefix + 'weight'], state[prefix + 'bias'])


def _linear(x, state, prefix):
    return F.linear(x, state[prefix + 'weight'], state[prefix + 'bias'])


def reference_block(state, prefix, x, num_heads):
    """A timm ViT ``Block`` written out: x + ls1 * attn(norm1 x), x + ls2 * mlp(norm2 x)."""
    b, n, c = x.shape
    qkv = F.linear(_ln(x, state, prefix + 'norm1.'), state[prefix + 'attn.qkv.weight'])
    q, k, v = qkv.view(b, n, 3, num_heads, c // num_heads).permute(2, 0, 3, 1, 4)
    weights = torch.softmax(q @ k.transpose(-2, -1) * (c // num_heads)**-0.5, dim=-1)
    attn = (weights @ v).transpose(1, 2).reshape(b, n, c)
    x = x + state[prefix + 'ls1.gamma'] * _linear(attn, state, prefix + 'attn.proj.')
    hidden = F.gelu(_linear(_ln(x, state, prefix + 'norm2.'), state, prefix + 'mlp.fc1.'))
    return x + state[prefix + 'ls2.gamma'] * _linear(hidden, state, prefix + 'mlp.fc2.')


def reference_mlp(state, x):
    """A released 'v1', 'v2' or 'attn' adaptor head written out (radio/adaptor_mlp.py,
    radio/adaptor_attn.py)."""
    if 'mlp.fc1.weight' in state:
        for b in range(2):
            x = reference_block(state, f'blocks.{b}.', x, ATTN_HEADS)
        return reference_mlp({k[4:]: v for k, v in state.items() if k.startswith('mlp.')}, x)
    if 'fc2.weight' in state:
        return _linear(F.relu(_ln(_linear(x, state, 'fc1.'), state, 'norm.')), state, 'fc2.')
    x = _linear(x, state, 'fc1.')
    if 'blocks.0.0.weight' in state:
        x = x + _linear(F.gelu(_ln(x, state, 'blocks.0.0.')), state, 'blocks.0.2.')
    return _linear(F.gelu(_ln(x, state, 'final.0.')), state, 'final.2.')


def reference_tokens(release, student, images):
    """[0, 1] images of the CPE grid's size -> tokens after each block (before final norm).

    Conditioning, bias-free patch linear over (c, y, x), position grid, summary+register
    tokens, then the timm blocks.
    """
    state = release['state_dict']
    x = (images - state['input_conditioner.norm_mean']) / state['input_conditioner.norm_std']
    patch = int((state['base_model.patch_generator.embedder.weight'].shape[1] / 3)**0.5)
    assert images.shape[-1] == images.shape[-2] == GRID * patch
    patches = F.unfold(x, patch, stride=patch).transpose(1, 2)  # (B, N, c*py*px)
    # The conditioner's output is cast to the student's dtype (`radio/input_conditioner.py`).
    patches = patches.to(state['base_model.patch_generator.embedder.weight'].dtype)
    tokens = patches @ state['base_model.patch_generator.embedder.weight'].T + \
        state['base_model.patch_generator.pos_embed']
    prefix = state['base_model.patch_generator.cls_token.token'].expand(len(images), -1, -1)
    tokens = torch.cat([prefix, tokens], dim=1)
    outputs = []
    for block in student.blocks:
        tokens = block(tokens)
        outputs.append(tokens)
    return outputs


def summary_idxs(args):
    """Summary tokens of teachers that have a summary, first of each name (hubconf)."""
    first = {}
    for i, teacher in enumerate(args.teachers):
        if teacher.get('use_summary', True):
            first.setdefault(teacher['name'], i)
    return sorted(first.values())


def reference_forward(release, student, images, adaptor_names=()):
    """What the official RADIOModel returns: {'backbone': (summary, features), name: ...}."""
    args, state = release['args'], release['state_dict']
    tokens = reference_tokens(release, student, images)[-1]
    if args.model_norm:
        tokens = _ln(tokens, state, 'base_model.norm.')
    num_prefix = state['base_model.patch_generator.cls_token.token'].shape[0]
    summary, features = tokens[:, :num_prefix], tokens[:, num_prefix:]
    if '_feature_normalizer.mean' in state:
        features = (features - state['_feature_normalizer.mean']) @ \
            state['_feature_normalizer.tx'].T
    outputs = dict(backbone=(summary[:, summary_idxs(args)].flatten(1), features))
    for name in adaptor_names:
        i = next(i for i, t in enumerate(args.teachers) if t['name'] == name)
        head = {k[len(f'_heads.{i}.'):]: v for k, v in state.items()
                if k.startswith(f'_heads.{i}.')}
        proj = {k[len(f'_feature_projections.{i}.'):]: v for k, v in state.items()
                if k.startswith(f'_feature_projections.{i}.')}
        feats = reference_mlp(proj, features)
        up = args.teachers[i].get('fd_upsample_factor') or 1
        if up > 1 and 'fc2.weight' not in proj:  # pixel shuffle, channel order (u1, u2, c)
            b, _, c = feats.shape
            feats = feats.view(b, GRID, GRID, up, up, c // up**2).permute(0, 1, 3, 2, 4, 5)
            feats = feats.reshape(b, -1, c // up**2)
        outputs[name] = (reference_mlp(head, summary[:, i]) if head else None, feats)
    return outputs
