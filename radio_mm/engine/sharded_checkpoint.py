"""Sharded checkpoints: a folder ``iter_N.dcp/`` that every rank writes its shards into.

Layout (``torch.distributed.checkpoint``, "DCP"):

* ``__<rank>_0.distcp`` and ``.metadata``: the keys that hold sharded tensors
  (:data:`SHARDED_KEYS`: ``state_dict``, ``ema_state_dict``, ``optimizer`` with its state
  keyed by parameter name, as ``get_optimizer_state_dict`` gives it). DCP stores each
  tensor with its global shape, so a checkpoint loads at any world size (resharding);
* ``extra.pth`` (:data:`~radio_mm.utils.checkpoint_checks.SHARDED_EXTRA`): what rank 0
  alone holds, as in a ``.pth`` checkpoint: ``meta``, ``message_hub``,
  ``param_schedulers``, ``rng_states``.

A save writes into a hidden ``.iter_N.dcp.partial/`` folder and renames it when every rank
has written (:mod:`radio_mm.utils.atomic_files`): a run killed while saving leaves the
previous checkpoints and no half folder under a checkpoint's name.

:func:`consolidate` turns a folder into one ``.pth`` with whole tensors, in the layout of a
checkpoint saved without sharding (``radio_model``, ``mm2radio``, ``radio2hf`` take it).
"""
import os
import os.path as osp
import shutil

import torch
import torch.distributed.checkpoint as dcp
from mmengine.dist import barrier, is_main_process
from torch.distributed.checkpoint.format_utils import _EmptyStateDictLoadPlanner
from torch.distributed.checkpoint.state_dict_loader import _load_state_dict
from torch.distributed.tensor import DTensor

from radio_mm.utils.atomic_files import partial_path, publish_folder
from radio_mm.utils.checkpoint_checks import SHARDED_EXTRA, SHARDED_SUFFIX
from radio_mm.utils.torch_files import load_torch_file

__all__ = ['SHARDED_KEYS', 'SHARDED_SUFFIX', 'save_sharded', 'load_sharded', 'read_extra',
           'consolidate', 'optimizer_by_index']

SHARDED_KEYS = ('state_dict', 'ema_state_dict', 'optimizer')


def save_sharded(checkpoint, folder):
    """Write ``checkpoint`` (every rank calls this with its own shards) to ``folder``."""
    sharded = {k: v for k, v in checkpoint.items() if k in SHARDED_KEYS}
    extra = {k: v for k, v in checkpoint.items() if k not in SHARDED_KEYS}
    for key, value in extra.items():
        if _holds(value, DTensor):
            raise TypeError(f'checkpoint[{key!r}] holds sharded tensors (DTensor) but only '
                            f'{SHARDED_KEYS} are saved sharded: a hook added it; extend '
                            'radio_mm.engine.sharded_checkpoint.SHARDED_KEYS')
    partial = partial_path(folder)
    if is_main_process():
        if osp.exists(partial):  # left by a killed save
            shutil.rmtree(partial)
        os.makedirs(partial)
    barrier()
    dcp.save(sharded, storage_writer=dcp.FileSystemWriter(partial))
    if is_main_process():
        torch.save(extra, osp.join(partial, SHARDED_EXTRA))
        publish_folder(partial, folder)
    barrier()  # nobody reads or lists the folder before it is complete


def load_sharded(template, folder):
    """Fill the tensors of ``template`` (keys of :data:`SHARDED_KEYS`, shaped and sharded
    as this run's) from ``folder``, in place; keys the folder lacks are dropped from it
    (a checkpoint saved without optimizer). Every rank reads only its shards."""
    reader = dcp.FileSystemReader(folder)
    saved = {key.split('.', 1)[0] for key in reader.read_metadata().state_dict_metadata}
    for key in list(template):
        if key not in saved:
            del template[key]
    dcp.load(template, storage_reader=reader)
    return template


def read_extra(folder):
    """The rank-0 part (``meta``, ``message_hub``...) of a sharded checkpoint."""
    return load_torch_file(osp.join(folder, SHARDED_EXTRA))


def consolidate(folder):
    """One checkpoint dict with whole tensors, as a run without sharding saves it: the
    optimizer state keyed by parameter index (:func:`optimizer_by_index`). Needs no
    process group; holds every tensor in this process's memory."""
    # torch.distributed.checkpoint.format_utils.dcp_to_torch_save, without its file: the
    # public dcp.load fills only keys the given dict has.
    whole = {}
    _load_state_dict(whole, storage_reader=dcp.FileSystemReader(folder),
                     planner=_EmptyStateDictLoadPlanner(), no_dist=True)
    checkpoint = read_extra(folder)
    checkpoint.update(whole)
    if 'optimizer' in checkpoint:
        checkpoint['optimizer'] = optimizer_by_index(checkpoint['optimizer'])
    return checkpoint


def optimizer_by_index(state):
    """``get_optimizer_state_dict``'s layout (state and param groups keyed by parameter
    name) -> ``torch.optim.Optimizer.state_dict()``'s (keyed by position, group by group),
    which ``optimizer.load_state_dict`` takes."""
    index, groups = {}, []
    for group in state['param_groups']:
        ids = []
        for name in group['params']:
            index.setdefault(name, len(index))
            ids.append(index[name])
        groups.append({**group, 'params': ids})
    return dict(state={index[name]: value for name, value in state['state'].items()},
                param_groups=groups)


def _holds(value, kind):
    if isinstance(value, kind):
        return True
    if isinstance(value, dict):
        return any(_holds(v, kind) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds(v, kind) for v in value)
    return False
