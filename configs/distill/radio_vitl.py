# RADIO ViT-L/16 student: the ViT-H recipe (radio_vith.py, which lists every value's source)
# with a smaller student. Follows: radio_vith.py; the released RADIOv2.5-L was trained with
# the v2.5 method (RADIOv2.5_tech_report.md), which this recipe does not reproduce.
#
#   tools/dist_train.sh configs/distill/radio_vitl.py 8    # 8 GPUs x 16 = 128 images/step,
#                                                          # lr scaled to 1e-3 x 128/1024
#
# [ours]: drop-path 0.1, adaptor hidden width 1024.
_base_ = ['./radio_vith.py']
model = dict(student=dict(backbone=dict(arch='l', drop_path_rate=0.1)),
             adaptor_cfg=dict(hidden_dims=1024))
