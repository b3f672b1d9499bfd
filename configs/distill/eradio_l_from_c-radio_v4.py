# E-RADIO-L student distilled from a C-RADIOv4-H release: radio_vitb_from_c-radio_v4.py (which
# gives every value's source) with the efficient hybrid CNN-Transformer student.
#
#   tools/dist_train.sh configs/distill/eradio_l_from_c-radio_v4.py 8
#
# - E-RADIO inputs are multiples of 32 (five stride-2 stages; the distiller refuses others),
#   so the low set keeps C-RADIOv4's 128-384 px and drops 432 (13.5 x 32) [ours]; 512 px is
#   E-RADIO's preferred resolution (radio/common.py RESOURCE_MAP['e-radio_v2']).
# - E-RADIO has no summary tokens: the adaptor reads the pooled summary; hidden width 1536
#   (the E-RADIO neck width) as eradio_l.py [ours].
_base_ = ['./radio_vitb_from_c-radio_v4.py']
model = dict(
    student=dict(_delete_=True, type='RADIOModel', backbone=dict(type='ERADIO', arch='l')),
    adaptor_cfg=dict(hidden_dims=1536),
    partitions=[
        dict(name='low', teachers=['c-radio_v4'], batch_fraction=0.5,
             resolutions=[(r, r) for r in (128, 192, 224, 256, 384)]),
        dict(name='high', teachers=['c-radio_v4'], batch_fraction=0.5,
             resolutions=[(r, r) for r in (512, 768, 1024)],
             teacher_inputs={'c-radio_v4': dict(mode='tile', tiles='auto')}),
    ])
train_dataloader = dict(batch_size=16)
