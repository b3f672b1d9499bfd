# C-RADIOv4-SO400M: the C-RADIOv4 recipe (c-radio_v4_vith.py, which cites every value) with
# a SigLIP-SO400M-shaped student. Follows: C-RADIOv4-SO400M (NVlabs/RADIO README; release
# c-radio_v4-so400m). The SO400M shape (width 1152, 27 blocks, MLP 4304) is timm's
# vit_so400m_patch14_siglip, at patch 16 like the release (radio_mm/models/backbones/
# radio_vit.py ARCH_SETTINGS).
#
#   tools/dist_train.sh configs/distill/c-radio_v4_so400m.py 8
#
# [ours]: the same partitions, losses and batch as the ViT-H recipe; adaptor hidden width 1152.
_base_ = ['./c-radio_v4_vith.py']
model = dict(student=dict(backbone=dict(arch='so400m')), adaptor_cfg=dict(hidden_dims=1152))
