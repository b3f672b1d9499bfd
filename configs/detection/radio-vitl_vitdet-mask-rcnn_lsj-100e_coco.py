# ViTDet Mask R-CNN with a RADIOv2.5-L/16 student: ViTDet's ViT-L settings (detectron2
# projects/ViTDet/configs/COCO/mask_rcnn_vitdet_l_100ep.py): drop path 0.4, lr decay 0.8.
# RADIOViT's default global blocks for 24 layers are 5, 11, 17, 23, as there.
_base_ = './radio-vitb_vitdet-mask-rcnn_lsj-100e_coco.py'

model = dict(
    backbone=dict(arch='l', drop_path_rate=0.4),
    neck=dict(backbone_channel=1024, in_channels=[256, 512, 1024, 1024]))
optim_wrapper = dict(paramwise_cfg=dict(decay_rate=0.8, num_layers=24))
