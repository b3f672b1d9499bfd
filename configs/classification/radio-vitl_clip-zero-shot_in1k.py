# RADIOv2.5-L/16 CLIP zero-shot on ImageNet-1k at 1024 px (see
# radio-vitb_clip-zero-shot_in1k.py). Reference top-1: 81.01 (README.md).
_base_ = ['./radio-vitb_clip-zero-shot_in1k.py']
resolution = 1024
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=resolution, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=resolution),
    dict(type='PackInputs'),
]
model = dict(
    backbone=dict(arch='l'),
    # Hidden width as assumed in configs/distill/radio_vitl.py (check radio2mm.py's output).
    summary_head=dict(in_dims=1024, hidden_dims=1024))
test_dataloader = dict(batch_size=32, dataset=dict(pipeline=test_pipeline))
