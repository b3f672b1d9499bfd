# Linear probe on ImageNet-1k of a ViT-H/16 student distilled with
# configs/distill/radio_vith.py, trained and tested at its CLIP/DINOv2 resolution, 432 px.
_base_ = ['./radio-vitb_linear-probe_in1k.py']
resolution = 432
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=resolution, backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=resolution, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=resolution),
    dict(type='PackInputs'),
]
model = dict(
    backbone=dict(arch='h', num_summary_tokens=2, register_multiple=8, summary_idxs=[0, 1],
                  init_cfg=dict(checkpoint='work_dirs/radio_vith/iter_600000.pth')),
    head=dict(in_channels=2 * 1280))
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
