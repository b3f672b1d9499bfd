import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from tiny_models import tiny_vit

from radio_mm.models.classifiers import RADIOCLIPZeroShot
from radio_mm.models.classifiers import clip_text_classifier as text_module
from radio_mm.models.classifiers.clip_text_classifier import (
    build_text_tower,
    clip_text_classifier,
    named_classnames,
    named_templates,
)

# A real open_clip CLIP architecture, shrunk (random weights): 48-d embeddings.
TINY_TEXT_TOWER = dict(
    model_name='ViT-B-32', pretrained=None,
    model_kwargs=dict(
        embed_dim=48,
        vision_cfg=dict(image_size=32, patch_size=16, width=32, layers=1, head_width=16),
        text_cfg=dict(context_length=16, vocab_size=49408, width=32, heads=2, layers=1)))
CLASSNAMES = ['tabby cat', 'coffee mug', 'space shuttle']
TEMPLATES = ['a photo of a {}.', 'a blurry photo of the {}.', 'art of the {}.']


def test_class_weights_are_renormalized_means_of_normalized_prompts():
    torch.manual_seed(0)
    weights = clip_text_classifier(CLASSNAMES, TEMPLATES, **TINY_TEXT_TOWER)
    torch.manual_seed(0)  # the same random tower again
    model, tokenizer = build_text_tower(**TINY_TEXT_TOWER)
    with torch.no_grad():
        expected = []
        for name in CLASSNAMES:
            prompts = model.encode_text(tokenizer([t.format(name) for t in TEMPLATES]))
            expected.append(F.normalize(F.normalize(prompts, dim=1).mean(0), dim=0))
    assert weights.shape == (48, len(CLASSNAMES))
    assert torch.allclose(weights, torch.stack(expected, dim=1), atol=1e-5)
    assert torch.allclose(weights.norm(dim=0), torch.ones(len(CLASSNAMES)))


def test_class_weights_are_cached(tmp_path, monkeypatch):
    first = clip_text_classifier(CLASSNAMES, TEMPLATES, cache_dir=str(tmp_path),
                                 **TINY_TEXT_TOWER)
    assert len(list(tmp_path.glob('*.pth'))) == 1

    def no_text_tower(*args, **kwargs):
        raise AssertionError('the cached weights should have been used')

    monkeypatch.setattr(text_module, 'build_text_tower', no_text_tower)
    again = clip_text_classifier(CLASSNAMES, TEMPLATES, cache_dir=str(tmp_path),
                                 **TINY_TEXT_TOWER)
    assert torch.equal(first, again)
    with pytest.raises(AssertionError, match='cached'):  # other prompts, other key
        clip_text_classifier(CLASSNAMES, TEMPLATES[:1], cache_dir=str(tmp_path),
                             **TINY_TEXT_TOWER)


def test_packaged_names_prompts_and_tokenizer():
    import open_clip
    assert len(named_classnames('imagenet')) == 1000
    assert named_classnames('imagenet')[281] == 'tabby cat'
    openai = named_templates('openai')
    assert len(openai) == 80 and all('{}' in t for t in openai)
    # DFN CLIP's tokenizer is open_clip's SimpleTokenizer with its BPE vocabulary in the
    # package: no hub download.
    tokenizer = open_clip.get_tokenizer(text_module.DFN_CLIP_MODEL)
    assert isinstance(tokenizer, open_clip.tokenizer.SimpleTokenizer)
    assert osp.isfile(osp.join(osp.dirname(open_clip.__file__), 'bpe_simple_vocab_16e6.txt.gz'))
    assert tokenizer(['a photo of a cat.']).shape == (1, 77)


def test_bad_prompts_and_weights_are_refused(tmp_path):
    with pytest.raises(ValueError, match="'{}'"):
        named_templates(['a photo of a cat.'])
    with pytest.raises(ValueError, match='openai'):
        named_templates('fancy')
    with pytest.raises(ValueError, match='imagenet'):
        named_classnames('cifar')
    with pytest.raises(FileNotFoundError, match='DFN5B'):
        build_text_tower(pretrained=str(tmp_path / 'missing.bin'))


def _tiny_zero_shot(**kwargs):
    backbone = tiny_vit(num_layers=1, cpe_max_size=64, num_summary_tokens=2)
    return RADIOCLIPZeroShot(
        backbone=backbone, summary_head=dict(in_dims=32, hidden_dims=16, out_dims=48),
        summary_slot=1, text_encoder=TINY_TEXT_TOWER, classnames=CLASSNAMES,
        templates=TEMPLATES, **kwargs).eval()


def test_predictions_rank_classes_by_cosine_similarity():
    from mmpretrain.structures import DataSample
    model = _tiny_zero_shot()
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        samples = model.predict(images, [DataSample().set_gt_label(0) for _ in range(2)])
        embeddings = model.extract_feat(images)
    cosines = embeddings @ model.class_weights(images.device)
    for sample, cosine in zip(samples, cosines):
        assert sample.pred_score.sum().item() == pytest.approx(1.0)
        assert torch.equal(sample.pred_score.argsort(), cosine.argsort())
        assert sample.pred_label.item() == cosine.argmax().item()
    # The adaptor reads the configured summary token, RADIOModel's adaptor key layout.
    assert 'adaptors.clip.summary_mlp.fc1.weight' in model.state_dict()
    assert not any(p.requires_grad for p in model.parameters())


def test_labels_beyond_the_class_names_are_refused():
    from mmpretrain.structures import DataSample
    model = _tiny_zero_shot()
    with pytest.raises(ValueError, match='classnames'):
        model.predict(torch.randn(1, 3, 32, 32), [DataSample().set_gt_label(3)])
    with pytest.raises(RuntimeError, match='tools/test.py'):
        model(torch.randn(1, 3, 32, 32), mode='loss')


def _toy_hf_tokenizer(directory, words):
    """A word-level Hugging Face tokenizer saved locally (stands in for SigLIP2's Gemma)."""
    pytest.importorskip('transformers')
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast
    vocab = {w: i for i, w in enumerate(['<pad>', '<eos>', '<unk>'] + sorted(words))}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token='<unk>'))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token='<pad>', eos_token='<eos>',
                            unk_token='<unk>').save_pretrained(str(directory))
    return len(vocab)


def test_siglip2_text_tower_zero_shot(tmp_path):
    """The `siglip2` adaptor (C-RADIOv4) classifies with SigLIP2's text tower (open_clip's
    port of google/siglip2-*, pooled last token), from a local tokenizer; no download."""
    words = {w for t in TEMPLATES + CLASSNAMES for w in t.replace('{}', '').replace('.', '')
             .lower().split()}
    vocab = _toy_hf_tokenizer(tmp_path / 'tok', words)
    tower = dict(model_name=text_module.SIGLIP2_TEXT_MODELS['siglip2-g-384'], pretrained=None,
                 tokenizer=str(tmp_path / 'tok'), model_kwargs=dict(
                     embed_dim=24,
                     vision_cfg=dict(image_size=32, patch_size=16, width=32, layers=1,
                                     head_width=16),
                     text_cfg=dict(context_length=16, vocab_size=vocab, width=32, heads=2,
                                   layers=1, no_causal_mask=True, proj_bias=True,
                                   pool_type='last')))
    torch.manual_seed(0)
    weights = clip_text_classifier(CLASSNAMES, TEMPLATES, **tower)
    torch.manual_seed(0)
    model, tokenizer = build_text_tower(**tower)
    tokens = tokenizer(['A photo of a Tabby, Cat!'])
    assert tokens.shape == (1, 16)  # canonicalized (lowercase, no punctuation), padded
    assert (tokens[0, :5] != tokenizer(['a photo of a tabby cat'])[0, :5]).sum() == 0
    with torch.no_grad():
        prompts = model.encode_text(tokenizer([t.format(CLASSNAMES[0]) for t in TEMPLATES]))
    expected = F.normalize(F.normalize(prompts, dim=1).mean(0), dim=0)
    assert weights.shape == (24, 3) and torch.allclose(weights[:, 0], expected, atol=1e-5)
    with pytest.raises(FileNotFoundError, match='tokenizer=dir'):
        build_text_tower(**dict(tower, tokenizer=None))


def test_radio2mm_prints_a_siglip2_zero_shot_config(tmp_path):
    from release_checkpoints import build_release

    from radio_mm.apis.student_configs import student_configs
    from radio_mm.formats.radio_checkpoint import read_radio_checkpoint
    release, _ = build_release('c-radio_v4-h')
    student = read_radio_checkpoint(release, source='v4')
    zero_shot = student_configs(student.model_cfg, 'v4.pth', student.teachers)['zero_shot']
    assert set(zero_shot) == {'siglip2-g'}
    assert zero_shot['siglip2-g']['text_encoder']['model_name'] == 'ViT-gopt-16-SigLIP2-384'
    assert zero_shot['siglip2-g']['summary_head']['out_dims'] == 24
