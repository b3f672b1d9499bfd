# ImageNet-1k as mmpretrain reads it (mmpretrain/datasets/imagenet.py), folder mode:
#   data_root/train/<wnid>/*.JPEG and data_root/val/<wnid>/*.JPEG (1000 class folders each);
# `meta/{train,val}.txt` annotation files under data_root are used instead when present.
# Pipelines: mmpretrain's standard 224 px recipe (configs/_base_/datasets/imagenet_bs64_*).
dataset_type = 'ImageNet'
data_root = 'data/imagenet'
data_preprocessor = dict(
    num_classes=1000,
    # RADIO's input conditioner: OpenAI CLIP mean/std, here on the 0-255 scale
    # (NVlabs/RADIO radio/input_conditioner.py).
    mean=[122.770938, 116.746013, 104.093736],
    std=[68.500533, 66.632158, 70.323163],
    to_rgb=True)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224, backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short', backend='pillow', interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split='train',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='val', pipeline=test_pipeline))
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
