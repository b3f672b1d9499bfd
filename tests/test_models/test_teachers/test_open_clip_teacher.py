"""OpenCLIPTeacher against open_clip's own model, transforms and registry."""
import warnings

import open_clip
import pytest
import timm
import torch
from PIL import Image
from safetensors.torch import save_file
from skimage import data

from radio_mm.models.teachers import OpenCLIPTeacher

TINY_VISION = dict(image_size=64, patch_size=16, width=64, layers=2, head_width=32)
TINY_TEXT = dict(context_length=8, vocab_size=64, width=32, heads=2, layers=1)


def _teacher(**kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)
        return OpenCLIPTeacher(**kwargs)


def test_targets_are_open_clips_image_embedding_and_final_tokens(photos, tmp_path):
    clip = open_clip.create_model('ViT-B-16', pretrained=None, embed_dim=32,
                                  vision_cfg=TINY_VISION, text_cfg=TINY_TEXT).eval()
    path = str(tmp_path / 'open_clip_pytorch_model.bin')
    torch.save(clip.state_dict(), path)  # the full CLIP layout published checkpoints have

    teacher = _teacher(model_name='ViT-B-16', pretrained=path,
                       model_cfg=dict(embed_dim=32, vision_cfg=TINY_VISION))
    out = teacher(photos)
    x = teacher.preprocess(photos)
    with torch.no_grad():
        embedding = clip.encode_image(x)  # projected, not normalized
        final = clip.visual.forward_intermediates(x, indices=1, normalize_intermediates=True,
                                                  intermediates_only=True)
    assert torch.allclose(out.summary, embedding, atol=1e-5)
    assert torch.allclose(out.features, final['image_intermediates'][-1], atol=1e-5)
    assert not torch.allclose(out.summary, torch.nn.functional.normalize(embedding, dim=-1))


def test_preprocess_matches_open_clips_transform():
    teacher = _teacher(model_name='ViT-B-16', pretrained_tag='laion2b_s34b_b88k',
                       model_cfg=dict(embed_dim=32, vision_cfg=TINY_VISION))
    transform = open_clip.image_transform(64, is_train=False, mean=teacher.mean, std=teacher.std,
                                          resize_mode='squash', interpolation='bicubic')
    image = data.chelsea()  # 300x451: squashed to 64x64 by both
    reference = transform(Image.fromarray(image))[None]
    ours = teacher.preprocess(torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255)
    assert ours.shape == reference.shape == (1, 3, 64, 64)
    # PIL and torch bicubic differ slightly; normalized values have unit-ish spread
    assert (ours - reference).abs().mean() < 0.02
    assert teacher.mean == open_clip.OPENAI_DATASET_MEAN


def test_timm_tower_gives_trunk_tokens_and_pooled_embedding(photos):
    # SigLIP's config with timm's tiny test ViT as the trunk: same wrapper code path
    teacher = _teacher(model_name='ViT-B-16-SigLIP', pretrained_tag='webli',
                       model_cfg=dict(vision_cfg=dict(timm_model_name='test_vit')))
    assert teacher.mean == teacher.std == (0.5, 0.5, 0.5)  # SigLIP's statistics, from the tag
    out = teacher(photos)
    x = teacher.preprocess(photos)
    with torch.no_grad():
        pooled = teacher.encoder(x)
        final = teacher.encoder.trunk.forward_intermediates(x, indices=1, norm=True,
                                                            intermediates_only=True)
    assert out.summary.shape == (2, teacher.summary_dim) == (2, 64)
    assert torch.allclose(out.summary, pooled, atol=1e-5)
    assert out.features.shape == (2, 64, 10, 10)
    assert torch.allclose(out.features, final[-1], atol=1e-5)


def test_weights_with_the_wrong_activation_are_refused_before_building():
    with pytest.raises(ValueError, match='-quickgelu'):
        OpenCLIPTeacher('ViT-H-14-378', pretrained_tag='dfn5b')


def test_unknown_model_and_tag_list_the_choices():
    with pytest.raises(ValueError, match='ViT-H-14-378-quickgelu'):
        OpenCLIPTeacher('ViT-H-14-378-quickgel')
    with pytest.raises(ValueError, match='dfn5b'):
        OpenCLIPTeacher('ViT-H-14-378-quickgelu', pretrained_tag='laion5b')


SIGLIP2_TOY_TRUNK = dict(embed_dim=64, depth=2, num_heads=2, img_size=64)


def test_siglip2_gives_the_attention_pooled_embedding_and_every_token(photos, tmp_path):
    """SigLIP2-g (C-RADIOv3/v4's teacher) at toy size: the published open_clip file holds the
    timm trunk under visual.trunk.* beside the text tower; it has no CLS token, and its
    embedding is the MAP head's pooled query."""
    trunk = timm.create_model('vit_giantopt_patch16_siglip_384', pretrained=False,
                              num_classes=0, global_pool='map', **SIGLIP2_TOY_TRUNK).eval()
    state = {f'visual.trunk.{k}': v for k, v in trunk.state_dict().items()}
    state.update({'text.token_embedding.weight': torch.zeros(8, 4), 'logit_scale': torch.ones(1)})
    path = str(tmp_path / 'open_clip_model.safetensors')
    save_file(state, path)

    teacher = _teacher(model_name='ViT-gopt-16-SigLIP2-384', pretrained_tag='webli',
                       pretrained=path, trunk_kwargs=SIGLIP2_TOY_TRUNK)
    out = teacher(photos)
    x = teacher.preprocess(photos)
    with torch.no_grad():
        tokens = trunk.forward_features(x)
        pooled = trunk.forward_head(tokens)
    assert trunk.num_prefix_tokens == 0 and trunk.attn_pool is not None
    assert teacher.mean == teacher.std == (0.5, 0.5, 0.5)
    assert out.summary.shape == (2, teacher.summary_dim) == (2, 64)
    assert torch.allclose(out.summary, pooled, atol=1e-5)
    assert out.features.shape == (2, 64, 4, 4)
    assert torch.allclose(out.features, tokens.transpose(1, 2).reshape(2, 64, 4, 4), atol=1e-5)


def test_trunk_kwargs_are_refused_for_towers_they_cannot_size():
    with pytest.raises(ValueError, match='timm towers'):
        OpenCLIPTeacher('ViT-B-16', trunk_kwargs=dict(depth=2))
    with pytest.raises(ValueError, match="timm_proj='none'"):  # ViT-B-16-SigLIP: timm_proj none
        OpenCLIPTeacher('ViT-B-16-SigLIP', model_cfg=dict(vision_cfg=dict(timm_proj='linear')),
                        trunk_kwargs=dict(depth=2))


def test_siglip_so400m_14_runs_at_384_px_on_27x27_patches(photos):
    """RADIOv2.5's SigLIP (ViT-SO400M-14-SigLIP-384): 384 px is no multiple of 14; the patch
    convolution reads 27x27 patches, as in open_clip, so the teacher must accept it."""
    teacher = _teacher(model_name='ViT-SO400M-14-SigLIP-384', pretrained_tag='webli',
                       trunk_kwargs=dict(embed_dim=32, depth=1, num_heads=2))
    assert teacher.input_size == (384, 384) and teacher.feature_hw == (27, 27)
    assert teacher(photos[:1]).features.shape == (1, 32, 27, 27)
