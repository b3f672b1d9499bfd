# RADIO ViT-H/16 student with the RADIOv2/v2.1 teacher set. Follows: RADIOv2.1 (NVlabs/RADIO
# README news 3.21.2024; teachers of radio_v2 in model_results.csv: DFN CLIP, OpenAI CLIP,
# DINOv2, SAM). The release's training hyper-parameters are unpublished: everything not
# cited below is radio_vith.py's (which lists its sources) or marked [ours].
#
#   tools/dist_train.sh configs/distill/radio_v2.1_vith.py 8   # 8 GPUs x 16 = 128 images/step,
#                                                              # lr scaled to 1e-3 x 128/1024
#
# - teachers: DFN CLIP ViT-H/14 at 378 px, OpenAI CLIP ViT-L/14 at 336 px, DINOv2-g/14-reg,
#   SAM-H at 1024 px (model_results.csv, README news 2.15.2024). The OpenAI CLIP weights are
#   open_clip's 'openai' tag of ViT-L-14-336 (Hugging Face
#   timm/vit_large_patch14_clip_336.openai, file open_clip_pytorch_model.bin); save it as
#   checkpoints/teachers/openai_clip_vit_l_14_336/open_clip_pytorch_model.bin.
# - ViT-H/16, CPE up to 2048 px, preferred resolution 432 px: radio/common.py
#   RESOURCE_MAP['radio_v2.1']; bf16: README news 3.21.2024.
# - three summary tokens, one per summary teacher; OpenAI CLIP in the CLIP/DINOv2 partition:
#   [ours].
_base_ = ['./radio_vith.py']

openai_clip = dict(
    type='OpenCLIPTeacher', name='openai_clip', model_name='ViT-L-14-336-quickgelu',
    pretrained_tag='openai', dtype='bf16',
    pretrained='checkpoints/teachers/openai_clip_vit_l_14_336/open_clip_pytorch_model.bin')
model = dict(
    student=dict(backbone=dict(num_summary_tokens=3)),
    teachers=_base_.teachers + [openai_clip],
    partitions=[
        dict(teachers=['clip', 'openai_clip', 'dino_v2'], batch_fraction=0.75,
             resolutions=[(256, 256)], milestones=[(300000, [(432, 432)])]),
        dict(teachers=['sam'], batch_fraction=0.25, resolutions=[(1024, 1024)]),
    ])
