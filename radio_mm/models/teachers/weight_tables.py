"""Where the teachers' published weights are: URLs and file names, and nothing else.

A leaf module (it imports no teacher), so the teachers, ``paper_teachers``,
``teacher_weight_files`` and ``tools/fetch_teachers.py`` all read one table.
"""
from typing import NamedTuple

DEFAULT_CHECKPOINT_DIR = 'checkpoints/teachers'

# The published image encoders (github.com/facebookresearch/segment-anything#model-checkpoints)
SAM_CHECKPOINT_URLS = {
    'vit_h': 'https://dl.fbaipublicfiles.com/segment_anything/sam_vit_h_4b8939.pth',
    'vit_l': 'https://dl.fbaipublicfiles.com/segment_anything/sam_vit_l_0b3195.pth',
    'vit_b': 'https://dl.fbaipublicfiles.com/segment_anything/sam_vit_b_01ec64.pth',
}

# sam2/build_sam.py HF_MODEL_ID_TO_FILENAMES names the files; facebookresearch/sam2
# checkpoints/download_ckpts.sh downloads them from these folders
SAM2_CHECKPOINT_URLS = {
    **{f'sam2.1_hiera_{size}': 'https://dl.fbaipublicfiles.com/segment_anything_2/092824/'
       f'sam2.1_hiera_{name}.pt'
       for size, name in (('t', 'tiny'), ('s', 'small'), ('b+', 'base_plus'), ('l', 'large'))},
    **{f'sam2_hiera_{size}': 'https://dl.fbaipublicfiles.com/segment_anything_2/072824/'
       f'sam2_hiera_{name}.pt'
       for size, name in (('t', 'tiny'), ('s', 'small'), ('b+', 'base_plus'), ('l', 'large'))},
}


class TeacherWeights(NamedTuple):
    """One published checkpoint: a plain URL, or a file in a Hugging Face repository."""
    filename: str  # where configs expect it, relative to the checkpoint folder
    url: str = ''
    hf_repo: str = ''
    hf_file: str = ''

    @property
    def source(self):
        return self.url or f'https://huggingface.co/{self.hf_repo}/resolve/main/{self.hf_file}'


class PaperTeacher(NamedTuple):
    cfg: dict
    weights: TeacherWeights


AM_RADIO_TEACHERS = {
    # open_clip's registry: ViT-H-14-378-quickgelu / dfn5b -> hf_hub
    # 'apple/DFN5B-CLIP-ViT-H-14-378/'; the trailing slash means open_clip's default file
    # name, open_clip_pytorch_model.bin
    'clip': PaperTeacher(
        dict(type='OpenCLIPTeacher', name='clip', model_name='ViT-H-14-378-quickgelu',
             pretrained_tag='dfn5b'),
        TeacherWeights('dfn5b_clip_vit_h_14_378/open_clip_pytorch_model.bin',
                       hf_repo='apple/DFN5B-CLIP-ViT-H-14-378',
                       hf_file='open_clip_pytorch_model.bin')),
    # facebookresearch/dinov2 hubconf: <base>/dinov2_vitg14/dinov2_vitg14_reg4_pretrain.pth
    'dino_v2': PaperTeacher(
        dict(type='DINOv2Teacher', name='dino_v2', arch='vit_giant_patch14_reg4_dinov2',
             input_size=224),
        TeacherWeights('dinov2_vitg14_reg4_pretrain.pth',
                       url='https://dl.fbaipublicfiles.com/dinov2/dinov2_vitg14/'
                       'dinov2_vitg14_reg4_pretrain.pth')),
    'sam': PaperTeacher(
        dict(type='SAMTeacher', name='sam', arch='vit_h', img_size=1024),
        TeacherWeights('sam_vit_h_4b8939.pth', url=SAM_CHECKPOINT_URLS['vit_h'])),
}


# The teachers of the later releases (configs/_base_/models/*_teachers.py) that the paper's
# table above lacks. open_clip's registry names the Hugging Face repositories (tag 'webli',
# hf_hub 'timm/<model>/'); open_clip_pytorch_model.bin is its default file name
# (open_clip/constants.py HF_WEIGHTS_NAME). timm's pretrained cfg names DINOv3's.
RELEASE_TEACHER_WEIGHTS = {
    # RADIOv2.5's SigLIP (RADIOv2.5_tech_report.md, "SigLIP": ViT-SO400M-14-SigLIP-384)
    'siglip': TeacherWeights('siglip_so400m_14_384/open_clip_pytorch_model.bin',
                             hf_repo='timm/ViT-SO400M-14-SigLIP-384',
                             hf_file='open_clip_pytorch_model.bin'),
    # C-RADIOv3/v4's SigLIP2-g-384 (NVlabs/RADIO issue #163)
    'siglip2-g': TeacherWeights('siglip2_gopt_16_384/open_clip_pytorch_model.bin',
                                hf_repo='timm/ViT-gopt-16-SigLIP2-384',
                                hf_file='open_clip_pytorch_model.bin'),
    # C-RADIOv4's DINOv3-7B (NVlabs/RADIO README); gated: accept the DINOv3 license first
    'dino_v3': TeacherWeights('dinov3_vit7b16_lvd1689m/model.safetensors',
                              hf_repo='timm/vit_7b_patch16_dinov3.lvd1689m',
                              hf_file='model.safetensors'),
    'sam2': TeacherWeights('sam2.1_hiera_large.pt', url=SAM2_CHECKPOINT_URLS['sam2.1_hiera_l']),
}
