# Mode switching at demo scale, recipe 1 of 2: RADIOv2.1's partitions. Follows: the AM-RADIO
# paper (CLIP and DINOv2 see the student at a low resolution, SAM alone at its own high
# resolution, sec. 4.3; radio_vith.py is that recipe at full size), the recipe that "mode
# switches" with input resolution (NVlabs/RADIO RADIOv2.5_tech_report.md, "Mode Switching").
# radio_demo_v2.5.py changes only which teachers see which partition; benchmarks/
# bench_mode_switch.py trains both for the same steps from the same seed and measures each
# teacher's agreement at 224-1024 px (benchmarks/README.md, "Mode switching").
#
#   python tools/train.py configs/distill/radio_demo_v2.1.py
#
# Everything is radio_demo.py's (toy teachers of the real architectures with seeded random
# weights, the small RADIO ViT student, the sample photos) except the resolutions, scaled
# down from the paper's so that 224-1024 px spans both partitions and beyond, at CPU cost:
# - student 192 or 224 px for CLIP + DINOv2, 512 px for SAM: the paper's 432 and 1024 px
#   halved [ours]; the batch split 0.75 / 0.25 is radio_demo.py's [ours].
# - teachers at the resolution of their partition: CLIP and DINOv2 at 224 px, SAM at 512 px
#   (the paper runs CLIP at 378 px for a 432 px student and SAM at 1024 px beside a 1024 px
#   student) [ours]; their widths and depths are radio_demo.py's.
# - CPE grid up to 1024 px, twice the largest training side, as the released ViTs' 2048 px
#   grid is twice their 1024 px SAM partition (radio/common.py RESOURCE_MAP) [ours].
# - crops of 512 px so that the SAM partition is not upsampled; held-out photos at 1024 px,
#   the largest measured side (_base_/distill_evaluation.py's eval_size) [ours].
_base_ = ['./radio_demo.py']

teachers = [
    dict(type='OpenCLIPTeacher', name='clip', model_name='ViT-B-16',
         model_cfg=dict(embed_dim=96, vision_cfg=dict(image_size=224, patch_size=16, width=96,
                                                      layers=3, head_width=32))),
    dict(type='DINOv2Teacher', name='dino_v2', arch='vit_small_patch14_reg4_dinov2',
         input_size=224, arch_kwargs=dict(embed_dim=96, depth=3, num_heads=3)),
    dict(type='SAMTeacher', name='sam', img_size=512,
         arch=dict(embed_dim=96, depth=3, num_heads=3, global_attn_indexes=(2, ),
                   window_size=4)),
]
low_resolutions = [(192, 192), (224, 224)]
high_resolutions = [(512, 512)]

model = dict(
    student=dict(backbone=dict(cpe_max_size=1024)),
    teachers=teachers,
    partitions=[
        dict(teachers=['clip', 'dino_v2'], batch_fraction=0.75, resolutions=low_resolutions),
        dict(teachers=['sam'], batch_fraction=0.25, resolutions=high_resolutions),
    ])

train_pipeline = [
    dict(type='mmpretrain.RandomResizedCrop', scale=512, crop_ratio_range=(0.5, 1.0),
         backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackImageInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

eval_size = 1024
eval_pipeline = [
    dict(type='mmpretrain.ResizeEdge', scale=eval_size, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='mmpretrain.CenterCrop', crop_size=eval_size),
    dict(type='PackImageInputs'),
]
test_dataloader = dict(dataset=dict(pipeline=eval_pipeline))
val_dataloader = test_dataloader

max_iters = 400
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=10),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=10, end=max_iters, eta_min=1e-5),
]
default_hooks = dict(checkpoint=dict(interval=max_iters))
