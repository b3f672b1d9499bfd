# RADIO ViT-B/16 student: the ViT-H recipe (radio_vith.py, which lists every value's source)
# with a smaller student. Follows: radio_vith.py; the released RADIOv2.5-B was trained with
# the v2.5 method (RADIOv2.5_tech_report.md), which this recipe does not reproduce.
#
#   tools/dist_train.sh configs/distill/radio_vitb.py 8    # 8 GPUs x 32 = 256 images/step,
#                                                          # lr scaled to 1e-3 x 256/1024
#
# [ours]: no drop-path and no activation checkpointing (a ViT-B fits), 32 images per GPU,
# adaptor hidden width 768.
_base_ = ['./radio_vith.py']
model = dict(student=dict(backbone=dict(arch='b', drop_path_rate=0.0, with_cp=False)),
             adaptor_cfg=dict(hidden_dims=768))
train_dataloader = dict(batch_size=32)
