# AM-RADIO recipe (sec. 4): 600k steps in one cosine cycle. The paper leaves the learning
# rate, warm-up and weight decay open; these are our choices for a global batch of 1024.
max_iters = 600000
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
optim_wrapper = dict(
    type='AmpOptimWrapper', dtype='bfloat16',  # bf16 on GPUs; see radio_demo.py for CPU
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=0.02),
    clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=10000),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=10000, end=max_iters, eta_min=1e-6),
]
