# ViTDet Mask R-CNN with a RADIOv2.5-B/16 student on COCO: LSJ at 1024 px, 100 epochs,
# AdamW with layer-wise lr decay 0.7 (mmdet projects/ViTDet/configs/lsj-100e_coco-instance.py,
# detectron2 projects/ViTDet/configs/COCO/mask_rcnn_vitdet_b_100ep.py).
_base_ = [
    '../_base_/models/radio_vitdet_mask_rcnn.py',
    '../_base_/datasets/coco_instance_lsj.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['radio_mm'], allow_failed_imports=False)
default_scope = 'mmdet'

image_size = (1024, 1024)
model = dict(data_preprocessor=dict(
    batch_augments=[dict(type='BatchFixedSizePad', size=image_size, pad_mask=True)]))

# Mixed precision, as ViTDet trains; on CPU use optim_wrapper.type='OptimWrapper'.
optim_wrapper = dict(
    type='AmpOptimWrapper',
    constructor='radio_mm.LayerDecayOptimizerConstructor',
    paramwise_cfg=dict(decay_rate=0.7, decay_type='layer_wise', num_layers=12),
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.1))

# 100 epochs = 184375 iterations x 64 images / 118k images; lr x0.1 at 88 and 96 epochs.
max_iters = 184375
interval = 5000
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=250),
    dict(type='MultiStepLR', begin=0, end=max_iters, by_epoch=False,
         milestones=[163889, 177546], gamma=0.1),
]
train_cfg = dict(
    type='IterBasedTrainLoop',
    max_iters=max_iters,
    val_interval=interval,
    dynamic_intervals=[(max_iters // interval * interval + 1, max_iters)])
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# mmdet's default runtime counts epochs; this schedule counts iterations.
default_hooks = dict(
    checkpoint=dict(by_epoch=False, interval=interval, save_last=True, max_keep_ckpts=5))
log_processor = dict(by_epoch=False)
auto_scale_lr = dict(base_batch_size=64)
