# RADIOv2.5-B/16 CLIP zero-shot classification on ImageNet-1k, evaluation only: the 'clip'
# adaptor's summary against DFN CLIP ViT-H/14-378 text embeddings of the 1000 class names in
# the 80 OpenAI prompts (NVlabs/RADIO examples/zero_shot_imagenet.py), short side resized to
# 768 and center-cropped. Reference top-1: 74.57 (README.md).
#   python tools/test.py configs/classification/radio-vitb_clip-zero-shot_in1k.py \
#       checkpoints/radio_v2.5-b.pth
# CHECKPOINT is the student with its 'clip' adaptor (tools/model_converters/radio2mm.py).
_base_ = ['../_base_/datasets/imagenet_bs64.py', '../_base_/default_runtime_cls.py']
resolution = 768
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=resolution, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=resolution),
    dict(type='PackInputs'),
]
model = dict(
    type='radio_mm.RADIOCLIPZeroShot',
    backbone=dict(
        type='radio_mm.RADIOViT',
        arch='b',
        patch_size=16,
        cpe_max_size=2048,
        num_summary_tokens=4,
        register_multiple=8),
    # The 'clip' adaptor's summary MLP: student width -> DFN CLIP's 1024-d embedding. The
    # hidden width and depth are assumed as in configs/distill/radio_vitb.py; radio2mm.py
    # prints the checkpoint's (summary_hidden_dims / summary_num_inner when present), and a
    # mismatch stops tools/test.py with the weights that do not fit.
    summary_head=dict(in_dims=768, hidden_dims=768, out_dims=1024, num_inner=1),
    adaptor_name='clip',
    summary_slot=0,
    text_encoder=dict(
        model_name='ViT-H-14-378-quickgelu',
        # apple/DFN5B-CLIP-ViT-H-14-378 open_clip_pytorch_model.bin (both towers), where
        # python tools/fetch_teachers.py --teachers clip puts it.
        pretrained='checkpoints/teachers/dfn5b_clip_vit_h_14_378/open_clip_pytorch_model.bin',
        # The 1000 x 80 prompt embeddings are computed once and kept here.
        cache_dir='work_dirs/zero_shot_text_cache'),
    # Labels are the sorted wnid folders, i.e. the standard ImageNet order of these names.
    classnames='imagenet',
    templates='openai')
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
# Evaluation only (fp16=True runs the model under autocast on GPUs).
test_cfg = dict(type='TestLoop', fp16=False)
train_dataloader = None
val_dataloader = None
val_evaluator = None
