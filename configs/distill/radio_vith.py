# RADIO ViT-H/16 student, the paper's main recipe (AM-RADIO, Ranzinger et al. 2024, sec. 4):
# DFN CLIP ViT-H/14-378 + DINOv2-g/14-reg + SAM ViT-H teachers, 600k steps, one cosine cycle,
# student at 256 px then 432 px, SAM on its own 1024 px partition, bf16 AMP, DataComp-style
# WebDataset input.
#
#   tools/dist_train.sh configs/distill/radio_vith.py 8        (8 GPUs x 16 = 128 images/step)
#
# Open choices (the paper does not state them): global batch 1024 (set through the number
# of GPUs and batch_size), lr 1e-3 with 10k warm-up (schedules/distill_600k.py), adaptor MLP
# hidden width 1520 with one inner block (as the released heads), crops of 1024 px so the
# SAM partition has full resolution (the other teachers resize down).
_base_ = [
    '../_base_/default_runtime_distill.py',
    '../_base_/datasets/distill_datacomp_wds.py',
    '../_base_/schedules/distill_600k.py',
    '../_base_/models/radio_distill_teachers.py',
    '../_base_/distill_evaluation.py',  # tools/test.py: teacher agreement on held-out images
]

model = dict(
    type='RADIODistiller',
    student=dict(
        type='RADIOModel',
        backbone=dict(type='RADIOViT', arch='h', patch_size=16, cpe_max_size=2048,
                      num_summary_tokens=2, register_multiple=8, drop_path_rate=0.1,
                      pos_dropout=0.1, with_cp=True)),
    teachers={{_base_.teachers}},
    partitions={{_base_.partitions}},
    adaptor_cfg=dict(hidden_dims=1520, num_inner=1))

crop_size = 1024
train_pipeline = [
    dict(type='mmpretrain.RandomResizedCrop', scale=crop_size, crop_ratio_range=(0.35, 1.0),
         backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackImageInputs'),
]
train_dataloader = dict(batch_size=16, dataset=dict(pipeline=train_pipeline))
