# Fine-tuning RADIOv2.5-B/16 with UPerNet on ADE20K, following mmseg's ViT-B + MLN + UPerNet
# recipe (mmseg configs/vit/vit_vit-b16_mln_upernet_8xb2-80k_ade20k-512x512.py).
# The backbone trains; MultiLevelNeck turns four stride-16 block outputs into a
# stride-4/8/16/32 pyramid for UPerHead.
_base_ = [
    '../_base_/models/radio_linear_seg.py',
    '../_base_/datasets/ade20k.py',
    '../_base_/schedules/schedule_80k.py',
    '../_base_/default_runtime_seg.py',
]
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    # cpe_train_crop stays False (base): training sees the test-time position grid.
    backbone=dict(out_indices=(2, 5, 8, 11), frozen=False, drop_path_rate=0.1),
    neck=dict(
        type='MultiLevelNeck',
        in_channels=[768, 768, 768, 768],
        out_channels=768,
        scales=[4, 2, 1, 0.5]),
    decode_head=dict(
        _delete_=True,
        type='UPerHead',
        in_channels=[768, 768, 768, 768],
        in_index=[0, 1, 2, 3],
        pool_scales=(1, 2, 3, 6),
        channels=512,
        dropout_ratio=0.1,
        num_classes=150,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=dict(
        type='FCNHead',
        in_channels=768,
        in_index=3,
        channels=256,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=150,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)))

# Layer-wise lr decay, as mmseg fine-tunes MAE/BEiT ViTs with UPerNet
# (mmseg configs/mae/mae-base_upernet_8xb2-amp-160k_ade20k-512x512.py: AdamW 1e-4, weight
# decay 0.05, rate 0.65 over 12 blocks). The scope prefix picks radio_mm's constructor,
# which reads block depths from RADIOViT, over mmseg's same-named one (BEiT/MAE only).
# Backbone norms, position embeddings and summary/register tokens get no weight decay.
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    constructor='radio_mm.LayerDecayOptimizerConstructor',
    paramwise_cfg=dict(decay_rate=0.65, decay_type='layer_wise', num_layers=12))
