"""The rules that shrink a shipped config into a CPU smoke run, all in one place.

Only sizes change: widths and depths of the student and the teachers, image sides, data
paths (to generated fixtures of the same format, read by the same dataset class),
iteration counts and the iterations at which milestones, schedulers and hooks fire. Config
types, pipelines, dataset classes, partitions and schedules stay as shipped. Teachers load
tiny random-init checkpoints written in the published layout, so the weight-loading path is
the one users run.

Run as a script, it shrinks and runs several configs in one process (the mmseg/mmdet imports
are paid once), through ``radio_mm.apis.run_config`` as ``tools/train.py`` and
``tools/test.py`` do, and writes one result per config to a JSON file::

    python tests/test_configs/config_shrinker.py --work-dir DIR --out results.json CONFIG...
"""
import argparse
import copy
import io
import json
import math
import os
import os.path as osp
import sys
import traceback
import warnings

ITERS = 4          # training iterations per config
SHRINK = 8         # image sides are divided by about this
BATCH = 4          # per-process batch; distillation partitions need one image each
TINY_VIT = dict(embed_dims=32, num_layers=2, num_heads=2)
# Attention windows of 2 tokens, subsampled 2x at stride 16: tiles of 64 px.
TINY_ERADIO = dict(stem_channels=8, base_channels=8, depths=(1, 1, 1, 1),
                   num_heads=(1, 1, 2, 2), window_sizes=(None, None, 2, 2),
                   sr_ratios=(1, 1, (2, 1), 1), neck_channels=32)
TINY_CLIP = dict(embed_dim=32, vision_cfg=dict(width=32, layers=1, head_width=16))
TINY_DINOV2 = dict(embed_dim=32, depth=1, num_heads=2)
TINY_SAM = dict(embed_dim=32, depth=2, num_heads=2, global_attn_indexes=(1, ), window_size=4)
WDS_SHARDS = 2
WDS_PER_SHARD = 4


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


# -- fixtures -----------------------------------------------------------------------------
def write_shards(root):
    """DataComp-style WebDataset tars of skimage photos -> brace pattern of the shards."""
    import webdataset as wds
    from PIL import Image
    from skimage import data
    photos = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket()]
    os.makedirs(root, exist_ok=True)
    for shard in range(WDS_SHARDS):
        with wds.TarWriter(osp.join(root, f'{shard:05d}.tar')) as sink:
            for i in range(WDS_PER_SHARD):
                buffer = io.BytesIO()
                photo = photos[(shard + i) % len(photos)][::2, ::2]
                Image.fromarray(photo).save(buffer, format='JPEG')
                sink.write({'__key__': f'{shard}_{i}', 'jpg': buffer.getvalue(),
                            'txt': 'a photo'})
    return osp.join(root, '{%05d..%05d}.tar' % (0, WDS_SHARDS - 1))


def tiny_teacher_checkpoint(cfg, folder):
    """Build the shrunk teacher with random weights; save it as its publisher lays it out."""
    import torch

    from radio_mm.registry import MODELS
    cfg = dict(cfg, pretrained=None)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)
        teacher = MODELS.build(cfg)
    state = teacher.encoder.state_dict()
    # Full CLIP / SAM checkpoints hold the tower under a prefix; DINOv2 files do not.
    prefix = {'OpenCLIPTeacher': 'visual.', 'SAMTeacher': 'image_encoder.'}.get(cfg['type'], '')
    path = osp.join(folder, f"teacher_{cfg['name']}.pth")
    torch.save({prefix + k: v for k, v in state.items()}, path)
    return path


# -- rules per part -----------------------------------------------------------------------
def shrink_teacher(cfg, folder):
    kind = cfg['type']
    cfg = copy.deepcopy(cfg)
    if kind == 'OpenCLIPTeacher':
        import open_clip
        vision = open_clip.get_model_config(cfg['model_name'])['vision_cfg']
        merged = dict(vision, **cfg.get('model_cfg', {}).get('vision_cfg', {}))
        tiny = copy.deepcopy(TINY_CLIP)
        tiny['vision_cfg']['image_size'] = shrink_side(merged['image_size'],
                                                       merged['patch_size'])
        cfg['model_cfg'] = tiny
    elif kind == 'DINOv2Teacher':
        cfg['arch_kwargs'] = dict(TINY_DINOV2)
        cfg['input_size'] = shrink_side(cfg.get('input_size', 224), 14)
    elif kind == 'SAMTeacher':
        cfg['arch'] = dict(TINY_SAM)
        cfg['img_size'] = shrink_side(cfg.get('img_size', 1024), 16)
    else:
        raise KeyError(f'no shrinking rule for teacher type {kind!r}')
    if cfg.get('pretrained') is not None:
        cfg['pretrained'] = tiny_teacher_checkpoint(cfg, folder)
    return cfg


def student_multiple(backbone):
    return 32 if backbone['type'] == 'ERADIO' else backbone.get('patch_size', 16)


def shrink_backbone(backbone):
    if backbone['type'] == 'ERADIO':
        backbone['arch'] = copy.deepcopy(TINY_ERADIO)
    elif backbone['type'] == 'RADIOViT':
        backbone['arch'] = dict(TINY_VIT)
    else:
        raise KeyError(f"no shrinking rule for backbone type {backbone['type']!r}")


def shrink_schedule(cfg):
    """ITERS iterations; schedulers, milestones and hook intervals moved along."""
    train_cfg = cfg.train_cfg
    max_iters = train_cfg['max_iters']
    train_cfg['max_iters'] = ITERS
    if 'val_interval' in train_cfg:
        train_cfg['val_interval'] = ITERS
    for scheduler in cfg.get('param_scheduler') or []:
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
    if not torch.cuda.is_available() and cfg.optim_wrapper.get('type') == 'AmpOptimWrapper':
        cfg.optim_wrapper['type'] = 'OptimWrapper'
        for key in ('dtype', 'loss_scale'):
            cfg.optim_wrapper.pop(key, None)


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
    if loader['dataset']['type'] == 'WebDatasetImages':
        loader['dataset']['shards'] = fixtures['shards']
        loader['dataset']['shuffle_buffer'] = WDS_PER_SHARD
        loader['num_workers'] = WDS_SHARDS  # several readers, one shard each
    for hook in cfg.custom_hooks:
        if hook['type'] == 'FeaturePCAHook':
            hook['size'] = shrink_side(hook['size'], multiple)
            hook['interval'] = shrink_iteration(hook.get('interval', 0), max_iters)


RULES = {'radio_mm': shrink_distill}


def shrink(cfg, fixtures, folder):
    """Apply the rules of the config's toolbox (its ``default_scope``) in place."""
    scope = cfg.get('default_scope')
    if scope not in RULES:
        raise KeyError(f'no shrinking rules for default_scope {scope!r}')
    RULES[scope](cfg, fixtures, folder)
    on_this_device(cfg)
    return cfg


# -- running ------------------------------------------------------------------------------
def run_config(path, work_root, fixtures):
    """Shrink ``path``, train it as tools/train.py does, then test it where it can."""
    from mmengine.config import Config

    from radio_mm.apis import build_train_runner
    name = osp.splitext(osp.basename(path))[0]
    folder = osp.join(work_root, name)
    os.makedirs(folder, exist_ok=True)
    cfg = shrink(Config.fromfile(path), fixtures, folder)
    shrunk = osp.join(folder, f'{name}.py')
    cfg.dump(shrunk)
    runner = build_train_runner(shrunk, work_dir=osp.join(folder, 'work'))
    runner.train()
    return dict(name=name, iters=runner.iter)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('configs', nargs='+')
    parser.add_argument('--work-dir', required=True)
    parser.add_argument('--out', required=True)
    args = parser.parse_args()
    import torch
    torch.set_num_threads(1)
    fixtures = dict(shards=write_shards(osp.join(args.work_dir, 'shards')))
    results = {}
    for path in args.configs:
        try:
            results[path] = run_config(path, args.work_dir, fixtures)
        except Exception:  # noqa: BLE001  (reported per config by the test)
            results[path] = dict(error=traceback.format_exc())
        with open(args.out, 'w') as f:
            json.dump(results, f)
    return 0


if __name__ == '__main__':
    sys.exit(main())
