# RADIOv2.5-H/16 linear probe on ImageNet-1k (see radio-vitb_linear-probe_in1k.py).
_base_ = ['./radio-vitb_linear-probe_in1k.py']
model = dict(
    # v2.5-H adds a fifth teacher (Florence2), hence one more summary token. Its summary
    # tokens are assumed to be the first three as for B/L; RADIOCheckpointCheckHook refuses
    # a file whose summary_idxs differ and names them (radio2mm.py prints them too).
    backbone=dict(arch='h', num_summary_tokens=5, summary_idxs=[0, 1, 2],
                  init_cfg=dict(type='Pretrained', checkpoint='checkpoints/radio_v2.5-h.pth')),
    head=dict(in_channels=3 * 1280))
