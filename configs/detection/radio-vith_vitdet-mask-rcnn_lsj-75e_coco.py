# ViTDet Mask R-CNN with a RADIOv2.5-H/16 student: ViTDet's ViT-H settings (detectron2
# projects/ViTDet/configs/COCO/mask_rcnn_vitdet_h_75ep.py): drop path 0.5, lr decay 0.9,
# 75 epochs (the 100-epoch iterations and milestones x 3/4). Global blocks 7, 15, 23, 31.
_base_ = './radio-vitb_vitdet-mask-rcnn_lsj-100e_coco.py'

model = dict(
    backbone=dict(arch='h', drop_path_rate=0.5),
    neck=dict(backbone_channel=1280, in_channels=[320, 640, 1280, 1280]))
optim_wrapper = dict(paramwise_cfg=dict(decay_rate=0.9, num_layers=32))

max_iters = 184375 * 3 // 4
interval = 5000
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=250),
    dict(type='MultiStepLR', begin=0, end=max_iters, by_epoch=False,
         milestones=[163889 * 3 // 4, 177546 * 3 // 4], gamma=0.1),
]
train_cfg = dict(
    max_iters=max_iters,
    dynamic_intervals=[(max_iters // interval * interval + 1, max_iters)])
