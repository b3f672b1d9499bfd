# Linear probe: SGD with momentum, no weight decay, 5 warm-up epochs then cosine decay over
# 100 epochs, lr 0.1 at batch 512 (8 GPUs x 64). Not tuned for RADIO: the AM-RADIO papers
# publish no ImageNet linear-probe recipe.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=5,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=95, eta_min=0.0, by_epoch=True, begin=5, end=100,
         convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=100, val_interval=10)
val_cfg = dict()
test_cfg = dict()
# Scales lr with the real batch size when run with --auto-scale-lr.
auto_scale_lr = dict(base_batch_size=512)
