"""RADIOFeatureExtractor: images -> L2-normalized summary embeddings, for k-NN evaluation."""
import torch.nn.functional as F
from mmpretrain.structures import DataSample

from radio_mm.registry import MODELS

from ..backbones import summary_embedding
from .frozen_radio_classifier import FrozenRADIOClassifier


@MODELS.register_module()
class RADIOFeatureExtractor(FrozenRADIOClassifier):
    """Writes each image's embedding into ``data_sample.feature`` for
    :class:`~radio_mm.evaluation.KNNAccuracy`.

    The embedding is what the official k-NN script uses (NVlabs/RADIO
    `examples/knn_classification.py`): the backbone summary, i.e. the summary tokens at
    ``summary_idxs`` concatenated, L2-normalized.

    Args:
        backbone (dict): RADIOViT / ERADIO config matching the checkpoint.
        summary_idxs (Sequence[int] | None): summary tokens forming the embedding, the
            official model's ``summary_idxs`` (teachers trained with a summary loss;
            tools/model_converters/radio2mm.py prints them). None takes every token.
        data_preprocessor (dict): see :class:`FrozenRADIOClassifier`.
    """

    def __init__(self, backbone, summary_idxs=None, data_preprocessor=None, init_cfg=None):
        super().__init__(backbone, data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.summary_idxs = None if summary_idxs is None else list(summary_idxs)

    def extract_feat(self, inputs):
        """(B, 3, H, W) normalized images -> (B, S*C) unit-length embeddings."""
        summary = summary_embedding(self.backbone.forward_radio(inputs).summary,
                                    self.summary_idxs)
        return F.normalize(summary.float(), dim=1)

    def check_radio_checkpoint(self, student):
        """Refuse a file whose summary teachers own other tokens than ``summary_idxs``
        (called by RADIOCheckpointCheckHook with the :class:`RADIOCheckpoint`)."""
        saved = student.model_cfg.get('summary_idxs')
        num_tokens = getattr(self.backbone, 'num_summary_tokens', 1)
        ours = list(range(num_tokens)) if self.summary_idxs is None else self.summary_idxs
        if saved is not None and list(saved) != ours:
            raise ValueError(
                f'summary_idxs={self.summary_idxs} in the config, but the summary teachers of '
                f'{student.source!r} own tokens {list(saved)}: set model.summary_idxs='
                f'{list(saved)} (an embedding of other tokens is not the model\'s summary)')

    def predict(self, inputs, data_samples=None):
        features = self.extract_feat(inputs)
        if data_samples is None:
            data_samples = [DataSample() for _ in range(features.shape[0])]
        for sample, feature in zip(data_samples, features):
            sample.set_field(feature, 'feature')
        return data_samples
