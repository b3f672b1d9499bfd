"""Ready-to-paste mm configs for a RADIO student file (what radio2mm.py prints).

A student's RADIOModel config (from a release's ``args``, a converted file's or a
distillation run's ``meta['radio_model']``) fixes everything a downstream config must repeat:
the backbone architecture, the input statistics, which summary tokens form the embedding
(``summary_idxs``: tokens of teachers trained with a summary loss) and the adaptors' summary
heads. Writing them out from the file is how configs and checkpoints stay in step.
"""
import copy

from radio_mm.formats.official_checkpoint import data_preprocessor_stats
from radio_mm.formats.radio_checkpoint import meta_backbone
from radio_mm.models.adaptors import MLP_VERSIONS
from radio_mm.models.classifiers.clip_text_classifier import SIGLIP2_TEXT_MODELS
from radio_mm.models.input_conditioner import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD

# Backbone settings of the training run, not of the architecture (each downstream config
# picks its own).
_RUN_OPTIONS = ('drop_path_rate', 'pos_dropout', 'with_cp', 'init_cfg', 'frozen',
                'frozen_stages', 'out_indices', 'out_type', 'summary_idxs')


def student_configs(model_cfg, checkpoint, teachers=None):
    """RADIOModel config + file -> dict of mm config pieces.

    Keys: ``backbone`` (with ``init_cfg`` Pretrained), ``data_preprocessor`` (0-255
    images), ``summary_idxs``, ``knn`` (RADIOFeatureExtractor), ``linear_probe`` (frozen
    backbone on the summary tokens + ``LinearClsHead`` input width) and ``zero_shot``
    (adaptor name -> RADIOCLIPZeroShot settings, for each CLIP or SigLIP adaptor with a
    summary head; ``teachers``, the release's ``args.teachers``, name SigLIP2 towers).
    """
    backbone = {k: v for k, v in copy.deepcopy(model_cfg['backbone']).items()
                if k not in _RUN_OPTIONS}
    built = meta_backbone(backbone)
    summary_idxs = model_cfg.get('summary_idxs')
    num_summary = len(summary_idxs) if summary_idxs is not None else getattr(
        built, 'num_summary_tokens', 1)
    pretrained = dict(type='Pretrained', checkpoint=checkpoint)
    heads = {name: _summary_head(cfg) for name, cfg in (model_cfg.get('adaptors') or {}).items()
             if cfg.get('summary_dims')}
    probe = dict(backbone, out_type='summary', summary_idxs=summary_idxs, frozen=True,
                 init_cfg=pretrained)
    if backbone['type'] == 'RADIOViT':
        probe['cpe_train_crop'] = False  # a frozen probe sees features as at test time
    dense = dict(backbone, init_cfg=pretrained)
    if backbone['type'] == 'RADIOViT':
        # Explicit, so that the config says what its heads see: the release's whitening,
        # as the official model outputs (radio_mm/models/backbones/backbone_normalizers.py).
        dense.update(feature_normalizer=bool(model_cfg.get('feature_normalizer')),
                     intermediate_normalizer=model_cfg.get('intermediate_normalizer') or False)
    return dict(
        backbone=dense,
        # RADIOModel's defaults when a run's config left the statistics out.
        data_preprocessor=dict(data_preprocessor_stats(dict(
            dict(mean=OPENAI_CLIP_MEAN, std=OPENAI_CLIP_STD), **model_cfg)), bgr_to_rgb=True),
        summary_idxs=summary_idxs,
        knn=dict(type='RADIOFeatureExtractor', backbone=backbone, summary_idxs=summary_idxs),
        linear_probe=dict(backbone=probe, head_in_channels=num_summary * built.embed_dims),
        summary_heads=heads,
        zero_shot={name: dict(type='RADIOCLIPZeroShot', summary_head=head['summary_head'],
                              adaptor_name=name, summary_slot=head['summary_slot'],
                              **_text_encoder(name, teachers))
                   for name, head in heads.items() if 'clip' in name or 'siglip' in name})


def _text_encoder(name, teachers):
    """The text tower of a SigLIP2 adaptor: its teacher's ``model``, else C-RADIOv4's
    SigLIP2-g; CLIP adaptors keep RADIOCLIPZeroShot's default (DFN CLIP)."""
    if 'siglip' not in name:
        return {}
    teacher = next((t for t in teachers or [] if t.get('name') == name), {})
    model = SIGLIP2_TEXT_MODELS[teacher.get('model', 'siglip2-g-384')]
    return dict(text_encoder=dict(model_name=model, pretrained=None, tokenizer=None))


def _summary_head(adaptor):
    """The sizes of an adaptor's summary head (RADIOCLIPZeroShot's ``summary_head``)."""
    # TeacherAdaptor's defaults: the feature head's sizes, hidden_dims=1024, num_inner=1.
    num_inner = adaptor.get('summary_num_inner')
    head = dict(in_dims=adaptor['in_dims'],
                hidden_dims=adaptor.get('summary_hidden_dims') or adaptor.get('hidden_dims',
                                                                              1024),
                out_dims=adaptor['summary_dims'],
                num_inner=adaptor.get('num_inner', 1) if num_inner is None else num_inner)
    if adaptor.get('pre_norm'):
        head['pre_norm'] = True
    version = adaptor.get('summary_mlp_version') or adaptor.get('mlp_version', 'v2')
    if version != 'v2':  # RADIOv1 heads (RADIOCLIPZeroShot builds an AdaptorMLP otherwise)
        head['type'] = MLP_VERSIONS[version].__name__
    return dict(summary_head=head, summary_slot=adaptor.get('summary_slot', 0))
