# RADIOv2.5-H/16 CLIP zero-shot on ImageNet-1k at 1024 px (see
# radio-vitb_clip-zero-shot_in1k.py). Reference top-1: 82.51 (README.md).
_base_ = ['./radio-vitl_clip-zero-shot_in1k.py']
model = dict(
    # v2.5-H adds a fifth teacher (Florence2), hence one more summary token.
    backbone=dict(arch='h', num_summary_tokens=5),
    # Hidden width as assumed in configs/distill/radio_vith.py (check radio2mm.py's output).
    summary_head=dict(in_dims=1280, hidden_dims=1520))
