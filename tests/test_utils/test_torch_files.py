"""The one torch.load wrapper and the atomic torch.save."""
import os

import pytest
import torch

from radio_mm.utils.atomic_files import save_torch_atomically
from radio_mm.utils.torch_files import load_torch_file


class Trusted:
    """A class no allow-list names."""


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='nothing.pth'):
        load_torch_file(tmp_path / 'nothing.pth')


def test_a_file_needing_more_than_weights_names_the_fix(tmp_path):
    path = tmp_path / 'pickled.pth'
    torch.save(dict(obj=Trusted()), path)
    with pytest.raises(RuntimeError, match='pass weights_only=False'):
        load_torch_file(path)
    assert isinstance(load_torch_file(path, weights_only=False)['obj'], Trusted)


def test_atomic_save_leaves_only_the_file(tmp_path):
    path = tmp_path / 'weights.pth'
    save_torch_atomically(torch.ones(2), str(path))
    save_torch_atomically(torch.zeros(2), str(path))  # replaces
    assert os.listdir(tmp_path) == ['weights.pth']
    assert torch.equal(load_torch_file(path), torch.zeros(2))
