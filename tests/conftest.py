import os
import sys

import numpy as np
import pytest
import torch

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA_DIR = os.path.join(REPO_ROOT, 'tests', 'data')

# Keep CPU tests reproducible and light on the 2 cores.
torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture(scope='session')
def repo_root():
    return REPO_ROOT


@pytest.fixture(scope='session')
def python():
    return sys.executable


@pytest.fixture(scope='session')
def astronaut():
    """A real photo (skimage's sample), (1, 3, 512, 512) float in [0, 1]."""
    from skimage import data
    image = torch.from_numpy(data.astronaut().astype(np.float32) / 255)
    return image.permute(2, 0, 1)[None]


def pytest_configure(config):
    # `pytest tests` (CI) runs everything; `-m "not all_configs"` leaves the smoke run out.
    config.addinivalue_line(
        'markers', 'all_configs: every shipped config shrunk and run through '
        'tools/train.py / tools/test.py (tests/test_configs/test_all_configs_run.py)')
    config.addinivalue_line(
        'markers', 'multiprocess: starts 2 training processes (gloo on CPU) through '
        'tools/dist_train.sh; part of `pytest tests` (CI), each under a minute')
