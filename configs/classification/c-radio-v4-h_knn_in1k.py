# C-RADIOv4-H/16 k-NN on ImageNet-1k (protocol of radio-vitb_knn_in1k.py, 768 px).
#   python tools/model_converters/radio2mm.py c-radio_v4-h_half.pth.tar checkpoints/c-radio_v4-h.pth
#   python tools/test.py configs/classification/c-radio-v4-h_knn_in1k.py \
#       checkpoints/c-radio_v4-h.pth
# Student `vit_huge_patch16_224`. Token counts and summary tokens: transformers'
# RadioConfig (`src/transformers/models/radio/configuration_radio.py`, 5.24.0, documented
# for nvidia/C-RADIOv4-H): num_cls_tokens=3, num_registers=7, summary_idxs=[0, 1] (SigLIP2
# and DINOv3; SAM3 has no summary). radio2mm prints the release's own; strict loading names
# any difference.
_base_ = ['./radio-vitb_knn_in1k.py']
model = dict(backbone=dict(arch='h', num_summary_tokens=3, num_registers=7),
             summary_idxs=[0, 1])
