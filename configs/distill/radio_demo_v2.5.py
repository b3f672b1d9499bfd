# Mode switching at demo scale, recipe 2 of 2: RADIOv2.5's partitions. Follows: RADIOv2.5
# ("RADIO Amplified", Heinrich et al., arXiv 2412.07679): every teacher is distilled at a low
# and at a high student resolution, "hybrid resolution training, where they learn at both low
# res (432 for the ViT models), and hi-res (1024) simultaneously" (NVlabs/RADIO issue #89,
# maintainer's answer), which removed RADIOv2.1's mode switching (RADIOv2.5_tech_report.md).
# The student, teachers, data, resolutions, batch split, schedule and seed are
# radio_demo_v2.1.py's (which lists its sources), so that benchmarks/bench_mode_switch.py
# compares the partitions alone (benchmarks/README.md, "Mode switching").
#
#   python tools/train.py configs/distill/radio_demo_v2.5.py
#
# - two named partitions, each with CLIP, DINOv2 and SAM: arXiv 2412.07679 (multi-resolution
#   training); the names give the per-partition loss keys (loss_sam_features_low, ...).
# - SAM in the low-resolution partition sees 2 x 2 mosaics of the images (256 px cells of its
#   512 px input) instead of each image upsampled: RADIOv2.5's mosaic augmentation as
#   radio_mm/models/distillers/teacher_inputs.py reads it (grid='auto').
# - CLIP and DINOv2 in the high-resolution partition see each image resized to their 224 px
#   (the student's features are resampled onto their grid), as RADIOv2.5's low-resolution
#   teachers did; FeatSharp tiling is C-RADIOv3's, not used here.
# - batch split 0.75 / 0.25 as radio_demo_v2.1.py (the paper's split is not used: the two
#   recipes then differ only in which teachers see each partition) [ours].
_base_ = ['./radio_demo_v2.1.py']

all_teachers = ['clip', 'dino_v2', 'sam']
model = dict(partitions=[
    dict(name='low', teachers=all_teachers, batch_fraction=0.75,
         resolutions=_base_.low_resolutions, teacher_inputs=dict(sam=dict(mode='mosaic'))),
    dict(name='high', teachers=all_teachers, batch_fraction=0.25,
         resolutions=_base_.high_resolutions),
])
