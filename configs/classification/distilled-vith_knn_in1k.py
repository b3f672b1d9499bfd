# k-NN on ImageNet-1k of a ViT-H/16 student distilled with configs/distill/radio_vith.py
# (DFN CLIP + DINOv2 partition at 256 then 432 px, SAM at 1024 px), at the resolution its
# CLIP/DINOv2 summary tokens were trained at: 432 px. Above the CLIP/DINOv2 resolution a
# student that saw SAM alone at high resolution "mode switches" (RADIOv2.5 tech report):
# measure it with tools/analysis_tools/mode_switch.py before evaluating larger.
#   python tools/test.py configs/classification/distilled-vith_knn_in1k.py \
#       work_dirs/radio_vith/iter_600000.pth
# The run's checkpoint loads as it is (its EMA weights when it has them); radio2mm.py prints
# the configs that fit any other run.
_base_ = ['./radio-vitb_knn_in1k.py']
resolution = 432
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=resolution, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=resolution),
    dict(type='PackInputs'),
]
model = dict(
    # The student of configs/distill/radio_vith.py: one summary token per summary teacher.
    backbone=dict(_delete_=True, type='radio_mm.RADIOViT', arch='h', patch_size=16,
                  cpe_max_size=2048, num_summary_tokens=2, register_multiple=8),
    # clip and dino_v2 (RADIODistiller stores them as the student's summary_idxs).
    summary_idxs=[0, 1])
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
