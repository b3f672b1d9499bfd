# C-RADIOv4-H/16 linear probe on ADE20K (frozen backbone, BN + 1x1 conv, as
# radio-vitb_linear_ade20k-512x512.py). Weights: the release `c-radio_v4-h_half.pth.tar`
# converted by tools/model_converters/radio2mm.py (or the release itself), given as
#   --cfg-options model.backbone.init_cfg.type=Pretrained \
#       model.backbone.init_cfg.checkpoint=checkpoints/c-radio_v4-h.pth
# The student is `vit_huge_patch16_224` (ViT-H/16, 32 blocks); teachers SigLIP2-g, DINOv3-7B
# and SAM3 (C-RADIOv4 tech report, arXiv 2601.17237). The token counts below are
# assumed, not read from the released file: radio2mm prints the real ones, and strict
# loading names any difference.
_base_ = ['./radio-vitb_linear_ade20k-512x512.py']
model = dict(
    backbone=dict(
        arch='h',
        num_summary_tokens=3,
        register_multiple=8),
    decode_head=dict(in_channels=[1280]))
