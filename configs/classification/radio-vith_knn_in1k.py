# RADIOv2.5-H/16 k-NN on ImageNet-1k at 1024 px (see radio-vitb_knn_in1k.py).
# Reference top-1: 85.81 (README.md).
_base_ = ['./radio-vitl_knn_in1k.py']
# v2.5-H adds a fifth teacher (Florence2), hence one more summary token; the summary
# teachers' tokens are assumed to be the first three as for B/L (RADIOCheckpointCheckHook
# refuses a file whose summary_idxs differ and names them).
model = dict(backbone=dict(arch='h', num_summary_tokens=5), summary_idxs=[0, 1, 2])
