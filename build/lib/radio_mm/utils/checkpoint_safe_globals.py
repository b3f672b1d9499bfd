"""Let mmengine checkpoints load under torch's default ``torch.load(weights_only=True)``.

Since torch 2.6 ``torch.load`` refuses to unpickle anything but tensors and plain containers.
mmengine 0.10.7 saves its ``message_hub``: ``HistoryBuffer`` objects holding numpy arrays and,
through ``HistoryBuffer.__getstate__``, its statistics methods, which pickle writes as
``getattr(HistoryBuffer, 'mean')``. So ``--resume`` fails. Rather than turning
``weights_only`` off, we allow-list exactly those classes, and answer the pickled
``builtins.getattr`` with a getter that only hands out HistoryBuffer's public methods.
``argparse.Namespace`` is allowed too, for the ``args`` of official RADIO releases.
"""
import pickle
from argparse import Namespace

import numpy as np
import torch
from mmengine.config import ConfigDict
from mmengine.logging import HistoryBuffer


def history_buffer_method(owner, name):
    """Stand-in for ``getattr`` while unpickling: only ``HistoryBuffer``'s statistics."""
    method = vars(owner).get(name) if owner is HistoryBuffer else None
    if name.startswith('_') or not callable(method):
        raise pickle.UnpicklingError(
            f'refusing getattr({owner!r}, {name!r}) while loading a checkpoint '
            'with weights_only=True: only HistoryBuffer methods are allowed')
    return method


def _numpy_globals():
    """numpy classes and reconstructors that pickled arrays and scalars reference."""
    try:  # numpy >= 2 moved the private module; pickles name whichever wrote them
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import _reconstruct, scalar
    dtype_classes = [type(np.dtype(t)) for t in (
        np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16,
        np.uint32, np.uint64, np.float16, np.float32, np.float64, np.str_)]
    legacy_names = [(_reconstruct, 'numpy.core.multiarray._reconstruct'),
                    (scalar, 'numpy.core.multiarray.scalar')]
    return [_reconstruct, scalar, np.ndarray, np.dtype, *dtype_classes, *legacy_names]


SAFE_GLOBALS = [
    HistoryBuffer, ConfigDict, (history_buffer_method, 'builtins.getattr'), *_numpy_globals(),
    # Official RADIO releases keep their training arguments in an argparse Namespace, a
    # plain attribute container (NVlabs/RADIO `hubconf.py` reads `chk['args']`).
    Namespace,
]


def register_checkpoint_safe_globals():
    """Add mmengine/numpy checkpoint classes to torch's ``weights_only`` allow-list."""
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is not None:  # torch < 2.4 has no allow-list and no weights_only default
        add(SAFE_GLOBALS)
