# RADIOv2.5-L/16 linear probe on ImageNet-1k (see radio-vitb_linear-probe_in1k.py).
_base_ = ['./radio-vitb_linear-probe_in1k.py']
model = dict(
    backbone=dict(arch='l',
                  init_cfg=dict(type='Pretrained', checkpoint='checkpoints/radio_v2.5-l.pth')),
    head=dict(in_channels=3 * 1024))
