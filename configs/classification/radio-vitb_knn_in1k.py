# RADIOv2.5-B/16 k-NN classification on ImageNet-1k, evaluation only: the DINO protocol as
# NVlabs/RADIO examples/knn_classification.py runs it (L2-normalized backbone summary,
# cosine similarity, k=20 neighbours from the train split, votes weighted by exp(sim / 0.07)),
# short side resized to 768 and center-cropped to 768x768. Reference top-1: 81.89 (README.md).
#   python tools/test.py configs/classification/radio-vitb_knn_in1k.py checkpoints/radio_v2.5-b.pth
# CHECKPOINT is the student (tools/model_converters/radio2mm.py output or a distillation
# checkpoint); nothing is trained.
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
    type='radio_mm.RADIOFeatureExtractor',
    backbone=dict(
        type='radio_mm.RADIOViT',
        arch='b',
        patch_size=16,
        cpe_max_size=2048,
        num_summary_tokens=4,
        register_multiple=8),
    # The official model's summary_idxs: the tokens of the teachers trained with a summary
    # loss (DFN CLIP, SigLIP, DINOv2; not SAM's), NVlabs/RADIO issue #80 (v2.5-B: 3 x 768).
    # radio2mm.py prints a file's; RADIOCheckpointCheckHook refuses a file that disagrees.
    summary_idxs=[0, 1, 2])
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_evaluator = dict(_delete_=True, type='radio_mm.KNNAccuracy', k=20, temperature=0.07,
                      topk=(1, 5))
# The bank: the test dataloader (same transform) on the train split.
custom_hooks = [dict(type='radio_mm.KNNBankHook', dataset=dict(split='train'))]
# Evaluation only (fp16=True runs the model under autocast on GPUs).
test_cfg = dict(type='TestLoop', fp16=False)
train_dataloader = None
val_dataloader = None
val_evaluator = None
