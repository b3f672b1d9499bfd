# C-RADIOv3-B/16 linear probe on ADE20K (frozen backbone, BN + 1x1 conv, as
# radio-vitb_linear_ade20k-512x512.py). Weights: the release `c-radio_v3-b_half.pth.tar`
# converted by tools/model_converters/radio2mm.py (or the release itself), given as
#   --cfg-options model.backbone.init_cfg.type=Pretrained \
#       model.backbone.init_cfg.checkpoint=checkpoints/c-radio_v3-b.pth
# The student is `vit_base_patch16_v2_224` (NVlabs/RADIO radio/extra_timm_models.py): a
# ViT-B/16 with LayerScale; its DINOv2-style `reg_token` is unused under CPE. The token counts
# below are assumed, not read from the released file: radio2mm prints the real ones, and
# strict loading names any difference.
_base_ = ['./radio-vitb_linear_ade20k-512x512.py']
model = dict(
    backbone=dict(
        arch='b',
        init_values=1e-5,  # switches LayerScale on; the values come from the weights
        num_summary_tokens=4,
        register_multiple=8),
    decode_head=dict(in_channels=[768]))
