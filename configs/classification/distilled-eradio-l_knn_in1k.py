# k-NN on ImageNet-1k of an E-RADIO-L student distilled with configs/distill/eradio_l.py, at
# its training resolution, 512 px (see distilled-vith_knn_in1k.py on mode switching above
# it). E-RADIO has one summary: the mean of its final tokens.
#   python tools/test.py configs/classification/distilled-eradio-l_knn_in1k.py \
#       work_dirs/eradio_l/iter_600000.pth
_base_ = ['./radio-vitb_knn_in1k.py']
resolution = 512
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=resolution, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=resolution),
    dict(type='PackInputs'),
]
model = dict(backbone=dict(_delete_=True, type='radio_mm.ERADIO', arch='l'), summary_idxs=[0])
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
