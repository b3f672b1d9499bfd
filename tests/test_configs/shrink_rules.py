"""The rules that shrink a shipped config into a CPU smoke run, one per toolbox
(:data:`RULES`, keyed by the config's ``default_scope``); see config_shrinker.py.
"""
import copy
import math
import os.path as osp
import re

from shrink_fixtures import (
    WDS_PER_SHARD,
    WDS_SHARDS,
    teacher_cache_fixture,
    tiny_backbone_checkpoint,
    tiny_open_clip_checkpoint,
    tiny_teacher_checkpoint,
    type_name,
)
from tiny_models import TINY_ERADIO_ARCH, tiny_vit_arch

ITERS = 4          # training iterations per config
SHRINK = 8         # image sides are divided by about this
BATCH = 4          # per-process batch; distillation partitions need one image each
WIDTH_DIV = 16     # every channel count of a downstream model is divided by this
CHANNEL_KEYS = ('in_channels', 'out_channels', 'channels', 'feat_channels', 'fc_out_channels',
                'conv_out_channels', 'in_dims', 'hidden_dims', 'out_dims', 'backbone_channel')
TINY_VIT = tiny_vit_arch()
# Attention windows of 2 tokens, subsampled 2x at stride 16: tiles of 64 px.
TINY_ERADIO = TINY_ERADIO_ARCH
SIZE_KEYS = ('scale', 'crop_size', 'size', 'stride', 'pad_size_divisor')
TINY_CLIP = dict(embed_dim=32, vision_cfg=dict(width=32, layers=1, head_width=16))
TINY_DINOV2 = dict(embed_dim=32, depth=1, num_heads=2)
TINY_SAM = dict(embed_dim=32, depth=2, num_heads=2, global_attn_indexes=(1, ), window_size=4)
# A timm trunk of an open_clip tower (SigLIP, SigLIP2), through OpenCLIPTeacher's trunk_kwargs
TINY_TIMM_TRUNK = dict(embed_dim=32, depth=1, num_heads=2)
# A Hiera of SAM 2's layout: four stages (pooling into stages 2-4), one global block
TINY_SAM2 = dict(trunk=dict(embed_dim=8, num_heads=1, stages=[1, 1, 2, 1], global_att_blocks=[3],
                            window_spec=[4, 4, 4, 2], window_pos_embed_bkg_spatial_size=[2, 2]),
                 neck=dict(d_model=16, backbone_channel_list=[64, 32, 16, 8],
                           position_encoding=dict(num_pos_feats=16)))


# -- sizes --------------------------------------------------------------------------------
def shrink_side(side, multiple=1):
    """A side divided by about SHRINK, still a multiple of ``multiple``; a side that was not
    a multiple stays as it is, so that the configs' own mistakes still fail."""
    if side % multiple:
        return side
    return max(1, math.ceil(side / multiple / SHRINK)) * multiple


def shrink_iteration(iteration, max_iters):
    """An iteration of a ``max_iters`` run moved to the same place in an ITERS run."""
    return min(ITERS, round(iteration * ITERS / max_iters))


# -- rules per part -----------------------------------------------------------------------
def shrink_teacher(cfg, folder):
    kind = type_name(cfg)
    cfg = copy.deepcopy(cfg)
    if kind == 'OpenCLIPTeacher':
        import open_clip
        vision = open_clip.get_model_config(cfg['model_name'])['vision_cfg']
        merged = dict(vision, **cfg.get('model_cfg', {}).get('vision_cfg', {}))
        if merged.get('timm_model_name'):  # e.g. vit_giantopt_patch16_siglip_384
            patch = int(re.search(r'patch(\d+)', merged['timm_model_name']).group(1))
            side = merged['image_size'] // patch * patch  # SigLIP SO400M/14: 384 -> 378
            cfg['trunk_kwargs'] = dict(TINY_TIMM_TRUNK, img_size=shrink_side(side, patch))
            return _with_tiny_checkpoint(cfg, folder)
        tiny = copy.deepcopy(TINY_CLIP)
        tiny['vision_cfg']['image_size'] = shrink_side(merged['image_size'],
                                                       merged['patch_size'])
        cfg['model_cfg'] = tiny
    elif kind == 'DINOv2Teacher':
        cfg['arch_kwargs'] = dict(TINY_DINOV2)
        cfg['input_size'] = shrink_side(cfg.get('input_size', 224), 14)
    elif kind == 'DINOv3Teacher':
        cfg['arch_kwargs'] = dict(TINY_DINOV2)
        cfg['input_size'] = shrink_side(cfg.get('input_size', 256), 16)
    elif kind == 'SAMTeacher':
        cfg['arch'] = dict(TINY_SAM)
        cfg['img_size'] = shrink_side(cfg.get('img_size', 1024), 16)
    elif kind == 'SAM2Teacher':
        cfg['encoder_overrides'] = copy.deepcopy(TINY_SAM2)
        cfg['image_size'] = shrink_side(cfg.get('image_size') or 1024, 32)
    elif kind == 'RADIOTeacher':
        # A release file becomes a tiny random RADIOModel with the adaptors the config reads
        # (the loading path itself is tests/test_models/test_teachers/test_radio_teacher.py).
        adaptors = {cfg.get('summary_from'), cfg.get('features_from', 'backbone')}
        cfg['model'] = dict(type='RADIOModel', backbone=dict(type='RADIOViT', arch=TINY_VIT),
                            adaptors={name: dict(in_dims=TINY_VIT['embed_dims'], feature_dims=32,
                                                 summary_dims=32, hidden_dims=32)
                                      for name in sorted(adaptors - {None, 'backbone'})})
        cfg['pretrained'] = None
        cfg['input_size'] = shrink_side(cfg.get('input_size', 512), 16)
    else:
        raise KeyError(f'no shrinking rule for teacher type {kind!r}')
    return _with_tiny_checkpoint(cfg, folder)


def _with_tiny_checkpoint(cfg, folder):
    if cfg.get('pretrained') is not None:
        cfg['pretrained'] = tiny_teacher_checkpoint(cfg, folder)
    return cfg


def student_multiple(backbone):
    return 32 if type_name(backbone) == 'ERADIO' else backbone.get('patch_size', 16)


def shrink_backbone(backbone, width_div=None):
    """Tiny arch of the same type; with ``width_div`` its width is the original's divided
    by it (so heads shrunk by the same rule still fit) and its depth reaches every
    ``out_indices`` entry."""
    from radio_mm.models.backbones.eradio import ARCH_SETTINGS as ERADIO_ARCHS
    from radio_mm.models.backbones.radio_vit import ARCH_SETTINGS as VIT_ARCHS
    arch = backbone.get('arch', 'l' if type_name(backbone) == 'ERADIO' else 'b')
    if type_name(backbone) == 'ERADIO':
        backbone['arch'] = copy.deepcopy(TINY_ERADIO)
        if width_div:
            neck = ERADIO_ARCHS[arch]['neck_channels']
            backbone['arch']['neck_channels'] = neck // width_div
    elif type_name(backbone) == 'RADIOViT':
        backbone['arch'] = dict(TINY_VIT)
        if backbone.get('window_size'):  # ViTDet windows, in tokens
            backbone['window_size'] = shrink_side(backbone['window_size'])
        if width_div:
            indices = [i for i in backbone.get('out_indices', (-1, )) if i >= 0]
            backbone['arch'].update(embed_dims=VIT_ARCHS[arch]['embed_dims'] // width_div,
                                    num_layers=max([2] + [i + 1 for i in indices]))
    else:
        raise KeyError(f"no shrinking rule for backbone type {backbone['type']!r}")


def _rewrite_ints(node, keys, fn):
    """Replace every int, or list/tuple of ints, stored under one of ``keys`` below ``node``
    by ``fn`` of it (elementwise for sequences, keeping their type)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in keys and isinstance(value, int):
                node[key] = fn(value)
            elif key in keys and isinstance(value, (list, tuple)) and all(
                    isinstance(v, int) for v in value):
                node[key] = type(value)(fn(v) for v in value)
            else:
                _rewrite_ints(value, keys, fn)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _rewrite_ints(value, keys, fn)


def shrink_channels(node):
    """Divide every channel count below ``node`` (heads, necks) by WIDTH_DIV."""
    _rewrite_ints(node, CHANNEL_KEYS, lambda c: max(1, c // WIDTH_DIV))


def shrink_sizes(node, multiple=1):
    """Image sides in pipelines, preprocessors and sliding windows divided by about SHRINK."""
    _rewrite_ints(node, SIZE_KEYS, lambda side: shrink_side(side, multiple))


def point_loaders_at(cfg, data_root, **dataset):
    """The loaders read ``data_root`` (and any ``dataset`` overrides), in-process."""
    old_root = None
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(name)
        if not loader:
            continue
        loader.update(num_workers=0, persistent_workers=False, batch_size=2)
        old_root = loader['dataset'].get('data_root', old_root)
        loader['dataset']['data_root'] = data_root
        loader['dataset'].update(copy.deepcopy(dataset))
    for name in ('val_evaluator', 'test_evaluator'):  # e.g. CocoMetric's ann_file
        for metric in _as_list(cfg.get(name)):
            for key, value in metric.items():
                if old_root and isinstance(value, str) and value.startswith(old_root):
                    metric[key] = osp.join(data_root, value[len(old_root):].lstrip('/'))


def _as_list(value):
    return value if isinstance(value, list) else [value] if value else []


def shrink_schedule(cfg):
    """ITERS iterations; schedulers, milestones and hook intervals moved along."""
    train_cfg = cfg.train_cfg
    max_iters = train_cfg['max_iters']
    train_cfg['max_iters'] = ITERS
    if 'val_interval' in train_cfg:
        train_cfg['val_interval'] = ITERS
    if train_cfg.get('dynamic_intervals'):
        train_cfg['dynamic_intervals'] = [(ITERS, ITERS)]
    for scheduler in cfg.get('param_scheduler') or []:
        if 'milestones' in scheduler:
            scheduler['milestones'] = [shrink_iteration(m, max_iters)
                                       for m in scheduler['milestones']]
        begin = shrink_iteration(scheduler.get('begin', 0), max_iters)
        scheduler['begin'] = begin
        if 'end' in scheduler:
            scheduler['end'] = max(begin + 1, shrink_iteration(scheduler['end'], max_iters))
    hooks = cfg.default_hooks
    hooks['logger']['interval'] = 1
    hooks['checkpoint']['interval'] = ITERS
    if 'log_processor' in cfg:
        cfg.log_processor['window_size'] = 1
    return max_iters


def on_this_device(cfg):
    """Mixed precision needs a GPU in mmengine: CPU runs take the plain wrapper."""
    import torch
    optim_wrapper = cfg.get('optim_wrapper', {})
    if not torch.cuda.is_available() and optim_wrapper.get('type') == 'AmpOptimWrapper':
        optim_wrapper['type'] = 'OptimWrapper'
        for key in ('dtype', 'loss_scale'):
            optim_wrapper.pop(key, None)


def shrink_distill(cfg, fixtures, folder):
    model = cfg.model
    max_iters = shrink_schedule(cfg)
    model['teachers'] = [shrink_teacher(t, folder) for t in model['teachers']]
    backbone = model['student']['backbone']
    multiple = student_multiple(backbone)
    shrink_backbone(backbone)
    model.setdefault('adaptor_cfg', {})['hidden_dims'] = 32
    for partition in model.get('partitions') or []:
        partition['resolutions'] = [tuple(shrink_side(s, multiple) for s in r)
                                    for r in partition['resolutions']]
        partition['milestones'] = [
            (max(1, shrink_iteration(i, max_iters)),
             [tuple(shrink_side(s, multiple) for s in r) for r in rs])
            for i, rs in partition.get('milestones', [])]
    loader = cfg.train_dataloader
    loader['batch_size'] = BATCH
    for transform in loader['dataset'].get('pipeline', []):
        if 'RandomResizedCrop' in transform['type']:
            transform['scale'] = shrink_side(transform['scale'])
    if type_name(loader['dataset']) == 'WebDatasetImages':
        loader['dataset']['shards'] = fixtures.shards
        loader['dataset']['shuffle_buffer'] = WDS_PER_SHARD
        loader['num_workers'] = WDS_SHARDS  # several readers, one shard each
    for name in ('val_dataloader', 'test_dataloader'):  # held-out photos (TeacherAgreement)
        held_out = cfg.get(name)
        if held_out and type_name(held_out['dataset']) == 'UnlabeledImageDataset':
            held_out.update(batch_size=2, num_workers=0, persistent_workers=False)
            held_out['dataset']['data_root'] = fixtures.imagenet
            shrink_sizes(held_out['dataset']['pipeline'], multiple)
    for hook in cfg.custom_hooks:
        if type_name(hook) == 'FeaturePCAHook':
            hook['size'] = shrink_side(hook['size'], multiple)
            hook['interval'] = shrink_iteration(hook.get('interval', 0), max_iters)
    if model.get('teacher_cache'):  # trains from a teacher cache: build one of these teachers
        model['teacher_cache'] = loader['dataset']['cache'] = teacher_cache_fixture(
            cfg, fixtures, folder)
        loader['dataset']['shuffle_buffer'] = WDS_PER_SHARD
        loader['num_workers'] = WDS_SHARDS  # one cache shard per fixture shard


def shrink_downstream_model(cfg, folder):
    """Backbone (with random 'pretrained' weights when it is loaded or frozen), heads,
    necks and the preprocessor, all by the same width rule."""
    model = cfg.model
    owner = model['radio'] if 'radio' in model else model  # RADIOSAM holds a RADIOModel
    backbone = owner['backbone']
    shrink_backbone(backbone, WIDTH_DIV)
    for key, value in owner.items():
        if key != 'backbone':
            shrink_channels(value)
    if owner is not model:
        shrink_channels({k: v for k, v in model.items() if k != 'radio'})
    if backbone.get('frozen') or backbone.get('init_cfg'):
        backbone['init_cfg'] = tiny_backbone_checkpoint(backbone, folder)
    layer_decay = cfg.get('optim_wrapper', {}).get('paramwise_cfg', {})
    if 'num_layers' in layer_decay and type_name(backbone) == 'RADIOViT':  # the shrunk depth
        layer_decay['num_layers'] = backbone['arch']['num_layers']
    multiple = student_multiple(backbone)
    shrink_sizes(model.get('data_preprocessor', {}), multiple)
    shrink_sizes(model.get('test_cfg', {}), multiple)
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg.get(name):
            shrink_sizes(cfg[name]['dataset'].get('pipeline', []), multiple)


def shrink_segmentation(cfg, fixtures, folder):
    shrink_schedule(cfg)
    shrink_downstream_model(cfg, folder)
    point_loaders_at(cfg, fixtures.ade20k)


def shrink_detection(cfg, fixtures, folder):
    """mmdet configs: ViTDet Mask R-CNNs and the RADIO + SAM decoder."""
    shrink_schedule(cfg)
    shrink_downstream_model(cfg, folder)
    if 'image_size' in cfg.model:  # RADIOSAM's square input side
        cfg.model['image_size'] = shrink_side(cfg.model['image_size'], 16)
    import coco_fixture  # the fixture has its own two categories: the datasets name them
    point_loaders_at(cfg, fixtures.coco, metainfo=dict(classes=coco_fixture.CLASSES))


def shrink_classification(cfg, fixtures, folder):
    """mmpretrain configs: linear probes (epoch-based), k-NN and CLIP zero-shot."""
    if cfg.get('train_cfg', {}).get('by_epoch'):
        shrink_epochs(cfg)
    shrink_downstream_model(cfg, folder)
    from test_imagenet_cls import CLASS_NAMES
    text = cfg.model.get('text_encoder')
    if text is not None:  # a tiny text tower of the same open_clip family
        text['model_kwargs'] = dict(
            embed_dim=cfg.model['summary_head']['out_dims'],
            text_cfg=dict(context_length=16, vocab_size=49408, width=32, heads=2, layers=1),
            vision_cfg=dict(image_size=32, patch_size=16, width=32, layers=1, head_width=16))
        text['pretrained'] = tiny_open_clip_checkpoint(text, folder)
        text['cache_dir'] = osp.join(folder, 'text_cache')
        cfg.model['classnames'] = list(CLASS_NAMES)  # the fixture's classes
        for metric in _as_list(cfg.get('test_evaluator')):
            metric['topk'] = (1, )  # top-5 of 3 classes is undefined
    point_loaders_at(cfg, fixtures.imagenet, metainfo=dict(classes=list(CLASS_NAMES)))


def shrink_epochs(cfg):
    """Epoch-based schedules: two epochs, the schedulers' epochs moved along."""
    max_epochs = cfg.train_cfg['max_epochs']
    cfg.train_cfg.update(max_epochs=2, val_interval=2)
    for scheduler in cfg.get('param_scheduler') or []:
        begin = min(1, round(scheduler.get('begin', 0) * 2 / max_epochs))
        scheduler['begin'] = begin
        scheduler['end'] = max(begin + 1, round(scheduler.get('end', max_epochs) * 2 /
                                                max_epochs))
        if 'T_max' in scheduler:
            scheduler['T_max'] = scheduler['end'] - begin
    cfg.default_hooks['logger']['interval'] = 1
    cfg.default_hooks['checkpoint']['interval'] = 2


RULES = {'radio_mm': shrink_distill, 'mmseg': shrink_segmentation,
         'mmdet': shrink_detection, 'mmpretrain': shrink_classification}


def shrink(cfg, fixtures, folder):
    """Apply the rules of the config's toolbox (its ``default_scope``) in place."""
    scope = cfg.get('default_scope')
    if scope not in RULES:
        raise KeyError(f'no shrinking rules for default_scope {scope!r}')
    RULES[scope](cfg, fixtures, folder)
    on_this_device(cfg)
    return cfg
