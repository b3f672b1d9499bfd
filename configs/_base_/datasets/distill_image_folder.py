# Unlabeled images from a folder tree (or `ann_file` list) for distillation.
crop_size = 432
train_pipeline = [
    dict(type='mmpretrain.RandomResizedCrop', scale=crop_size, crop_ratio_range=(0.35, 1.0),
         backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackImageInputs'),
]
train_dataloader = dict(
    batch_size=32,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type='UnlabeledImageDataset', data_root='data/images',
                 pipeline=train_pipeline))
