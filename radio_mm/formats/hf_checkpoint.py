"""Hugging Face RADIO directories, both ways: read them into radio_mm and write them.

Two layouts of a directory with ``config.json`` + ``*.safetensors`` hold a RADIO student:

* native ``transformers`` (``model_type='radio'``, ``transformers/models/radio/``,
  transformers>=5.x): :class:`transformers.RadioConfig` fields (``hidden_size``,
  ``num_cls_tokens``, ``num_registers``, ``summary_idxs``, ``norm_mean``...) and the weights
  of ``RadioModel`` (``embeddings.patch_projection``, ``encoder.layer.<i>.attention.q_proj``
  ...). ``AutoModel.from_pretrained(dir)`` loads it without remote code.
* ``trust_remote_code`` (NVIDIA's HF repos such as ``nvidia/C-RADIOv4-H``; NVlabs/RADIO
  `radio/hf_model.py` and `hf_hub.py`, commit c0f3701): ``config.json`` keeps the release's
  ``args`` (with ``dtype`` as a string), ``adaptor_names`` and ``adaptor_configs``; the
  weights are the hub model's state dict under ``radio_model.`` (``radio_model.model.*`` the
  student, ``radio_model.adaptors.<name>.{head_mlp,feat_mlp}.*``,
  ``radio_model.feature_normalizer.*``...). It is mapped back onto the release layout and read
  by :mod:`.official_checkpoint`, so it loads exactly as the ``.pth.tar`` would.

Safetensors are read with ``safetensors.torch.load_file`` (no pickle). Writing
(:func:`hf_export`) produces the native layout; what ``RadioModel`` has no place for but that
leaves the backbone outputs unchanged (adaptor heads, the intermediate-feature normalizer) is
written beside it in :data:`EXTRAS_FILE`, with the radio_mm model config under
:data:`META_KEY` in ``config.json`` (transformers keeps unknown config keys), so
``radio_model(dir)`` rebuilds the whole student. What would change the backbone outputs
(E-RADIO, a final norm, LayerNorm inside the MLP, the final-feature normalizer, ViTDet
windows) is refused.
"""
import argparse
import json
import os.path as osp
import re

import torch
from mmengine.logging import print_log

from radio_mm.models.backbones.radio_vit import RADIOViT
from radio_mm.models.input_conditioner import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD

from .radio_checkpoint import RADIOCheckpoint, meta_backbone, read_radio_checkpoint

CONFIG_FILE = 'config.json'
WEIGHTS_FILE = 'model.safetensors'
WEIGHTS_INDEX_FILE = 'model.safetensors.index.json'
# radio_mm's parts the native RadioModel has no place for (adaptors.*, intermediate_normalizer.*).
EXTRAS_FILE = 'radio_mm_extras.safetensors'
# config.json key holding the RADIOModel config of an export.
META_KEY = 'radio_mm_model'
_EXTRA_PREFIXES = ('adaptors.', 'intermediate_normalizer.')
# remote-code key prefix -> release key prefix (hubconf's names).
_REMOTE_CODE_PREFIXES = (
    ('radio_model.model.', 'base_model.'),
    ('radio_model.input_conditioner.', 'input_conditioner.'),
    ('radio_model.feature_normalizer.', '_feature_normalizer.'),
    ('radio_model.inter_feature_normalizer.', '_intermediate_feature_normalizer.'),
)
_REMOTE_CODE_ADAPTOR = re.compile(r'radio_model\.adaptors\.(?P<name>[^.]+)\.'
                                  r'(?P<mlp>head_mlp|feat_mlp)\.(?P<rest>.+)')
# radio_mm RADIOModel key <-> native RadioModel key, outside the blocks and inside block i
# (``backbone.blocks.<i>.`` <-> ``encoder.layer.<i>.``); the qkv split is handled apart.
_NATIVE_KEYS = {
    'backbone.patch_generator.embedder.weight': 'embeddings.patch_projection.weight',
    'backbone.patch_generator.pos_embed': 'embeddings.position_embedding',
    'backbone.patch_generator.cls_token.token': 'embeddings.cls_register_token',
    'input_conditioner.norm_mean': 'input_conditioner.norm_mean',
    'input_conditioner.norm_std': 'input_conditioner.norm_std',
}
_NATIVE_BLOCK_KEYS = dict(
    **{f'{name}.{kind}': f'{name}.{kind}' for name in ('norm1', 'norm2', 'mlp.fc1', 'mlp.fc2')
       for kind in ('weight', 'bias')},
    **{'attn.proj.weight': 'attention.o_proj.weight', 'attn.proj.bias': 'attention.o_proj.bias',
       'ls1.gamma': 'layer_scale1.lambda1', 'ls2.gamma': 'layer_scale2.lambda1'})
# transformers' ``save_pretrained`` writes RadioModel back in the remote-code names
# (``conversion_mapping.py`` "radio", reversed), LayerScale as ``layer_scale<j>.lambda1``.
_SAVED_PREFIXES = (('radio_model.model.', 'backbone.'),
                   ('radio_model.input_conditioner.', 'input_conditioner.'))
_VIDEO_KEYS = ('embeddings.video_patch_projection.',
               'radio_model.model.patch_generator.video_embedder.')
_BLOCK = re.compile(r'backbone\.blocks\.(\d+)\.(.+)')
_NATIVE_BLOCK = re.compile(r'encoder\.layer\.(\d+)\.(.+)')
_QKV = re.compile(r'backbone\.blocks\.(\d+)\.attn\.qkv\.(weight|bias)')
_NATIVE_QKV = re.compile(r'encoder\.layer\.(\d+)\.attention\.([qkv])_proj\.(weight|bias)')


def is_hf_directory(path):
    return osp.isdir(path) and osp.isfile(osp.join(path, CONFIG_FILE))


def read_hf_checkpoint(directory):
    """A Hugging Face RADIO directory (either layout) -> :class:`RADIOCheckpoint`."""
    if not is_hf_directory(directory):
        raise FileNotFoundError(f'{directory!r} is not a Hugging Face model directory (no '
                                f'{CONFIG_FILE})')
    with open(osp.join(directory, CONFIG_FILE)) as f:
        config = json.load(f)
    if 'args' not in config and config.get('model_type') != 'radio':
        raise ValueError(
            f"{directory!r} is not a RADIO model: its {CONFIG_FILE} has model_type="
            f"{config.get('model_type')!r} and no 'args' (radio_mm reads native "
            "transformers RADIO directories, model_type='radio', and NVIDIA's "
            'trust_remote_code RADIO repos)')
    weights = load_safetensors_dir(directory)
    if 'args' in config:
        release = release_from_remote_code(config, weights, directory)
        student = read_radio_checkpoint(release, source=directory)
        student.kind = 'huggingface'
        if student.model_cfg.get('summary_idxs') is not None and 'summary_idxs' in release:
            student.model_cfg['summary_idxs'] = release['summary_idxs']
        return student
    return _read_native(config, weights, directory)


def load_safetensors_dir(directory):
    """Every tensor of ``model.safetensors`` (or the shards its index lists), no pickle."""
    from safetensors.torch import load_file
    index = osp.join(directory, WEIGHTS_INDEX_FILE)
    if osp.isfile(index):
        with open(index) as f:
            files = sorted(set(json.load(f)['weight_map'].values()))
    elif osp.isfile(osp.join(directory, WEIGHTS_FILE)):
        files = [WEIGHTS_FILE]
    else:
        raise FileNotFoundError(f'{directory!r} has no {WEIGHTS_FILE} nor {WEIGHTS_INDEX_FILE} '
                                '(radio_mm reads safetensors only, never pickled .bin files)')
    weights = {}
    for name in files:
        weights.update(load_file(osp.join(directory, name)))
    return weights


def release_from_remote_code(config, weights, source='config'):
    """trust_remote_code ``config.json`` + weights -> the release dict (``args`` and a
    ``state_dict`` in ``base_model.*`` / ``_heads.<name>.*``... keys) hubconf reads.

    The stored ``radio_model.summary_idxs`` buffer replaces the one computed from ``args``
    (`radio/hf_model.py` counts duplicate teacher names, hubconf does not).
    """
    args = dict(config['args'])
    if isinstance(args.get('dtype'), str):
        args['dtype'] = getattr(torch, args['dtype'])
    state_dict, unknown = {}, []
    for key, value in weights.items():
        match = _REMOTE_CODE_ADAPTOR.fullmatch(key)
        if match:
            kind = '_heads' if match['mlp'] == 'head_mlp' else '_feature_projections'
            state_dict[f"{kind}.{match['name']}.{match['rest']}"] = value
            continue
        for prefix, release_prefix in _REMOTE_CODE_PREFIXES:
            if key.startswith(prefix):
                state_dict[release_prefix + key[len(prefix):]] = value
                break
        else:
            if key != 'radio_model.summary_idxs':
                unknown.append(key)
    if unknown:
        raise KeyError(f'{source!r}: keys outside the RADIO remote-code layout: {unknown[:8]} '
                       f'({len(unknown)} in all; known: radio_model.'
                       '{model,input_conditioner,adaptors,feature_normalizer,'
                       'inter_feature_normalizer,summary_idxs}.*)')
    release = dict(args=argparse.Namespace(**args), state_dict=state_dict)
    if 'radio_model.summary_idxs' in weights:
        release['summary_idxs'] = weights['radio_model.summary_idxs'].tolist()
    return release


def _read_native(config, weights, source):
    state_dict, skipped = {}, []
    qkv = {}
    for key, value in weights.items():
        match = _NATIVE_QKV.fullmatch(key)
        if match:
            qkv.setdefault((match[1], match[3]), {})[match[2]] = value
            continue
        ours = _rename(key, reverse=True) or _from_saved_layout(key)
        if ours is not None:
            state_dict[ours] = value
        elif key.startswith(_VIDEO_KEYS) or key in ('summary_idxs', 'radio_model.summary_idxs'):
            skipped.append(key)
        else:
            raise KeyError(f'{source!r}: key {key!r} is not part of a transformers RadioModel '
                           'that radio_mm understands')
    for (block, kind), parts in qkv.items():
        state_dict[f'backbone.blocks.{block}.attn.qkv.{kind}'] = torch.cat(
            [parts['q'], parts['k'], parts['v']])
    video = [k for k in skipped if k.startswith(_VIDEO_KEYS)]
    if video:
        print_log(f'{source}: skipped {len(video)} video patch projection weights (radio_mm '
                  'students take images only)', logger='current')
    model_cfg = config.get(META_KEY)
    if model_cfg is None:
        model_cfg = _model_cfg_from_native(config, state_dict, source)
    else:  # a radio_mm export: its adaptors and intermediate normalizer lie beside
        extras = osp.join(source, EXTRAS_FILE)
        if osp.isfile(extras):
            from safetensors.torch import load_file
            state_dict.update(load_file(extras))
    layer_scale = model_cfg['backbone'].get('init_values') is not None
    if not layer_scale:
        scales = {k: v for k, v in state_dict.items() if re.search(r'\.ls[12]\.gamma$', k)}
        if any(not torch.all(v == 1) for v in scales.values()):
            raise ValueError(f'{source!r}: LayerScale weights differ from 1 but the stored '
                             'radio_mm config has none')
        for key in scales:
            del state_dict[key]
    return RADIOCheckpoint('huggingface', model_cfg, state_dict, False, source)


def _model_cfg_from_native(config, state_dict, source):
    """The RADIOModel config of a native RadioConfig; what radio_mm cannot run is refused."""
    unsupported = {k: config.get(k) for k, ok in (('use_swiglu_ffn', False),
                                                  ('hidden_act', 'gelu'),
                                                  ('layer_norm_eps', 1e-6),
                                                  ('num_channels', 3))
                   if config.get(k, ok) != ok}
    if unsupported:
        raise ValueError(f'{source!r}: radio_mm has no RADIOViT for RadioConfig {unsupported}')
    scales = [v for k, v in state_dict.items() if k.endswith(('.ls1.gamma', '.ls2.gamma'))]
    layer_scale = any(not torch.all(v == 1) for v in scales)
    patch_size = config.get('patch_size', 16)
    num_cls = config.get('num_cls_tokens', 3)
    backbone = dict(
        type='RADIOViT',
        arch=dict(embed_dims=config['hidden_size'], num_layers=config['num_hidden_layers'],
                  num_heads=config['num_attention_heads'],
                  mlp_ratio=config.get('mlp_ratio', 4.0)),
        patch_size=patch_size,
        cpe_max_size=config.get('max_img_size', 2048) // patch_size * patch_size,
        num_summary_tokens=num_cls, num_registers=config.get('num_registers', 7),
        qkv_bias=config.get('qkv_bias', True),
        init_values=1e-5 if layer_scale else None)  # only switches LayerScale on
    return dict(type='RADIOModel', backbone=backbone, adaptors={},
                summary_idxs=list(config.get('summary_idxs') or [0, 1]),
                mean=tuple(config.get('norm_mean', OPENAI_CLIP_MEAN)),
                std=tuple(config.get('norm_std', OPENAI_CLIP_STD)))


def _rename(key, reverse=False):
    """radio_mm key -> native key (``reverse``: native -> radio_mm); None if unmapped."""
    table, block_table = _NATIVE_KEYS, _NATIVE_BLOCK_KEYS
    block, prefix = _BLOCK, 'encoder.layer'
    if reverse:
        table = {v: k for k, v in table.items()}
        block_table = {v: k for k, v in block_table.items()}
        block, prefix = _NATIVE_BLOCK, 'backbone.blocks'
    if key in table:
        return table[key]
    match = block.fullmatch(key)
    if match and match[2] in block_table:
        return f'{prefix}.{match[1]}.{block_table[match[2]]}'
    return None


def _from_saved_layout(key):
    """A key of a RadioModel directory written by transformers -> radio_mm key, or None."""
    for prefix, ours in _SAVED_PREFIXES:
        if key.startswith(prefix) and not key.startswith(_VIDEO_KEYS):
            return re.sub(r'\.layer_scale([12])\.lambda1$', r'.ls\1.gamma',
                          ours + key[len(prefix):])
    return None


def hf_export(student):
    """A read :class:`RADIOCheckpoint` -> (``config.json`` dict, native weights, extras).

    The config and weights are those of ``transformers.RadioModel``; ``extras`` (possibly
    empty) holds the adaptor heads and intermediate normalizer for :data:`EXTRAS_FILE`.

    Raises:
        ValueError: the student has a part that would change the backbone outputs of the
            native model (it names the part and the alternative).
    """
    student.require_config()
    cfg = student.model_cfg
    backbone_cfg = cfg['backbone']
    refusals = []
    if backbone_cfg['type'] != 'RADIOViT':
        refusals.append(f"a {backbone_cfg['type']} student (RadioModel is a ViT)")
    else:
        for key, why in (('final_norm', 'a final LayerNorm'),
                         ('mlp_norm', 'LayerNorm inside the MLP'),
                         ('window_size', 'ViTDet windowed attention')):
            if backbone_cfg.get(key):
                refusals.append(f'{why} ({key}={backbone_cfg[key]!r})')
    if cfg.get('feature_normalizer'):
        refusals.append('the final-feature normalizer (feature_normalizer=True)')
    if refusals:
        raise ValueError(
            f'{student.source!r} cannot be written as a transformers RadioModel, which has no '
            f"{'; no '.join(refusals)}: its outputs would differ. Use "
            'tools/model_converters/mm2radio.py (the official torch.hub layout) instead.')
    backbone = meta_backbone(backbone_cfg)
    arch = RADIOViT.arch_settings(backbone_cfg['arch'])
    hidden = backbone.hidden_architecture()
    config = dict(
        model_type='radio', architectures=['RadioModel'],
        hidden_size=backbone.embed_dims, num_hidden_layers=backbone.num_layers,
        num_attention_heads=hidden['num_heads'], mlp_ratio=arch['mlp_ratio'],
        hidden_act='gelu', layer_norm_eps=1e-6, qkv_bias=backbone_cfg.get('qkv_bias', True),
        layerscale_value=1.0, num_channels=3, patch_size=backbone.patch_size,
        max_img_size=backbone.patch_generator.grid_size * backbone.patch_size,
        num_cls_tokens=hidden['num_summary_tokens'], num_registers=hidden['num_registers'],
        summary_idxs=list(cfg.get('summary_idxs') or range(hidden['num_summary_tokens'])),
        norm_mean=list(cfg.get('mean', OPENAI_CLIP_MEAN)),
        norm_std=list(cfg.get('std', OPENAI_CLIP_STD)))
    weights, extras = {}, {}
    for key, value in student.state_dict.items():
        value = value.detach().float().contiguous().clone()
        if key.startswith(_EXTRA_PREFIXES):
            extras[key] = value
            continue
        qkv = _QKV.fullmatch(key)
        if qkv:
            for part, chunk in zip('qkv', value.chunk(3)):
                weights[f'encoder.layer.{qkv[1]}.attention.{part}_proj.{qkv[2]}'] = \
                    chunk.contiguous()
            continue
        theirs = _rename(key)
        if theirs is None:
            raise KeyError(f'{student.source!r}: no transformers RadioModel key for {key!r}')
        weights[theirs] = value
    for i in range(backbone.num_layers):  # written, so loading does not depend on init
        for j in (1, 2):
            weights.setdefault(f'encoder.layer.{i}.layer_scale{j}.lambda1',
                               torch.ones(backbone.embed_dims))
    weights['summary_idxs'] = torch.tensor(config['summary_idxs'], dtype=torch.long)
    config[META_KEY] = json.loads(json.dumps(cfg))
    return config, weights, extras


def save_hf_directory(student, out_dir):
    """Write :func:`hf_export` of ``student`` into ``out_dir``; returns the written paths."""
    import os

    from safetensors.torch import save_file
    config, weights, extras = hf_export(student)
    os.makedirs(out_dir, exist_ok=True)
    paths = [osp.join(out_dir, CONFIG_FILE), osp.join(out_dir, WEIGHTS_FILE)]
    with open(paths[0], 'w') as f:
        json.dump(config, f, indent=2)
    save_file(weights, paths[1], metadata=dict(format='pt'))
    if extras:
        paths.append(osp.join(out_dir, EXTRAS_FILE))
        save_file(extras, paths[-1], metadata=dict(format='pt'))
    return paths
