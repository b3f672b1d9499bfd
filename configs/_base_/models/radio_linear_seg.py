# Linear probe of a frozen RADIO student: BatchNorm + 1x1 conv on the final patch features
# (AM-RADIO's ADE20K/VOC protocol, taken from DINOv2; see radio_mm/models/heads/bn_linear_head.py).
# The backbone here is RADIOv2.5-B; configs/segmentation/* swap in the other sizes.
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    # RADIO's input conditioner: OpenAI CLIP mean/std, here on the 0-255 scale
    # (NVlabs/RADIO radio/input_conditioner.py).
    mean=[122.770938, 116.746013, 104.093736],
    std=[68.500533, 66.632158, 70.323163],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=(512, 512),
    # Test images keep their aspect ratio; pad them to whole patches, and the segmentor
    # crops the padding off the logits again.
    test_cfg=dict(size_divisor=16))
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='radio_mm.RADIOViT',
        arch='b',
        patch_size=16,
        cpe_max_size=2048,
        # The summary/register token count must match the checkpoint's
        # patch_generator.cls_token.token rows (its args.teachers / register_multiple);
        # these are the RADIOv2.5 values assumed by radio_mm (4 teachers, multiple of 8).
        num_summary_tokens=4,
        register_multiple=8,
        out_indices=(-1, ),
        frozen=True,
        # A frozen probe evaluates features as they are at test time: no CPE crops.
        cpe_train_crop=False,
        # Weights: add init_cfg=dict(type='Pretrained', checkpoint='radio_v2.5-b.pth') for a
        # converted student with plain backbone keys, plus prefix='backbone.' to take the
        # backbone out of a segmentor checkpoint (see configs/segmentation/README.md).
    ),
    decode_head=dict(
        type='radio_mm.BNLinearHead',
        in_channels=[768],
        in_index=[0],
        input_transform='resize_concat',
        dropout_ratio=0.0,
        num_classes=150,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
