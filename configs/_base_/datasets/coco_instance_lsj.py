# COCO instance segmentation with large-scale jitter (LSJ: resize by 0.1-2.0, crop and pad
# to 1024x1024), the recipe of ViTDet (mmdet projects/ViTDet/configs/lsj-100e_coco-instance.py,
# detectron2 projects/ViTDet/configs/common/coco_loader_lsj.py). Dataset, metric and paths
# come from mmdet's own COCO config; only the pipelines and loader sizes change.
_base_ = 'mmdet::_base_/datasets/coco_instance.py'

image_size = (1024, 1024)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomResize', scale=image_size, ratio_range=(0.1, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_type='absolute_range', crop_size=image_size,
         recompute_bbox=True, allow_negative_crop=True),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(1e-2, 1e-2)),
    dict(type='Pad', size=image_size, pad_val=dict(img=(114, 114, 114))),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='Pad', size=image_size, pad_val=dict(img=(114, 114, 114))),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
# 4 images per GPU x 16 GPUs = the batch of 64 that the 100-epoch schedule assumes.
train_dataloader = dict(batch_size=4, num_workers=8, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
