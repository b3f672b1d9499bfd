# The teachers of C-RADIOv4 (C-RADIOv4 tech report, arXiv 2601.17237; NVlabs/RADIO README).
# Weights come from local files; fetch them once with
#   python tools/fetch_teachers.py --teachers siglip2-g dino_v3 sam2
# Sources, per value:
# - the set: README "We've updated our teacher set to [SigLIP2-g-384, DINOv3-7B, SAM3]" and
#   "Supported Adaptors", "C-RADIOv4: siglip2-g, dino_v3, sam3"; summaries from SigLIP2 and
#   DINOv3, dense features from all three (tech report sec. 1);
# - siglip2-g = open_clip's ViT-gopt-16-SigLIP2-384 at its native 384 px (tech report:
#   SigLIP2 runs at 384 px, FeatSharp upsamples its features for high-resolution students);
# - dino_v3 = timm's vit_7b_patch16_dinov3 (LVD-1689M weights); 512 px is [ours] (RoPE: any
#   multiple of 16; no source gives the teacher's resolution);
# - SAM3 -> SAM 2.1 Hiera-L [ours, substitute]: the `sam3` package (0.1.4) runs its image
#   encoder on CPU, but radio_mm has no SAM3 teacher yet (docs/teachers.md says why). C-RADIOv4
#   learned SAM3's "vision features just before the neck" (NVlabs/RADIO issue #175), so SAM 2
#   gives its trunk output (features='trunk') at its native 1024 px.
teacher_root = 'checkpoints/teachers'
teachers = [
    dict(type='OpenCLIPTeacher', name='siglip2-g', model_name='ViT-gopt-16-SigLIP2-384',
         pretrained_tag='webli', dtype='bf16',
         pretrained=f'{teacher_root}/siglip2_gopt_16_384/open_clip_pytorch_model.bin'),
    dict(type='DINOv3Teacher', name='dino_v3', arch='vit_7b_patch16_dinov3', input_size=512,
         dtype='bf16', pretrained=f'{teacher_root}/dinov3_vit7b16_lvd1689m/model.safetensors'),
    dict(type='SAM2Teacher', name='sam2', arch='sam2.1_hiera_l', features='trunk', dtype='bf16',
         pretrained=f'{teacher_root}/sam2.1_hiera_large.pt'),
]
