"""Today's teachers (SigLIP2, DINOv3, SAM 2, a RADIO release) drive RADIODistiller as the
paper's three do: one adaptor per teacher, a finite loss per teacher, gradients to the
student only."""
import os.path as osp
import warnings

import torch
from tiny_models import tiny_radio_model, tiny_vit

from radio_mm.models.distillers import RADIODistiller

RELEASE = osp.join(osp.dirname(__file__), '..', '..', 'data', 'radio_official_tiny.pth.tar')
TEACHERS = [
    dict(type='OpenCLIPTeacher', name='siglip2-g', model_name='ViT-gopt-16-SigLIP2-384',
         pretrained_tag='webli', trunk_kwargs=dict(embed_dim=32, depth=1, num_heads=2,
                                                   img_size=64)),
    dict(type='DINOv3Teacher', name='dino_v3', arch='vit_7b_patch16_dinov3', input_size=64,
         arch_kwargs=dict(embed_dim=32, depth=1, num_heads=2)),
    dict(type='SAM2Teacher', name='sam2', arch='sam2.1_hiera_l', image_size=128,
         features='trunk', encoder_overrides=dict(
             trunk=dict(embed_dim=8, num_heads=1, stages=[1, 1, 2, 1], global_att_blocks=[3],
                        window_spec=[4, 4, 4, 2], window_pos_embed_bkg_spatial_size=[2, 2]),
             neck=dict(d_model=16, backbone_channel_list=[64, 32, 16, 8],
                       position_encoding=dict(num_pos_feats=16)))),
    dict(type='RADIOTeacher', name='radio', pretrained=RELEASE, summary_from='clip',
         features_from='backbone', input_size=64),
]


def test_todays_teachers_train_a_student():
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)  # random-weight teachers
        model = RADIODistiller(student=tiny_radio_model(tiny_vit(num_summary_tokens=4)),
                               teachers=TEACHERS, adaptor_cfg=dict(hidden_dims=32))
    losses = model.loss(torch.rand(2, 3, 64, 64))
    names = [t['name'] for t in TEACHERS]
    assert set(model.student.adaptors) == set(names)
    for name in names:
        assert any(name in key for key in losses), (name, sorted(losses))
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    total.backward()
    assert all(p.grad is None for t in model.teachers.values() for p in t.parameters())
    assert any(p.grad is not None for p in model.student.backbone.parameters())
