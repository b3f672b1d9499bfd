# RADIO ViT-L/16 student; the ViT-H recipe with a smaller student.
_base_ = ['./radio_vith.py']
model = dict(student=dict(backbone=dict(arch='l', drop_path_rate=0.1)),
             adaptor_cfg=dict(hidden_dims=1024))
