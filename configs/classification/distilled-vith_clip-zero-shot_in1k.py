# CLIP zero-shot on ImageNet-1k of a ViT-H/16 student distilled with
# configs/distill/radio_vith.py, at its CLIP training resolution, 432 px (see
# distilled-vith_knn_in1k.py on mode switching above it).
#   python tools/test.py configs/classification/distilled-vith_clip-zero-shot_in1k.py \
#       work_dirs/radio_vith/iter_600000.pth
_base_ = ['./radio-vitb_clip-zero-shot_in1k.py']
resolution = 432
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=resolution, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=resolution),
    dict(type='PackInputs'),
]
model = dict(
    backbone=dict(_delete_=True, type='radio_mm.RADIOViT', arch='h', patch_size=16,
                  cpe_max_size=2048, num_summary_tokens=2, register_multiple=8),
    # The recipe's adaptor_cfg (hidden 1520, one inner block) into DFN CLIP's 1024 dims.
    summary_head=dict(in_dims=1280, hidden_dims=1520, out_dims=1024, num_inner=1),
    summary_slot=0)
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
