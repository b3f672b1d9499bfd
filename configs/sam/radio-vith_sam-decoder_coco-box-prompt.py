# SAM with a RADIO-H/16 student as its image encoder, on COCO instances prompted by their
# ground-truth boxes: the "SAM COCO" mIoU of AM-RADIO (NVlabs/RADIO README at ccfa261:
# RADIO-ViT-H/16 76.23, SAM-H/16 77.18). RADIO's `sam` adaptor gives the (256, 64, 64) image
# embedding at 1024 px; SAM ViT-H's prompt encoder and mask decoder read it.
#
#   python tools/model_converters/make_radio_sam.py RADIO.pth sam_vit_h_4b8939.pth \
#       checkpoints/radio-vith_sam-vith.pth --config THIS_CONFIG
#   python tools/test.py THIS_CONFIG checkpoints/radio-vith_sam-vith.pth      # the paper's number
#   python tools/train.py THIS_CONFIG     # optional: fine-tune the mask decoder (RADIO frozen)
_base_ = [
    'mmdet::_base_/datasets/coco_instance.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['radio_mm'], allow_failed_imports=False)
default_scope = 'mmdet'

image_size = 1024
model = dict(
    type='radio_mm.RADIOSAM',
    # The ViT-H/16 student of configs/distill/radio_vith.py (the paper's recipe). For another
    # RADIO, put its RADIOModel config here: the converter checks that the weights fit it,
    # and tools/model_converters/radio2mm.py prints a release's backbone and adaptors.
    radio=dict(
        type='radio_mm.RADIOModel',
        backbone=dict(type='radio_mm.RADIOViT', arch='h', patch_size=16, cpe_max_size=2048,
                      num_summary_tokens=2, register_multiple=8),
        adaptors=dict(sam=dict(in_dims=1280, feature_dims=256, hidden_dims=1520, num_inner=1))),
    # Weights come from the RADIOSAM checkpoint; a SAM checkpoint here would load the decoder
    # at construction (prompt_encoder.* and mask_decoder.*, any SAM size).
    sam_pretrained=None,
    image_size=image_size,
    # Evaluation never trains; in fine-tuning RADIO and the prompt encoder stay frozen.
    freeze_radio=True,
    freeze_prompt_encoder=True,
    freeze_mask_decoder=False,
    multimask_output=False,
    max_train_prompts=16,
    data_preprocessor=dict(type='ImgDataPreprocessor', mean=[0., 0., 0.],
                           std=[255., 255., 255.], bgr_to_rgb=True))

# SAM's ResizeLongestSide: longest side to 1024 with PIL's bilinear filter. No Pad: the model
# pads to 1024 x 1024 itself, as Sam.preprocess does. Polygon masks (poly2mask=False) scale
# back to the original image exactly for the metric.
resize = dict(type='Resize', scale=(image_size, image_size), keep_ratio=True,
              backend='pillow', interpolation='bilinear')
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True, poly2mask=False),
    dict(type='RandomFlip', prob=0.5),
    resize,
    dict(type='FilterAnnotations', min_gt_bbox_wh=(1, 1)),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    resize,
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True, poly2mask=False),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(batch_size=2, num_workers=4, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='radio_mm.BoxPromptMaskIoU')
test_evaluator = val_evaluator

# Optional decoder fine-tuning: one COCO epoch at batch 16 (8 GPUs x 2), AdamW, cosine decay.
# Start from the converted checkpoint; RADIO stays frozen and runs without gradients.
load_from = 'checkpoints/radio-vith_sam-vith.pth'
max_iters = 7330
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-5, betas=(0.9, 0.999), weight_decay=0.01),
    clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=250),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=250, end=max_iters, eta_min=0.0),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
auto_scale_lr = dict(base_batch_size=16)
