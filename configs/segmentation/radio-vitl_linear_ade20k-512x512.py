# RADIOv2.5-L/16 linear probe on ADE20K (AM-RADIO reports 51.47 mIoU, see README.md).
_base_ = ['./radio-vitb_linear_ade20k-512x512.py']
model = dict(
    backbone=dict(arch='l'),
    decode_head=dict(in_channels=[1024]))
