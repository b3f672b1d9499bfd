# RADIOv2.5-B/16 linear probe on ADE20K: frozen backbone, BN + 1x1 conv, 512x512 crops, 80k
# iterations at batch 16 (8 GPUs x 2). AM-RADIO reports 48.94 mIoU (see README.md).
_base_ = [
    '../_base_/models/radio_linear_seg.py',
    '../_base_/datasets/ade20k.py',
    '../_base_/schedules/schedule_80k.py',
    '../_base_/default_runtime_seg.py',
]
