# DataComp-style WebDataset shards: an endless stream split across ranks and dataloader
# workers (every rank x worker needs shards of its own; a multiple of ranks x workers splits
# evenly), trained with StreamTrainLoop, which restarts the stream with a new shard order on
# resume (see WebDatasetImages).
# The corpus path and shard count are placeholders for your copy.
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
    sampler=None,  # an IterableDataset shards itself
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type='WebDatasetImages', shards='data/datacomp/{00000..12799}.tar',
                 shuffle_buffer=5000, pipeline=train_pipeline))
