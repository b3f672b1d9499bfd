# RADIO ViT-B/16 student; the ViT-H recipe with a smaller student and no checkpointing.
_base_ = ['./radio_vith.py']
model = dict(student=dict(backbone=dict(arch='b', drop_path_rate=0.0, with_cp=False)),
             adaptor_cfg=dict(hidden_dims=768))
train_dataloader = dict(batch_size=32)
