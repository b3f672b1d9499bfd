import math

import pytest
import torch
import torch.nn.functional as F

from radio_mm.evaluation.metrics.knn_accuracy import KNNAccuracy, knn_class_votes

# Unit vectors in 2-D: class 0 has one bank image close to the query, class 1 has two
# images a little further away.
BANK = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.6, -0.8]])
BANK_LABELS = torch.tensor([0, 1, 1])
QUERY = torch.tensor([[0.96, 0.28]])  # cosines: 0.96, 0.8, 0.352


def test_votes_match_hand_computation():
    votes = knn_class_votes(QUERY, BANK, BANK_LABELS, num_classes=3, k=2, temperature=0.5)
    # k=2 keeps the neighbours with cosine 0.96 (class 0) and 0.8 (class 1).
    expected = torch.tensor([[math.exp(0.96 / 0.5), math.exp(0.8 / 0.5), 0.0]])
    assert torch.allclose(votes, expected)

    votes = knn_class_votes(QUERY, BANK, BANK_LABELS, num_classes=3, k=3, temperature=0.5)
    expected = torch.tensor([[math.exp(0.96 / 0.5),
                              math.exp(0.8 / 0.5) + math.exp(0.352 / 0.5), 0.0]])
    assert torch.allclose(votes, expected)


def test_temperature_weights_the_vote():
    """Sharp weights trust the nearest image; flat weights count heads."""
    sharp = knn_class_votes(QUERY, BANK, BANK_LABELS, 2, k=3, temperature=0.07)
    flat = knn_class_votes(QUERY, BANK, BANK_LABELS, 2, k=3, temperature=100.0)
    assert sharp.argmax().item() == 0
    assert flat.argmax().item() == 1


def test_k_larger_than_bank_and_chunking_agree():
    torch.manual_seed(0)
    bank = F.normalize(torch.randn(30, 8), dim=1)
    labels = torch.randint(0, 4, (30, ))
    queries = F.normalize(torch.randn(7, 8), dim=1)
    whole = knn_class_votes(queries, bank, labels, 4, k=50, chunk_size=1024)
    chunked = knn_class_votes(queries, bank, labels, 4, k=50, chunk_size=3)
    assert torch.allclose(whole, chunked)
    # k=50 > 30: every bank image votes once.
    assert torch.allclose(whole.sum(1), (queries @ bank.T / 0.07).exp().sum(1), rtol=1e-5)


def _samples(features, labels):
    return [dict(feature=f, gt_label=torch.tensor([label])) for f, label in zip(features, labels)]


def test_metric_reports_topk_percentages():
    metric = KNNAccuracy(k=2, temperature=0.07, topk=(1, 2))
    metric.dataset_meta = dict(classes=['a', 'b', 'c'])
    metric.set_bank(BANK, BANK_LABELS)
    queries = torch.tensor([[0.96, 0.28], [0.6, 0.8], [0.6, -0.8]])
    # Votes: query 0 -> class 0 (then 1); queries 1 and 2 -> class 1 (then 0).
    metric.process(None, _samples(queries, [1, 1, 2]))
    results = metric.evaluate(3)
    assert results['knn/top1'] == pytest.approx(100 / 3)  # only query 1
    # Query 0's class 1 is second; query 2's class 2 got no vote, ranked last.
    assert results['knn/top2'] == pytest.approx(200 / 3)


def test_metric_needs_a_bank_and_features():
    metric = KNNAccuracy()
    metric.process(None, _samples(BANK, [0, 1, 1]))
    with pytest.raises(RuntimeError, match='KNNBankHook'):
        metric.evaluate(3)
    with pytest.raises(KeyError, match='feature'):
        metric.process(None, [dict(gt_label=torch.tensor([0]))])
    with pytest.raises(ValueError, match='temperature'):
        KNNAccuracy(temperature=0)
    with pytest.raises(ValueError, match=r'\(M, D\)'):
        metric.set_bank(BANK, BANK_LABELS[:2])
