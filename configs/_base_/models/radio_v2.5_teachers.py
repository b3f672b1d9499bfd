# The teachers of RADIOv2.5 (NVlabs/RADIO, RADIOv2.5_tech_report.md; "RADIO Amplified",
# arXiv 2412.07679). Weights come from local files; fetch them once with
#   python tools/fetch_teachers.py --teachers clip siglip dino_v2 sam
# Sources, per value:
# - the set {clip, siglip, dino_v2, sam}: README "Supported Adaptors", "RADIOv2.5: clip,
#   siglip, dino_v2, sam";
# - clip = DFN CLIP ViT-H/14 at 378 px: the AM-RADIO teacher (README news 2.15.2024, paper
#   sec. 4.1), kept as the default zero-shot head of v2.5 (tech report: "we'd suggest
#   defaulting to DFN CLIP");
# - siglip = ViT-SO400M-14-SigLIP-384 at 384 px: tech report, "SigLIP": "The specific SigLIP
#   version we're using is ViT-SO400M-14-SigLIP-384 ... in the OpenCLIP library";
# - dino_v2 = DINOv2 ViT-g/14 with registers: AM-RADIO's, and the model the tech report's
#   mode-switching plot measures against ("DINOv2-g-reg"); 224 px is [ours] (the AM-RADIO
#   base config's choice; DINOv2 was finetuned at 518 px, any multiple of 14 works);
# - sam = SAM ViT-H at 1024 px: AM-RADIO's (paper sec. 4.3).
# Every teacher sees both resolution partitions in v2.5 (NVlabs/RADIO issue #113, answer on
# RADIO Amplified); the partitions themselves belong to the recipe.
teacher_root = 'checkpoints/teachers'
teachers = [
    dict(type='OpenCLIPTeacher', name='clip', model_name='ViT-H-14-378-quickgelu',
         pretrained_tag='dfn5b', dtype='bf16',
         pretrained=f'{teacher_root}/dfn5b_clip_vit_h_14_378/open_clip_pytorch_model.bin'),
    dict(type='OpenCLIPTeacher', name='siglip', model_name='ViT-SO400M-14-SigLIP-384',
         pretrained_tag='webli', dtype='bf16',
         pretrained=f'{teacher_root}/siglip_so400m_14_384/open_clip_pytorch_model.bin'),
    dict(type='DINOv2Teacher', name='dino_v2', arch='vit_giant_patch14_reg4_dinov2',
         input_size=224, dtype='bf16',
         pretrained=f'{teacher_root}/dinov2_vitg14_reg4_pretrain.pth'),
    dict(type='SAMTeacher', name='sam', arch='vit_h', img_size=1024, dtype='bf16',
         pretrained=f'{teacher_root}/sam_vit_h_4b8939.pth'),
]
