# RADIOv2.5-L/16 k-NN on ImageNet-1k at 1024 px (see radio-vitb_knn_in1k.py).
# Reference top-1: 84.68 (README.md).
_base_ = ['./radio-vitb_knn_in1k.py']
resolution = 1024
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=resolution, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=resolution),
    dict(type='PackInputs'),
]
model = dict(backbone=dict(arch='l'))
test_dataloader = dict(batch_size=32, dataset=dict(pipeline=test_pipeline))
