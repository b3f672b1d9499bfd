"""The AM-RADIO teachers as config dicts (where their weights are published: `weight_tables.py`).

AM-RADIO (Ranzinger et al., CVPR 2024) distills DFN CLIP ViT-H/14 at 378 px, DINOv2 ViT-g/14
with registers and SAM ViT-H. ``tools/fetch_teachers.py`` downloads the files listed here;
``am_radio_teacher_cfgs`` gives configs that point at them::

    teachers = [
        dict(type='OpenCLIPTeacher', name='clip', model_name='ViT-H-14-378-quickgelu',
             pretrained_tag='dfn5b',
             pretrained='checkpoints/teachers/dfn5b_clip_vit_h_14_378/open_clip_pytorch_model.bin'),
        dict(type='DINOv2Teacher', name='dino_v2', arch='vit_giant_patch14_reg4_dinov2',
             input_size=224, pretrained='checkpoints/teachers/dinov2_vitg14_reg4_pretrain.pth'),
        dict(type='SAMTeacher', name='sam', arch='vit_h', img_size=1024,
             pretrained='checkpoints/teachers/sam_vit_h_4b8939.pth'),
    ]

DINOv2 runs at 224 px here (16x16 tokens; the distiller resizes between grids); raise
``input_size`` (a multiple of 14, up to the 518 px it was finetuned at) for denser targets.
"""
import copy
import os.path as osp

from .weight_tables import AM_RADIO_TEACHERS, DEFAULT_CHECKPOINT_DIR

__all__ = ['AM_RADIO_TEACHERS', 'DEFAULT_CHECKPOINT_DIR', 'am_radio_teacher_cfgs']


def am_radio_teacher_cfgs(checkpoint_dir=DEFAULT_CHECKPOINT_DIR, names=None, **common):
    """Config dicts of the paper's teachers with ``pretrained`` under ``checkpoint_dir``.

    Args:
        checkpoint_dir (str): the folder ``tools/fetch_teachers.py --out-dir`` filled.
        names (list[str] | None): a subset of ``AM_RADIO_TEACHERS``; None for all three.
        **common: extra args for every teacher, e.g. ``dtype='bf16'``.
    """
    names = list(AM_RADIO_TEACHERS) if names is None else list(names)
    unknown = sorted(set(names) - set(AM_RADIO_TEACHERS))
    if unknown:
        raise KeyError(f'unknown paper teachers {unknown}; known: {list(AM_RADIO_TEACHERS)}')
    cfgs = []
    for name in names:
        teacher = AM_RADIO_TEACHERS[name]
        cfg = dict(copy.deepcopy(teacher.cfg), **common)
        cfg['pretrained'] = osp.join(checkpoint_dir, teacher.weights.filename)
        cfgs.append(cfg)
    return cfgs
