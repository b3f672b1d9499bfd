"""CLIP zero-shot classifier weights from an open_clip text tower.

Each class is the mean of its prompt embeddings ("a photo of a {}." ...), each normalized
before averaging, and the mean normalized again (Radford et al., 2021, sec. 3.1.4; open_clip
``build_zero_shot_classifier``, which does the work here). The class names and the 80 OpenAI
prompt templates ship with open_clip, and so does its default tokenizer's BPE vocabulary
(``open_clip/bpe_simple_vocab_16e6.txt.gz``), so nothing is downloaded.
"""
import hashlib
import json
import logging
import os
import os.path as osp

import torch
from mmengine.logging import print_log

from radio_mm.utils.atomic_files import save_torch_atomically
from radio_mm.utils.torch_files import load_torch_file

# "For RADIO models we use language embedding from DFN CLIP 378 model" (NVlabs/RADIO README,
# AM-RADIO results); the released students' 'clip' adaptor is trained against it.
DFN_CLIP_MODEL = 'ViT-H-14-378-quickgelu'
# The SigLIP2 text towers of the `siglip2` adaptors (NVlabs/RADIO `radio/siglip2_adaptor.py`
# ``_VERSION_MAP``, teacher ``model`` -> google/siglip2-*), as open_clip ports them (same
# weights, timm/ViT-*-SigLIP2-* on the hub): pooled last token + biased projection, the
# Gemma tokenizer on canonicalized text, 64 tokens.
SIGLIP2_TEXT_MODELS = {'siglip2-g-384': 'ViT-gopt-16-SigLIP2-384',
                       'siglip2-so400m': 'ViT-SO400M-16-SigLIP2-384'}


def named_classnames(classnames):
    """'imagenet' -> open_clip's 1000 curated ImageNet names; a list passes through."""
    if isinstance(classnames, str):
        from open_clip import IMAGENET_CLASSNAMES
        if classnames != 'imagenet':
            raise ValueError(f"classnames must be 'imagenet' or a list of names, got "
                             f'{classnames!r}')
        return list(IMAGENET_CLASSNAMES)
    if not classnames or not all(isinstance(c, str) for c in classnames):
        raise ValueError('classnames must be a non-empty list of strings')
    return list(classnames)


def named_templates(templates):
    """'openai' (80 prompts) / 'simple' (open_clip's 2) / list -> format strings with '{}'."""
    if isinstance(templates, str):
        from open_clip import OPENAI_IMAGENET_TEMPLATES, SIMPLE_IMAGENET_TEMPLATES
        sets = dict(openai=OPENAI_IMAGENET_TEMPLATES, simple=SIMPLE_IMAGENET_TEMPLATES)
        if templates not in sets:
            raise ValueError(f"templates must be one of {sorted(sets)} or a list of format "
                             f"strings, got {templates!r}")
        templates = sets[templates]
    templates = [t if isinstance(t, str) else t('{}') for t in templates]
    if not templates or not all('{}' in t for t in templates):
        raise ValueError(f"every prompt template needs a '{{}}' for the class name, got "
                         f'{templates}')
    return templates


def build_text_tower(model_name=DFN_CLIP_MODEL, pretrained=None, model_kwargs=None,
                     tokenizer=None):
    """An open_clip CLIP (text tower only) and its tokenizer.

    Args:
        model_name (str): open_clip model config name.
        pretrained (str | None): a local open_clip checkpoint file; None keeps random
            weights (tests only: the accuracy then means nothing).
        model_kwargs (dict | None): overrides of open_clip's model config (e.g. a small
            ``text_cfg`` / ``vision_cfg`` and ``embed_dim`` for a test tower).
        tokenizer (str | None): a local Hugging Face tokenizer directory, for the models
            whose tokenizer open_clip fetches from the hub (SigLIP2's Gemma tokenizer,
            ``text_cfg.hf_tokenizer_name``); nothing is downloaded.
    """
    import open_clip
    if pretrained is None:
        print_log(f'zero-shot text tower {model_name} has random weights (pretrained=None): '
                  'its accuracy is meaningless', logger='current', level=logging.WARNING)
    elif not osp.isfile(pretrained):
        raise FileNotFoundError(
            f'open_clip checkpoint {pretrained!r} does not exist. Download the weights of '
            f'{model_name} (for RADIO: apple/DFN5B-CLIP-ViT-H-14-378, '
            'open_clip_pytorch_model.bin, which `python tools/fetch_teachers.py --teachers '
            'clip` puts in checkpoints/teachers/dfn5b_clip_vit_h_14_378/) and pass the local '
            'file as pretrained=...')
    model_kwargs = dict(model_kwargs or {})
    model = open_clip.create_model(model_name, pretrained=pretrained, **model_kwargs)
    model.visual = None  # only the text tower is used
    context_length = model_kwargs.get('text_cfg', {}).get('context_length')
    text_cfg = dict(open_clip.get_model_config(model_name) or {}).get('text_cfg', {})
    if 'hf_tokenizer_name' not in text_cfg:
        return model.eval(), open_clip.get_tokenizer(model_name, context_length=context_length)
    if tokenizer is None or not osp.isdir(tokenizer):
        raise FileNotFoundError(
            f'{model_name} tokenizes with the Hugging Face tokenizer '
            f"{text_cfg['hf_tokenizer_name']!r}, which radio_mm does not download: save it "
            f'to a local directory (AutoTokenizer.from_pretrained(...).save_pretrained(dir)) '
            f'and pass text_encoder tokenizer=dir (got {tokenizer!r})')
    from open_clip.tokenizer import HFTokenizer
    return model.eval(), HFTokenizer(
        tokenizer, context_length=context_length or text_cfg.get('context_length', 64),
        **text_cfg.get('tokenizer_kwargs', {}))


@torch.no_grad()
def clip_text_classifier(classnames='imagenet', templates='openai', model_name=DFN_CLIP_MODEL,
                         pretrained=None, model_kwargs=None, device='cpu', cache_dir=None,
                         tokenizer=None):
    """(D, K) zero-shot weights: unit-length columns, one per class name.

    ``cache_dir``: keep the weights in ``cache_dir/<hash>.pth``, keyed by the text tower
    and the prompts, and read them from there next time (1000 classes x 80 prompts take a
    while through a ViT-H text tower).
    """
    classnames, templates = named_classnames(classnames), named_templates(templates)
    cache_file = None
    if cache_dir is not None:
        key = [model_name, pretrained and osp.abspath(pretrained), model_kwargs, classnames,
               templates] + ([osp.abspath(tokenizer)] if tokenizer else [])
        key = json.dumps(key, sort_keys=True, default=str)
        cache_file = osp.join(cache_dir, hashlib.sha256(key.encode()).hexdigest()[:16] + '.pth')
        if osp.isfile(cache_file):
            return load_torch_file(cache_file, map_location=device)
    from open_clip import build_zero_shot_classifier
    model, tokenizer = build_text_tower(model_name, pretrained, model_kwargs, tokenizer)
    weights = build_zero_shot_classifier(model.to(device), tokenizer, classnames, templates,
                                         device=device).float()
    if cache_file is not None:
        # Every rank computes the same weights; each writes its own partial file.
        os.makedirs(cache_dir, exist_ok=True)
        save_torch_atomically(weights.cpu(), cache_file)
    return weights
