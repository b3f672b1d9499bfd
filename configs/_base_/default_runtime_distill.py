# Runtime shared by every distillation config (radio_mm scope, iteration-based).
default_scope = 'radio_mm'
custom_imports = dict(imports=['radio_mm'], allow_failed_imports=False)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # tools/train.py switches nccl to gloo on machines without CUDA.
    dist_cfg=dict(backend='nccl'))

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='ResumableCheckpointHook', by_epoch=False, interval=5000,
                    max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'))
custom_hooks = [
    dict(type='SkippedImagesHook'),
    dict(type='RADIOModelMetaHook'),
    dict(type='FeaturePCAHook', size=432, interval=20000),
    # EMA of the student + adaptors (teachers are never copied): checkpoints hold the averaged
    # weights in state_dict and the raw ones in ema_state_dict. Official releases ship an EMA
    # too (state_dict_ema); its decay is unpublished: 1 - 1e-4 is [ours].
    dict(type='StudentEMAHook', momentum=1e-4),
]

# Partitions can leave an adaptor idle for a step; DDP must tolerate that.
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)

log_processor = dict(by_epoch=False, window_size=50)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends, name='visualizer')
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0)
