# Linear probe on ImageNet-1k of an E-RADIO-L student distilled with
# configs/distill/eradio_l.py, trained and tested at its training resolution, 512 px.
_base_ = ['./distilled-vith_linear-probe_in1k.py']
resolution = 512
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
    # E-RADIO's one summary (the mean of its final tokens), frozen.
    backbone=dict(_delete_=True, type='radio_mm.ERADIO', arch='l', out_type='summary', frozen=True,
                  init_cfg=dict(type='Pretrained',
                                checkpoint='work_dirs/eradio_l/iter_600000.pth')),
    head=dict(in_channels=1536))
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
