"""Reading ``.pth`` files: the one ``torch.load`` call of radio_mm.

Every file is read on the CPU with ``weights_only=True`` unless the caller trusts it
(importing radio_mm allow-lists the classes mmengine checkpoints and the official releases'
``args`` hold: :mod:`radio_mm.utils.checkpoint_safe_globals`). A missing file or one that
needs more than the allow-list is an error that names the file and the fix.
"""
import os
import os.path as osp
import pickle

import torch


def load_torch_file(path, weights_only=True, map_location='cpu'):
    """``torch.load(path)`` with errors that name the file and the fix.

    Args:
        path (str | os.PathLike): a local file.
        weights_only (bool): unpickle only tensors, plain containers and allow-listed
            classes; False only for a file you trust.
        map_location: where tensors go (``torch.load``'s argument), the CPU by default.
    """
    path = os.fspath(path)
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint {path!r} does not exist')
    try:
        return torch.load(path, map_location=map_location, weights_only=weights_only)
    except pickle.UnpicklingError as error:
        raise RuntimeError(f'could not load {path!r} with weights_only=True: {error}\nIf you '
                           'trust the file, pass weights_only=False.') from error
