# CLIP zero-shot on ImageNet-1k of an E-RADIO-L student distilled with
# configs/distill/eradio_l.py, at its training resolution, 512 px.
#   python tools/test.py configs/classification/distilled-eradio-l_clip-zero-shot_in1k.py \
#       work_dirs/eradio_l/iter_600000.pth
_base_ = ['./radio-vitb_clip-zero-shot_in1k.py']
resolution = 512
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=resolution, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=resolution),
    dict(type='PackInputs'),
]
model = dict(
    backbone=dict(_delete_=True, type='radio_mm.ERADIO', arch='l'),
    # The recipe's adaptor_cfg (hidden 1536, one inner block) from E-RADIO-L's 1536-d neck
    # into DFN CLIP's 1024 dims.
    summary_head=dict(in_dims=1536, hidden_dims=1536, out_dims=1024, num_inner=1),
    summary_slot=0)
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
