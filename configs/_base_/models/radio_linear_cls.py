# Linear probe of a frozen RADIO student on its summary tokens: one linear layer on the
# concatenated summary tokens (one per teacher), as a CLS-token linear probe does for a ViT.
# The backbone here is RADIOv2.5-B; configs/classification/* swap in the other sizes.
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='radio_mm.RADIOViT',
        arch='b',
        patch_size=16,
        cpe_max_size=2048,
        # Must match the checkpoint's patch_generator.cls_token.token rows; these are the
        # RADIOv2.5 values assumed across radio_mm (4 teachers, register multiple of 8).
        num_summary_tokens=4,
        register_multiple=8,
        # (B, 3 * 768): the summary tokens of the teachers trained with a summary loss (DFN
        # CLIP, SigLIP, DINOv2; SAM's token is untrained), the official summary_idxs
        # (NVlabs/RADIO issue #80: v2.5-B's summary is 3 x 768). 'summary_avgpool' adds the
        # mean patch token.
        out_type='summary',
        summary_idxs=[0, 1, 2],
        frozen=True,
        # A frozen probe sees features as they are at test time: no CPE crops.
        cpe_train_crop=False,
        # A converted release (tools/model_converters/radio2mm.py) or a distillation
        # checkpoint; the backbone takes its backbone.* / student.backbone.* weights.
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/radio_v2.5-b.pth')),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=3 * 768,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))
