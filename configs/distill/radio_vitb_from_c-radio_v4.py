# RADIO ViT-B/16 student distilled from a C-RADIOv4-H release (a RADIO model as the teacher):
# C-RADIOv4's knowledge at a size that trains and runs on small GPUs (NVlabs/RADIO issues #10
# and #146 ask for this). Follows: no release; the RADIOv2.5 method (every teacher at every
# resolution, radio_v2.5_vith.py) with one teacher, the release. Values are [ours] unless cited.
#
#   python tools/fetch_teachers.py --teachers c-radio_v4-h      # the official release file
#   tools/dist_train.sh configs/distill/radio_vitb_from_c-radio_v4.py 8
#
# - one RADIOTeacher (radio_mm/models/teachers/radio_teacher.py): its summary target is the
#   release's siglip2-g adaptor output, so the student's head inherits SigLIP2's text
#   alignment (README: the siglip2-g adaptor supports language encoding); its feature target
#   is the release's backbone output after the feature normalizer (what official downstream
#   code reads, README). One backbone pass gives both [ours].
# - the release runs at 512 px, its preferred resolution (release record, radio_mm/formats/
#   official_releases.py); at 768-1024 px students it is tiled (mode 'tile'; C-RADIOv4 was
#   trained with FeatSharp, so its tiles agree at their seams) [ours].
# - student resolutions: C-RADIOv4's low and high sets (tech report arXiv 2601.17237, as
#   quoted in radio_mm issue #17), high capped at 1024 px [ours]; half the batch each [ours].
# - shift-equivariant views (std 0.5, issue #181) keep the student from learning the
#   release's own grid-fixed patterns [ours to apply to a RADIO teacher].
# - cosine summary + cosine/smooth-L1 feature losses (AM-RADIO sec. 3.1); 32 images per GPU,
#   adaptor hidden width 768, no drop-path or activation checkpointing: as radio_vitb.py.
_base_ = [
    '../_base_/default_runtime_distill.py',
    '../_base_/datasets/distill_datacomp_wds.py',
    '../_base_/schedules/distill_600k.py',
    '../_base_/distill_evaluation.py',
]

teacher_root = 'checkpoints/teachers'
teachers = [
    dict(type='RADIOTeacher', name='c-radio_v4', dtype='bf16', input_size=512,
         pretrained=f'{teacher_root}/c-radio_v4-h_half.pth.tar',
         summary_from='siglip2-g', features_from='backbone'),
]
tiled = dict(mode='tile', tiles='auto')
model = dict(
    type='RADIODistiller',
    student=dict(
        type='RADIOModel',
        backbone=dict(type='RADIOViT', arch='b', patch_size=16, cpe_max_size=2048,
                      num_summary_tokens=1, register_multiple=8)),
    teachers=teachers,
    adaptor_cfg=dict(hidden_dims=768, num_inner=1),
    partitions=[
        dict(name='low', teachers=['c-radio_v4'], batch_fraction=0.5,
             resolutions=[(r, r) for r in (128, 192, 224, 256, 384, 432)]),
        dict(name='high', teachers=['c-radio_v4'], batch_fraction=0.5,
             resolutions=[(r, r) for r in (512, 768, 1024)],
             teacher_inputs={'c-radio_v4': tiled}),
    ],
    shifted_views=dict(type='ShiftedViews', std=0.5))

crop_size = 1024
train_pipeline = [
    dict(type='mmpretrain.RandomResizedCrop', scale=crop_size, crop_ratio_range=(0.35, 1.0),
         backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackImageInputs'),
]
train_dataloader = dict(batch_size=32, dataset=dict(pipeline=train_pipeline))
train_cfg = dict(type='StreamTrainLoop')
# The feature picture at 512 px (the teacher's resolution; E-RADIO cannot take the runtime's
# 432 px); EMA as the runtime's.
custom_hooks = [
    dict(type='SkippedImagesHook'),
    dict(type='RADIOModelMetaHook'),
    dict(type='FeaturePCAHook', size=512, interval=20000),
    dict(type='StudentEMAHook', momentum=1e-4),
]
