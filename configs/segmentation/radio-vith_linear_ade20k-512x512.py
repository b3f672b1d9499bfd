# RADIOv2.5-H/16 linear probe on ADE20K (AM-RADIO reports 51.58 mIoU, see README.md).
_base_ = ['./radio-vitb_linear_ade20k-512x512.py']
model = dict(
    # v2.5-H adds a fifth teacher (Florence2), hence one more summary token.
    backbone=dict(arch='h', num_summary_tokens=5),
    decode_head=dict(in_channels=[1280]))
