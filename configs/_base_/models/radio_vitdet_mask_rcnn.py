# Mask R-CNN on a RADIOv2.5-B/16 student in ViTDet form (Li et al., "Exploring Plain Vision
# Transformer Backbones for Object Detection", ECCV 2022): windowed attention in the ViT, a
# simple feature pyramid from its stride-16 map, 2-conv RPN and LayerNorm'd 4conv1fc box and
# mask heads. Same layout as mmdet projects/ViTDet/configs/vitdet_mask-rcnn_vit-b-mae_lsj-100e.py
# with RADIOViT in place of the MAE ViT.
_base_ = 'mmdet::_base_/models/mask-rcnn_r50_fpn.py'

norm_cfg = dict(type='radio_mm.LN2d', requires_grad=True)
model = dict(
    data_preprocessor=dict(
        # RADIO's input conditioner: OpenAI CLIP mean/std on the 0-255 scale
        # (NVlabs/RADIO radio/input_conditioner.py).
        mean=[122.770938, 116.746013, 104.093736],
        std=[68.500533, 66.632158, 70.323163],
        bgr_to_rgb=True,
        pad_mask=True,
        # RADIOViT takes sides that are multiples of patch_size; 32 as in ViTDet.
        pad_size_divisor=32),
    backbone=dict(
        _delete_=True,
        type='radio_mm.RADIOViT',
        arch='b',
        patch_size=16,
        cpe_max_size=2048,
        # Token counts of the RADIOv2.5 releases (4 teachers, registers to a multiple of 8);
        # they must match the checkpoint (tools/model_converters/radio2mm.py prints them).
        num_summary_tokens=4,
        register_multiple=8,
        # 16-patch windows tile the 64x64 grid at 1024 px (4x4 windows), the ViTDet mode of
        # the RADIOv2.5 tech report's zero-shot table ("ViTDet 16"); any window works (ViTDet's
        # 14 pads the grid to 70x70 inside the windowed blocks). Global blocks: RADIOViT's
        # default, the last block of each quarter (2, 5, 8, 11 for ViT-B), as in ViTDet.
        window_size=16,
        drop_path_rate=0.1,
        out_indices=(-1, ),
        # Weights: init_cfg=dict(type='Pretrained', checkpoint='checkpoints/radio_b.pth') with
        # a checkpoint from tools/model_converters/radio2mm.py or a distillation run. No
        # init_cfg key here (random init by default), so that
        # --cfg-options model.backbone.init_cfg.type=Pretrained can create it.
    ),
    neck=dict(
        _delete_=True,
        type='radio_mm.SimpleFPN',
        backbone_channel=768,
        in_channels=[192, 384, 768, 768],
        out_channels=256,
        num_outs=5,
        norm_cfg=norm_cfg),
    rpn_head=dict(num_convs=2),
    roi_head=dict(
        bbox_head=dict(type='Shared4Conv1FCBBoxHead', conv_out_channels=256, norm_cfg=norm_cfg),
        mask_head=dict(norm_cfg=norm_cfg)))
