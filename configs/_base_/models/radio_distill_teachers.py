# The AM-RADIO teachers (sec. 4.1): DFN CLIP ViT-H/14 at 378 px, DINOv2 ViT-g/14 with
# registers, SAM ViT-H at 1024 px. Weights come from local files; fetch them once with
#   python tools/fetch_teachers.py --out checkpoints/teachers
teacher_root = 'checkpoints/teachers'
teachers = [
    dict(type='OpenCLIPTeacher', name='clip', model_name='ViT-H-14-378-quickgelu',
         pretrained_tag='dfn5b', dtype='bf16',
         pretrained=f'{teacher_root}/dfn5b_clip_vit_h_14_378/open_clip_pytorch_model.bin'),
    dict(type='DINOv2Teacher', name='dino_v2', arch='vit_giant_patch14_reg4_dinov2',
         input_size=224, dtype='bf16',
         pretrained=f'{teacher_root}/dinov2_vitg14_reg4_pretrain.pth'),
    dict(type='SAMTeacher', name='sam', arch='vit_h', img_size=1024, dtype='bf16',
         pretrained=f'{teacher_root}/sam_vit_h_4b8939.pth'),
]
# Summary-less SAM learns on its own high-resolution share of each batch (paper sec. 4.3);
# the student sees that share at 1024 px and the rest at 256 px, then 432 px from mid-run.
partitions = [
    dict(teachers=['clip', 'dino_v2'], batch_fraction=0.75, resolutions=[(256, 256)],
         milestones=[(300000, [(432, 432)])]),
    dict(teachers=['sam'], batch_fraction=0.25, resolutions=[(1024, 1024)]),
]
