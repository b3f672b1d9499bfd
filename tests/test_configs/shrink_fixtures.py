"""Fixtures for the shrunk configs: data in each real on-disk format and tiny random-init
checkpoints in their publishers' layouts (teachers, backbones, whole models, teacher caches).
"""
import copy
import os
import os.path as osp
import sys
import warnings
from functools import cached_property
from pathlib import Path

WDS_SHARDS = 2
WDS_PER_SHARD = 4


def type_name(cfg):
    """The class name of a part's config, without a ``radio_mm.`` scope (toolbox configs
    name radio_mm's classes with it)."""
    return cfg['type'].removeprefix('radio_mm.')


class Fixtures:
    """Data in each real on-disk format, written under ``root`` on first use, by the
    end-to-end tests' own writers."""

    def __init__(self, root):
        self.root = root
        sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))),
                                    'test_e2e'))

    def _folder(self, name):
        path = osp.join(self.root, name)
        os.makedirs(path, exist_ok=True)
        return path

    @cached_property
    def shards(self):
        from webdataset_fixture import write_shards
        return write_shards(self._folder('shards'), WDS_SHARDS, WDS_PER_SHARD)

    @cached_property
    def ade20k(self):
        from test_ade20k_seg import _write_ade20k
        root = osp.join(self._folder('ade20k'), 'ADEChallengeData2016')
        _write_ade20k(Path(root))
        return root

    @cached_property
    def coco(self):
        from coco_fixture import write_coco
        root = osp.join(self._folder('coco'), 'coco')
        write_coco(Path(root))
        return root

    @cached_property
    def imagenet(self):
        from test_imagenet_cls import _write_imagenet
        root = self._folder('imagenet')
        _write_imagenet(Path(root))
        return root


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
    prefix = {'OpenCLIPTeacher': 'visual.', 'SAMTeacher': 'image_encoder.',
              'SAM2Teacher': 'image_encoder.'}.get(type_name(cfg), '')
    path = osp.join(folder, f"teacher_{cfg['name']}.pth")
    torch.save({prefix + k: v for k, v in state.items()}, path)
    return path



def tiny_backbone_checkpoint(backbone, folder):
    """Random weights of the shrunk backbone in a downstream checkpoint's layout."""
    import torch

    from radio_mm.registry import MODELS
    cfg = {k: v for k, v in backbone.items() if k != 'init_cfg'}
    state = MODELS.build(cfg).state_dict()
    path = osp.join(folder, 'backbone.pth')
    torch.save(dict(state_dict={f'backbone.{k}': v for k, v in state.items()}), path)
    return dict(type='Pretrained', checkpoint=path, prefix='backbone.')


def teacher_cache_fixture(cfg, fixtures, folder):
    """What tools/cache_teachers.py writes for the shrunk teachers, over the WebDataset
    fixture, in views of the student's largest resolution."""
    from radio_mm.apis.teacher_cache import build_teacher_cache
    online = copy.deepcopy(cfg)
    online.model.pop('teacher_cache')
    side = max(max(r) for p in cfg.model.get('partitions') or [dict(resolutions=[(64, 64)])]
               for r in p['resolutions'])
    online.train_dataloader['dataset'] = dict(type='WebDatasetImages', shards=fixtures.shards,
                                              shuffle_buffer=0, pipeline=[
        dict(type='mmpretrain.RandomResizedCrop', scale=side, backend='pillow'),
        dict(type='RandomFlip', prob=0.5, direction='horizontal'),
        dict(type='PackImageInputs')])
    out = osp.join(folder, 'teacher_cache')
    build_teacher_cache(online, out, views=1, dtype='bf16', num_workers=0)
    return out


def tiny_open_clip_checkpoint(text, folder):
    import open_clip
    import torch
    model = open_clip.create_model(text['model_name'], **text['model_kwargs'])
    path = osp.join(folder, 'open_clip_tiny.bin')
    torch.save(model.state_dict(), path)  # open_clip_pytorch_model.bin's layout
    return path


def tiny_model_checkpoint(cfg, folder):
    """The shrunk model's random weights, for configs that only evaluate a checkpoint."""
    import torch
    from mmengine.registry import MODELS, DefaultScope

    from radio_mm.utils import import_toolbox
    import_toolbox(cfg.default_scope)
    model_cfg = copy.deepcopy(cfg.model)
    if 'data_preprocessor' in cfg:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(model_cfg)
    path = osp.join(folder, 'model.pth')
    torch.save(dict(state_dict=model.state_dict()), path)
    return path
