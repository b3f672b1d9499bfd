# AM-RADIO schedule: 600k steps in one cosine cycle (paper sec. 4). The paper leaves the
# learning rate, warm-up and weight decay open: lr 1e-3, 10k warm-up steps, weight decay 0.02,
# betas (0.9, 0.999) and clipping at norm 1 are [ours], set for a global batch of 1024.
max_iters = 600000
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
optim_wrapper = dict(
    type='AmpOptimWrapper', dtype='bfloat16',  # bf16 on GPUs (README: v2.1 "trained in bf16")
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=0.02),
    clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=10000),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=10000, end=max_iters, eta_min=1e-6),
]
# lr 1e-3 is for 1024 images per step; mmengine scales it linearly to
# (number of GPUs x train_dataloader.batch_size) / 1024 when the run starts.
auto_scale_lr = dict(enable=True, base_batch_size=1024)
