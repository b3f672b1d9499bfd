# C-RADIOv3-B/16 k-NN on ImageNet-1k (protocol of radio-vitb_knn_in1k.py, 768 px).
#   python tools/model_converters/radio2mm.py c-radio_v3-b_half.pth.tar checkpoints/c-radio_v3-b.pth
#   python tools/test.py configs/classification/c-radio-v3-b_knn_in1k.py \
#       checkpoints/c-radio_v3-b.pth
# Student `vit_base_patch16_v2_224` (LayerScale); token counts assumed (radio2mm prints
# the release's own).
_base_ = ['./radio-vitb_knn_in1k.py']
model = dict(backbone=dict(arch='b', init_values=1e-5, num_summary_tokens=4,
                           register_multiple=8))
