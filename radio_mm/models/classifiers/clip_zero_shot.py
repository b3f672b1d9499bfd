"""RADIOCLIPZeroShot: classify with the student's CLIP adaptor and CLIP's text tower.

The student was distilled to reproduce its CLIP teacher's image embedding through the
'clip' adaptor's summary head, so the teacher's text embeddings of the class prompts classify
it directly (NVlabs/RADIO `examples/zero_shot_imagenet.py`). mmpretrain's own CLIPZeroShot
is not used: it needs a Hugging Face tokenizer from the hub.
"""
import torch.nn.functional as F
from mmpretrain.structures import DataSample
from torch import nn

from radio_mm.registry import MODELS

from .clip_text_classifier import DFN_CLIP_MODEL, clip_text_classifier
from .frozen_radio_classifier import FrozenRADIOClassifier

# CLIP's learned logit scale saturates at its clamp, 100 (Radford et al., 2021); it only
# sharpens pred_score, the ranking is the cosine similarity's.
LOGIT_SCALE = 100.0


@MODELS.register_module()
class RADIOCLIPZeroShot(FrozenRADIOClassifier):
    """Zero-shot classifier; predictions carry ``pred_score`` / ``pred_label`` for
    mmpretrain's ``Accuracy``.

    Args:
        backbone (dict): RADIOViT / ERADIO config matching the checkpoint.
        summary_head (dict): the CLIP adaptor's summary MLP (``AdaptorMLP``: in_dims,
            hidden_dims, out_dims = CLIP embedding width, num_inner, pre_norm), as
            tools/model_converters/radio2mm.py prints it (``summary_hidden_dims`` /
            ``summary_num_inner`` when given, else ``hidden_dims`` / ``num_inner``).
        adaptor_name (str): the adaptor's name in the checkpoint (``adaptors.<name>.*``).
        summary_slot (int): the student summary token the adaptor reads.
        text_encoder (dict): ``model_name`` (open_clip config), ``pretrained`` (local open_clip
            checkpoint; None = random weights, tests only), ``model_kwargs`` (open_clip config
            overrides), ``cache_dir`` (keep the class weights on disk), ``tokenizer`` (local
            Hugging Face tokenizer directory, for SigLIP2 towers: the ``siglip2`` adaptors of
            C-RADIOv4 with ``SIGLIP2_TEXT_MODELS``, as the official examples'
            ``--adaptor-name``).
        classnames (str | list[str]): 'imagenet' (open_clip's 1000 curated names) or the
            dataset's class names, in label order.
        templates (str | list[str]): 'openai' (the 80 CLIP prompts), 'simple', or format
            strings with '{}'.
    """

    def __init__(self, backbone, summary_head, adaptor_name='clip', summary_slot=0,
                 text_encoder=dict(model_name=DFN_CLIP_MODEL, pretrained=None),
                 classnames='imagenet', templates='openai', data_preprocessor=None,
                 init_cfg=None):
        super().__init__(backbone, data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        # adaptors.<name>.summary_mlp.*: RADIOModel's keys, so converted files load as is.
        adaptor = nn.Module()
        adaptor.summary_mlp = MODELS.build(dict(dict(type='AdaptorMLP'), **summary_head))
        self.adaptors = nn.ModuleDict({adaptor_name: adaptor.requires_grad_(False)})
        self.adaptor_name = adaptor_name
        self.summary_slot = summary_slot
        self.text_encoder = dict(text_encoder)
        self.classnames = classnames
        self.templates = templates
        self._class_weights = None  # (D, K), built on first use

    def extract_feat(self, inputs):
        """(B, 3, H, W) normalized images -> (B, D) unit-length CLIP image embeddings."""
        summary = self.backbone.forward_radio(inputs).summary[:, self.summary_slot]
        embedding = self.adaptors[self.adaptor_name].summary_mlp(summary)
        return F.normalize(embedding.float(), dim=1)

    def check_radio_checkpoint(self, student):
        """Refuse a file whose adaptor reads another summary token (RADIOCheckpointCheckHook)."""
        adaptor = (student.model_cfg.get('adaptors') or {}).get(self.adaptor_name)
        if adaptor is not None and adaptor.get('summary_slot', 0) != self.summary_slot:
            raise ValueError(
                f'summary_slot={self.summary_slot} in the config, but the '
                f"'{self.adaptor_name}' adaptor of {student.source!r} reads summary token "
                f"{adaptor.get('summary_slot', 0)}: set model.summary_slot to it")

    def class_weights(self, device):
        """(D, K) text classifier, computed once (see :func:`clip_text_classifier`)."""
        if self._class_weights is None:
            self._class_weights = clip_text_classifier(
                self.classnames, self.templates, device=device, **self.text_encoder)
        return self._class_weights.to(device)

    def predict(self, inputs, data_samples=None):
        embeddings = self.extract_feat(inputs)
        weights = self.class_weights(embeddings.device)
        if weights.shape[0] != embeddings.shape[1]:
            raise ValueError(f'the text tower embeds into {weights.shape[0]} dims but the '
                             f"'{self.adaptor_name}' adaptor into {embeddings.shape[1]}: "
                             'use the CLIP model the student was distilled from')
        scores = (LOGIT_SCALE * embeddings @ weights).softmax(dim=1)
        if data_samples is None:
            data_samples = [DataSample() for _ in range(scores.shape[0])]
        for sample, score in zip(data_samples, scores):
            self._check_label(sample, score.shape[0])
            sample.set_pred_score(score).set_pred_label(score.argmax(keepdim=True))
        return data_samples

    def _check_label(self, sample, num_classes):
        if 'gt_label' in sample and int(sample.gt_label.max()) >= num_classes:
            raise ValueError(f'ground-truth label {int(sample.gt_label.max())} but only '
                             f'{num_classes} class names: set classnames to the dataset\'s '
                             'classes, in label order')
