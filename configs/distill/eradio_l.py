# E-RADIO-L student (the paper's efficient hybrid CNN-Transformer) with the ViT-H recipe.
# E-RADIO has no summary tokens: every adaptor reads the pooled summary (slot 0). Inputs must
# be multiples of 32, which every resolution here is.
_base_ = ['./radio_vith.py']
model = dict(
    student=dict(_delete_=True, type='RADIOModel', backbone=dict(type='ERADIO', arch='l')),
    adaptor_cfg=dict(hidden_dims=1536))
