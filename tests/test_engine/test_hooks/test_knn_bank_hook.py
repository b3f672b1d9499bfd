from types import SimpleNamespace

import pytest
import torch

from radio_mm.engine.hooks import KNNBankHook
from radio_mm.engine.hooks.knn_bank_hook import _gather_unique


def test_bank_loader_is_the_evaluated_loader_on_the_train_split():
    evaluated = dict(batch_size=8, num_workers=2,
                     sampler=dict(type='InfiniteSampler', shuffle=True),
                     dataset=dict(type='ImageNet', data_root='data/imagenet', split='val',
                                  pipeline=[dict(type='PackInputs')]))
    bank = KNNBankHook(dataset=dict(split='train')).bank_loader_cfg(evaluated)
    assert bank['dataset'] == dict(evaluated['dataset'], split='train')
    assert bank['batch_size'] == 8
    # Each training image exactly once, in order.
    assert bank['sampler'] == dict(type='DefaultSampler', shuffle=False)
    assert evaluated['dataset']['split'] == 'val'  # the evaluated config is untouched


def test_padded_repeats_are_dropped_and_order_restored():
    """DefaultSampler pads ranks with repeated samples; the bank keeps each index once."""
    features = torch.arange(10.).view(5, 2)
    labels = torch.tensor([0, 1, 2, 0, 1])
    indices = torch.tensor([3, 0, 2, 0, 1])  # sample 0 was repeated as padding
    bank, bank_labels = _gather_unique(features, labels, indices)
    assert torch.equal(bank, features[[1, 4, 2, 0]])
    assert torch.equal(bank_labels, torch.tensor([1, 1, 2, 0]))


def test_clear_errors():
    with pytest.raises(ValueError, match='split'):
        KNNBankHook(dataset={})
    with pytest.raises(ValueError, match='bank_dtype'):
        KNNBankHook(bank_dtype='half')
    loop = SimpleNamespace(evaluator=SimpleNamespace(metrics=[]))
    runner = SimpleNamespace(test_loop=loop, cfg=dict(test_dataloader={}))
    with pytest.raises(ValueError, match='KNNAccuracy'):
        KNNBankHook().before_test(runner)
