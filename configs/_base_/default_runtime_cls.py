# Runtime for classification configs that run inside mmpretrain (mmpretrain's default
# runtime plus the import that registers radio_mm's models, metric and hook in its scope).
default_scope = 'mmpretrain'
custom_imports = dict(imports=['radio_mm'], allow_failed_imports=False)
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=100),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='radio_mm.ResumableCheckpointHook', interval=10, max_keep_ckpts=2,
                    save_best='auto'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='VisualizationHook', enable=False),
    # tools/test.py CHECKPOINT: a RADIO student file must match the configured token split,
    # heads and summary tokens (radio_mm/engine/hooks/radio_checkpoint_check_hook.py).
    radio_checkpoint=dict(type='radio_mm.RADIOCheckpointCheckHook'))
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=None, deterministic=False)
