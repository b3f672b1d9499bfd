# RADIO ViT-H/16 student with the AM-RADIO paper's three teachers (Ranzinger et al., CVPR
# 2024). Follows: the paper's recipe, not a release. The released RADIOv2/v2.1 ViT-H/16 also
# distilled OpenAI CLIP (NVlabs/RADIO model_results.csv, teachers of radio_v2): that set is
# radio_v2.1_vith.py. RADIOv2.5 and later train differently (every teacher at every
# resolution, PHI-S, more teachers): radio_v2.5_vith.py, c-radio_v3_vith.py, c-radio_v4_vith.py.
#
#   tools/dist_train.sh configs/distill/radio_vith.py 8    # 8 GPUs x 16 = 128 images/step,
#                                                          # lr scaled to 1e-3 x 128/1024
#   GPUS=64 tools/slurm_train.sh PARTITION radio_h configs/distill/radio_vith.py
#                                                          # 64 x 16 = 1024, lr 1e-3 as set
#
# Where each value comes from ([ours] = not published, our choice):
# - teachers DFN CLIP ViT-H/14-378, DINOv2-g/14-reg, SAM-H at 1024 px: paper sec. 4.1
#   (_base_/models/radio_distill_teachers.py); SAM on its own partition: paper sec. 4.3.
# - 600k steps, one cosine cycle: paper sec. 4; lr/warm-up/decay: [ours]
#   (_base_/schedules/distill_600k.py); base batch 1024 for auto_scale_lr: [ours].
# - student 256 px, then 432 px: paper sec. 4; switching at 300k (mid-run): [ours]. 432 is
#   radio_v2/v2.1's preferred resolution (radio/common.py RESOURCE_MAP).
# - ViT-H, patch 16, CPE up to 2048 px: radio/common.py (radio_v2.1: patch_size=16,
#   max_resolution=2048). Summary tokens 2 (one per summary teacher), registers to a
#   multiple of 8, drop-path 0.1, pos-dropout 0.1, activation checkpointing: [ours].
# - adaptor MLP hidden 1520 with one inner block: [ours], after the released heads' shape.
# - crops of 1024 px, RandomResizedCrop scale (0.35, 1), flips: [ours], so the SAM partition
#   has full resolution (the other teachers resize down).
# - bf16 AMP: README news 3.21.2024 (RADIOv2.1 "trained in bf16").
# - DataComp-style WebDataset input: paper sec. 4 (DataComp-1B); shard paths: placeholders.
# - student EMA (StudentEMAHook, _base_/default_runtime_distill.py): releases ship
#   state_dict_ema; momentum 1e-4: [ours].
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
# The WebDataset stream has no length: iterate it endlessly, restart it on resume.
train_cfg = dict(type='StreamTrainLoop')
