"""k-NN classification accuracy of frozen image embeddings (the DINO protocol).

Each query votes with its ``k`` most cosine-similar training images, each neighbour weighted
by ``exp(similarity / temperature)`` (Wu et al., 2018, sec. 3.4; DINO, Caron et al., 2021,
sec. 4.1 / `eval_knn.py`; NVlabs/RADIO `examples/knn_classification.py` uses k=20, T=0.07).

The metric only sees the evaluated split. The training-split feature bank comes from
:class:`~radio_mm.engine.hooks.KNNBankHook`, which runs the model over the train split before
the loop starts and hands the features over with :meth:`KNNAccuracy.set_bank`.
"""
from typing import Sequence

import torch
import torch.nn.functional as F
from mmengine.evaluator import BaseMetric

from radio_mm.registry import METRICS


def knn_class_votes(queries, bank, bank_labels, num_classes, k=20, temperature=0.07,
                    chunk_size=1024):
    """Weighted k-NN votes.

    Args:
        queries (Tensor): (Q, D) L2-normalized query embeddings.
        bank (Tensor): (M, D) L2-normalized training embeddings.
        bank_labels (Tensor): (M,) their class indices.
        num_classes (int): vote vector length.
        k (int): neighbours per query (at most M are used).
        temperature (float): softness of the similarity weights.
        chunk_size (int): queries per similarity matrix, which is (chunk_size, M).

    Returns:
        Tensor: (Q, num_classes) summed vote weights, float32 on ``bank``'s device.
    """
    k = min(k, bank.shape[0])
    bank_labels = bank_labels.to(bank.device)
    votes = []
    for chunk in queries.split(chunk_size):
        similarity = (chunk.to(bank) @ bank.T).float()
        top_similarity, top_index = similarity.topk(k, dim=1)
        weights = (top_similarity / temperature).exp()
        chunk_votes = weights.new_zeros(chunk.shape[0], num_classes)
        votes.append(chunk_votes.scatter_add_(1, bank_labels[top_index], weights))
    return torch.cat(votes)


@METRICS.register_module()
class KNNAccuracy(BaseMetric):
    """Top-k accuracy (%) of weighted k-NN votes against a training-split feature bank.

    Expects each data sample to carry ``feature`` (a (D,) L2-normalized embedding, as
    :class:`~radio_mm.models.classifiers.RADIOFeatureExtractor` writes it) and ``gt_label``.
    Reports ``knn/top1``, ``knn/top5``.

    Args:
        k (int): neighbours per query.
        temperature (float): similarity weight temperature.
        topk (Sequence[int]): accuracies to report (clipped to the number of classes).
        chunk_size (int): queries per similarity matrix (memory vs. speed).
    """

    default_prefix = 'knn'

    def __init__(self, k=20, temperature=0.07, topk=(1, 5), chunk_size=1024,
                 collect_device='cpu', prefix=None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        if k < 1 or temperature <= 0:
            raise ValueError(f'KNNAccuracy needs k >= 1 and temperature > 0, got k={k}, '
                             f'temperature={temperature}')
        self.k = k
        self.temperature = temperature
        self.topk = tuple(topk) if isinstance(topk, Sequence) else (topk, )
        self.chunk_size = chunk_size
        self.bank = None
        self.bank_labels = None

    def set_bank(self, features, labels):
        """Training-split embeddings (M, D), L2-normalized, and their labels (M,)."""
        if features.ndim != 2 or labels.shape != features.shape[:1]:
            raise ValueError(f'bank features must be (M, D) with (M,) labels, got '
                             f'{tuple(features.shape)} and {tuple(labels.shape)}')
        self.bank = features
        self.bank_labels = labels.long()

    def process(self, data_batch, data_samples):
        for sample in data_samples:
            if 'feature' not in sample:
                raise KeyError('KNNAccuracy needs a `feature` embedding in each prediction; '
                               'use a model that writes one (type=RADIOFeatureExtractor).')
            self.results.append(dict(feature=sample['feature'].cpu(),
                                     gt_label=sample['gt_label'].cpu().view(-1)[0]))

    def compute_metrics(self, results):
        if self.bank is None:
            raise RuntimeError(
                'KNNAccuracy has no training-split feature bank. Add '
                "custom_hooks=[dict(type='KNNBankHook')] to the config: it embeds the train "
                'split before the loop starts.')
        queries = F.normalize(torch.stack([r['feature'] for r in results]).float(), dim=1)
        labels = torch.stack([r['gt_label'] for r in results]).long()
        num_classes = self._num_classes(labels)
        votes = knn_class_votes(queries, self.bank, self.bank_labels, num_classes, self.k,
                                self.temperature, self.chunk_size).cpu()
        ranked = votes.topk(min(max(self.topk), num_classes), dim=1).indices
        hits = ranked == labels[:, None]
        return {f'top{k}': hits[:, :k].any(dim=1).float().mean().item() * 100
                for k in self.topk}

    def _num_classes(self, query_labels):
        classes = (self.dataset_meta or {}).get('classes')
        if classes is not None:
            return len(classes)
        return int(max(self.bank_labels.max(), query_labels.max())) + 1
