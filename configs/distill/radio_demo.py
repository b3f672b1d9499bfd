# The embedded default: a complete distillation run with nothing to download.
#
#   make demo    (= python tools/train.py configs/distill/radio_demo.py)
#
# Real photos shipped inside scikit-image and scikit-learn, the real teacher architectures
# (open_clip ViT, DINOv2 with registers, SAM's image encoder) at toy sizes with random
# weights, and a small RADIO ViT student. On 2 CPU cores it takes about a minute, the loss
# falls, it writes a checkpoint and saves a PCA picture of the student's features beside
# the teachers' (the astronaut photo at 512 px) in work_dirs/radio_demo/feature_pca/.
# Random teachers make the targets meaningless as features (the picture's captions say
# "random weights"): this shows the machinery, not a useful model. Their weights are drawn
# from a seed of their names, so the analysis tools (docs/tools.md) rebuild the very teachers
# the student learned from out of this config.
_base_ = ['../_base_/default_runtime_distill.py', '../_base_/distill_evaluation.py']

teachers = [
    dict(type='OpenCLIPTeacher', name='clip', model_name='ViT-B-16',
         model_cfg=dict(embed_dim=96, vision_cfg=dict(image_size=128, patch_size=16, width=96,
                                                      layers=3, head_width=32))),
    dict(type='DINOv2Teacher', name='dino_v2', arch='vit_small_patch14_reg4_dinov2',
         input_size=112, arch_kwargs=dict(embed_dim=96, depth=3, num_heads=3)),
    dict(type='SAMTeacher', name='sam', img_size=256,
         arch=dict(embed_dim=96, depth=3, num_heads=3, global_attn_indexes=(2, ),
                   window_size=4)),
]

model = dict(
    type='RADIODistiller',
    student=dict(
        type='RADIOModel',
        backbone=dict(type='RADIOViT', arch=dict(embed_dims=128, num_layers=4, num_heads=4),
                      patch_size=16, cpe_max_size=512, num_summary_tokens=2,
                      register_multiple=4)),
    teachers=teachers,
    adaptor_cfg=dict(hidden_dims=256, num_inner=1),
    partitions=[
        dict(teachers=['clip', 'dino_v2'], batch_fraction=0.75,
             resolutions=[(128, 128), (160, 160)]),
        dict(teachers=['sam'], batch_fraction=0.25, resolutions=[(256, 256)]),
    ])

train_pipeline = [
    dict(type='mmpretrain.RandomResizedCrop', scale=256, crop_ratio_range=(0.5, 1.0),
         backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackImageInputs'),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type='PackageSampleImages', split='train', pipeline=train_pipeline))

# Teacher agreement on the held-out sample photos, after training and with tools/test.py.
eval_pipeline = [  # the dataset decodes the files itself
    dict(type='mmpretrain.ResizeEdge', scale=256, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='mmpretrain.CenterCrop', crop_size=256),
    dict(type='PackImageInputs'),
]
eval_dataloader = dict(
    batch_size=8,
    num_workers=0,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type='PackageSampleImages', split='val', pipeline=eval_pipeline))
test_dataloader = dict(_delete_=True, **eval_dataloader)
val_dataloader = eval_dataloader
val_evaluator = {{_base_.test_evaluator}}
val_cfg = dict(type='ValLoop')

max_iters = 160
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
# fp32 on CPU: these CPUs have no native bf16, which would be far slower.
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.02),
                     clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=10),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=10, end=max_iters, eta_min=1e-5),
]
default_hooks = dict(logger=dict(interval=10),
                     checkpoint=dict(interval=80, max_keep_ckpts=2))
custom_hooks = [
    dict(type='SkippedImagesHook'),
    dict(type='RADIOModelMetaHook'),
    dict(type='FeaturePCAHook', size=512, interval=0),
]
