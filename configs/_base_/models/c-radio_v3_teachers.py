# The teachers of C-RADIOv3 (NVlabs/RADIO README, "C-RADIOv3 Model Family"). Weights come
# from local files; fetch them once with
#   python tools/fetch_teachers.py --teachers clip siglip2-g dino_v2 sam
# Sources, per value:
# - the set {clip, siglip2-g, dino_v2, sam}: README "Supported Adaptors", "C-RADIOv3: clip,
#   siglip2-g, dino_v2, sam";
# - siglip2-g = SigLIP2-g-384 (google/siglip2-giant-opt-patch16-384; open_clip's
#   ViT-gopt-16-SigLIP2-384) at 384 px: NVlabs/RADIO issue #163 ("we use SigLIP2-g-384");
# - clip = DFN CLIP ViT-H/14-378, dino_v2 = DINOv2-g-reg, sam = SAM ViT-H: the adaptor names
#   of the earlier releases; that the models behind them stayed the same is [assumed] (no
#   source names them for v3), as are their resolutions (378, 224 [ours], 1024);
# - high-resolution targets: C-RADIOv3 was trained with FeatSharp (README news 6.25.2025,
#   "We used this to train all of the C-RADIOv3 models"); the tiling/upsampling belongs to
#   the recipe's partitions.
teacher_root = 'checkpoints/teachers'
teachers = [
    dict(type='OpenCLIPTeacher', name='clip', model_name='ViT-H-14-378-quickgelu',
         pretrained_tag='dfn5b', dtype='bf16',
         pretrained=f'{teacher_root}/dfn5b_clip_vit_h_14_378/open_clip_pytorch_model.bin'),
    dict(type='OpenCLIPTeacher', name='siglip2-g', model_name='ViT-gopt-16-SigLIP2-384',
         pretrained_tag='webli', dtype='bf16',
         pretrained=f'{teacher_root}/siglip2_gopt_16_384/open_clip_pytorch_model.bin'),
    dict(type='DINOv2Teacher', name='dino_v2', arch='vit_giant_patch14_reg4_dinov2',
         input_size=224, dtype='bf16',
         pretrained=f'{teacher_root}/dinov2_vitg14_reg4_pretrain.pth'),
    dict(type='SAMTeacher', name='sam', arch='vit_h', img_size=1024, dtype='bf16',
         pretrained=f'{teacher_root}/sam_vit_h_4b8939.pth'),
]
