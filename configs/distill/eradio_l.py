# E-RADIO-L student (the paper's efficient hybrid CNN-Transformer) with the ViT-H recipe's
# teachers and schedule (radio_vith.py, which lists every value's source). Follows: the
# recipe of radio_vith.py at E-RADIO's resolution; not the released eradio_v1, which had other
# teachers (Meta CLIP + DINOv2: NVlabs/RADIO model_results.csv).
#
#   tools/dist_train.sh configs/distill/eradio_l.py 8      # 8 GPUs x 16 = 128 images/step,
#                                                          # lr scaled to 1e-3 x 128/1024
#
# - 512 px final resolution: radio/common.py RESOURCE_MAP['e-radio_v2'].preferred_resolution
#   (512, 512), E-RADIO's resolution in the paper. E-RADIO inputs must be multiples of 32
#   (five stride-2 stages), so the ViT-H recipe's 432 px cannot be used (432 = 13.5 x 32);
#   the distiller refuses such a size when it is built.
# - 256 px first stage, switch at 300k: [ours], as radio_vith.py.
# - E-RADIO has no summary tokens: every adaptor reads the pooled summary (slot 0).
# - adaptor hidden width 1536 (the E-RADIO neck width): [ours].
_base_ = ['./radio_vith.py']
model = dict(
    student=dict(_delete_=True, type='RADIOModel', backbone=dict(type='ERADIO', arch='l')),
    adaptor_cfg=dict(hidden_dims=1536),
    partitions=[
        dict(teachers=['clip', 'dino_v2'], batch_fraction=0.75, resolutions=[(256, 256)],
             milestones=[(300000, [(512, 512)])]),
        dict(teachers=['sam'], batch_fraction=0.25, resolutions=[(1024, 1024)]),
    ])
# The feature picture runs the student too: at 512 px, not the runtime's 432.
custom_hooks = [
    dict(type='SkippedImagesHook'),
    dict(type='RADIOModelMetaHook'),
    dict(type='FeaturePCAHook', size=512, interval=20000),
    dict(type='StudentEMAHook', momentum=1e-4),
]
