# RADIO ViT-H/16 student trained the RADIOv2.5 way: every teacher at every resolution.
# Follows: RADIOv2.5 ("RADIO Amplified", arXiv 2412.07679; NVlabs/RADIO
# RADIOv2.5_tech_report.md), which fixed the "mode switching" of RADIOv2/v2.1 (their
# zero-shot accuracy falls to 1.29% at 768 px, tech report table "Zero Shot").
#
#   tools/dist_train.sh configs/distill/radio_v2.5_vith.py 8    # 8 GPUs x 16 = 128 images/step
#
# Where each value comes from ([ours] = not published, our choice):
# - teachers DFN CLIP-H/378, SigLIP SO400M/384, DINOv2-g-reg, SAM-H/1024: README "Supported
#   Adaptors" and the tech report (_base_/models/radio_v2.5_teachers.py cites each).
# - two partitions, every teacher in both; the student at 432 px in one and 1024 px in the
#   other, "trained ... simultaneously" (NVlabs/RADIO issue #89, M. Ranzinger 2024-09-27;
#   issue #113 on RADIO Amplified). Half the batch in each: [ours] (no published split).
# - mosaic in the low-resolution partition: "mosaic augmentation" is a RADIOv2.5 component
#   (arXiv 2412.07679, abstract); its layout here, SAM (1024 px) seeing a 2 x 2 mosaic of the
#   432 px images while the student sees each alone, is [ours], our reading of the paper
#   (configs/distill/README.md, "Every teacher at every resolution").
# - high-resolution partition: the 378/384/224 px teachers resize the 1024 px view down
#   (mode 'resize'): v2.5 predates FeatSharp (2.2025), whose tiling C-RADIOv3 introduced.
# - PHI-S on every teacher's features with an MSE loss: README news 10.2.2024 (PHI-S, arXiv
#   2410.01680, "one of the major algorithm updates behind the version 2.5 releases"). A
#   running estimate (momentum 1e-3) is [ours]; the paper estimates the statistics offline:
#   tools/analysis_tools/estimate_phi_s.py writes files for phi_s=dict(NAME=dict(stats_file=)).
# - cosine summary loss, ViT-H/16 with CPE up to 2048 px, EMA, schedule, data, bf16: as
#   radio_vith.py (sources there). Summary tokens: one per summary teacher (3) [ours].
_base_ = [
    '../_base_/default_runtime_distill.py',
    '../_base_/datasets/distill_datacomp_wds.py',
    '../_base_/schedules/distill_600k.py',
    '../_base_/models/radio_v2.5_teachers.py',
    '../_base_/distill_evaluation.py',
]

all_teachers = ['clip', 'siglip', 'dino_v2', 'sam']
phi_s_momentum = 1e-3
model = dict(
    type='RADIODistiller',
    student=dict(
        type='RADIOModel',
        backbone=dict(type='RADIOViT', arch='h', patch_size=16, cpe_max_size=2048,
                      num_summary_tokens=3, register_multiple=8, drop_path_rate=0.1,
                      pos_dropout=0.1, with_cp=True)),
    teachers={{_base_.teachers}},
    adaptor_cfg=dict(hidden_dims=1520, num_inner=1),
    partitions=[
        dict(name='low', teachers=all_teachers, batch_fraction=0.5,
             resolutions=[(432, 432)], teacher_inputs=dict(sam=dict(mode='mosaic'))),
        dict(name='high', teachers=all_teachers, batch_fraction=0.5,
             resolutions=[(1024, 1024)]),
    ],
    feature_loss=dict(type='MSEFeatureLoss'),
    phi_s={name: dict(momentum=phi_s_momentum) for name in all_teachers})

crop_size = 1024
train_pipeline = [
    dict(type='mmpretrain.RandomResizedCrop', scale=crop_size, crop_ratio_range=(0.35, 1.0),
         backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackImageInputs'),
]
train_dataloader = dict(batch_size=16, dataset=dict(pipeline=train_pipeline))
train_cfg = dict(type='StreamTrainLoop')
