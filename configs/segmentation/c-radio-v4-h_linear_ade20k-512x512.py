# C-RADIOv4-H/16 linear probe on ADE20K (frozen backbone, BN + 1x1 conv, as
# radio-vitb_linear_ade20k-512x512.py). Weights: the release `c-radio_v4-h_half.pth.tar`
# converted by tools/model_converters/radio2mm.py (or the release itself), given as
#   --cfg-options model.backbone.init_cfg.type=Pretrained \
#       model.backbone.init_cfg.checkpoint=checkpoints/c-radio_v4-h.pth
# The student is `vit_huge_patch16_224` (ViT-H/16, 32 blocks); teachers SigLIP2-g, DINOv3-7B
# and SAM3 (C-RADIOv4 tech report, arXiv 2601.17237). Token counts: transformers'
# RadioConfig (`src/transformers/models/radio/configuration_radio.py`, 5.24.0, documented
# for nvidia/C-RADIOv4-H): num_cls_tokens=3, num_registers=7, i.e. 3 summary + 7 register
# tokens. radio2mm prints the release's own; strict loading names any difference.
_base_ = ['./radio-vitb_linear_ade20k-512x512.py']
model = dict(
    backbone=dict(
        arch='h',
        num_summary_tokens=3,
        num_registers=7),
    decode_head=dict(in_channels=[1280]))
