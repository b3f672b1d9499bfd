# RADIOv2.5-B/16 linear probe on ImageNet-1k: frozen backbone, one linear layer on the
# summary tokens, 224 px, 100 epochs at batch 512 (8 GPUs x 64). AM-RADIO publishes no
# ImageNet linear-probe number (see README.md).
_base_ = [
    '../_base_/models/radio_linear_cls.py',
    '../_base_/datasets/imagenet_bs64.py',
    '../_base_/schedules/linear_probe_sgd_100e.py',
    '../_base_/default_runtime_cls.py',
]
