"""The random number generators a training step draws from, as a checkpointable value.

mmengine re-seeds them when a run resumes, so dropout masks, drop-path and CPE crops after a
resume repeat those of the run's first iterations instead of continuing where it stopped.
"""
import random

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size


def rng_state():
    """This process's python, numpy, torch (and CUDA) generator states."""
    state = dict(python=random.getstate(), numpy=np.random.get_state(),
                 torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state):
    """Inverse of :func:`rng_state`."""
    random.setstate(state['python'])
    np.random.set_state(state['numpy'])
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


def all_rng_states():
    """[rank 0's state, rank 1's, ...]; a collective: every rank must call it."""
    return all_gather_object(rng_state())  # [own state] when not distributed


def restore_rank_rng_state(states):
    """Set this rank's generators from :func:`all_rng_states`' list.

    Returns False (nothing set) when the run now has a different number of ranks.
    """
    if len(states) != get_world_size():
        return False
    set_rng_state(states[get_rank()])
    return True
