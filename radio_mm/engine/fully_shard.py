"""FSDP2: a model wrapper that shards parameters, gradients and optimizer state over ranks.

PyTorch's per-parameter sharding (``torch.distributed.fsdp.fully_shard``, "FSDP2") turns
every parameter into a DTensor holding 1/world_size of it; a module's parameters are
all-gathered for its forward and backward and freed afterwards. Unlike FSDP1 (mmengine's
``MMFullyShardedDataParallel``) it runs on a ``cpu`` device mesh with gloo too, so the
sharded path is tested on CPU (tests/test_engine/test_fully_shard.py).

How a model is sharded (the layout of torchtitan's ``apply_fsdp`` and of PyTorch's FSDP2
tutorial): each transformer block (every item of the first ``nn.ModuleList`` /
``nn.Sequential`` of like, non-leaf modules met under the model: RADIOViT's ``blocks``,
timm's ``blocks``, open_clip's ``resblocks``, SAM's ``blocks``) is its own unit, gathered
only while it runs; the rest (patch embedding, adaptor heads, teacher necks) is one unit
gathered for the model's whole forward. Frozen teachers are sharded the same way, so a
teacher larger than one GPU's share needs no GPU to hold all of it during training, or kept
whole on every rank (``replicate=['teachers']``, no all-gather for them).

The :class:`~radio_mm.engine.sharded_runner.ShardedRunner` (chosen by ``tools/train.py`` for
this wrapper) saves and resumes sharded checkpoints, and skips mmengine's weight
initialisation after wrapping (done here, before sharding).
"""
import copy
import itertools

import torch
import torch.distributed as dist
from mmengine.device import get_device
from mmengine.logging import print_log
from torch import nn
from torch.distributed._composable import checkpoint
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

from radio_mm.registry import MODEL_WRAPPERS

# MixedPrecisionPolicy fields that name dtypes.
_DTYPE_FIELDS = ('param_dtype', 'reduce_dtype', 'output_dtype')


@MODEL_WRAPPERS.register_module()
class FullyShardWrapper(nn.Module):
    """Shard ``module`` with FSDP2 across all ranks of the default process group.

    Args:
        module (BaseModel): the model (a :class:`RADIODistiller`, a classifier...).
        replicate (Sequence[str]): direct submodules kept whole on every rank (frozen
            teachers: ``['teachers']``); their parameters must not be trained.
        mixed_precision (dict | None): :class:`torch.distributed.fsdp.MixedPrecisionPolicy`
            fields of the blocks, dtypes by name, e.g. ``dict(param_dtype='bfloat16',
            reduce_dtype='float32')``: blocks compute in ``param_dtype`` and return
            ``output_dtype`` (float32 unless given); the rest of the model computes in
            float32, and the sharded master weights and the optimizer stay float32 (every
            unit reduces gradients in ``reduce_dtype``). None: full precision.
        activation_checkpointing (bool): recompute each trainable block's activations in
            the backward pass (``torch.distributed._composable.checkpoint``; state-dict keys
            unchanged). Backbones with their own ``with_cp`` need only one of the two.
        reshard_after_forward (bool): free gathered parameters after each block's forward
            (ZeRO-3, least memory) or keep them until its backward (ZeRO-2, less traffic).
    """

    def __init__(self, module, replicate=(), mixed_precision=None,
                 activation_checkpointing=False, reshard_after_forward=True):
        super().__init__()
        if not dist.is_initialized():
            raise RuntimeError('FullyShardWrapper needs a distributed run (tools/dist_train.sh, '
                               'torchrun ... --launcher pytorch)')
        missing = [name for name in replicate if not hasattr(module, name)]
        if missing:
            raise ValueError(f'FullyShardWrapper: replicate names {missing}, which '
                             f'{type(module).__name__} does not have')
        kept = [p for name in replicate for p in getattr(module, name).parameters()]
        if any(p.requires_grad for p in kept):
            raise ValueError(f'FullyShardWrapper: replicate={list(replicate)} holds trainable '
                             'parameters; only frozen modules can be kept whole')
        if hasattr(module, 'init_weights'):
            # Before sharding: initialisers and `Pretrained` loads write whole tensors.
            module.init_weights()
        # Structure-only copies (no memory) of trainable submodules: StudentEMAHook builds
        # its averaged copy from one (an FSDP module refuses deepcopy).
        self._blueprints = {name: _meta_copy(child) for name, child in module.named_children()
                            if any(p.requires_grad for p in child.parameters())}
        # Blocks compute in param_dtype and hand float32 back; the rest of the model (patch
        # embedding, heads: little compute, float32 buffers such as normalisation means)
        # stays float32, so no layer meets inputs of another dtype than its weights.
        block_policy = _dtypes({'output_dtype': 'float32', **mixed_precision}
                               if mixed_precision else {})
        self.mesh = init_device_mesh(get_device(), (dist.get_world_size(), ))
        shard = dict(mesh=self.mesh, reshard_after_forward=reshard_after_forward)
        skip = {id(getattr(module, name)) for name in replicate}
        blocks = list(_blocks(module, skip))
        for block in blocks:
            if activation_checkpointing and any(p.requires_grad for p in block.parameters()):
                checkpoint(block)
            fully_shard(block, mp_policy=MixedPrecisionPolicy(**block_policy), **shard)
        fully_shard(module, ignored_params=set(kept) or None, **shard, mp_policy=(
            MixedPrecisionPolicy(reduce_dtype=block_policy.get('reduce_dtype'))))
        self.module = module
        print_log(f'FullyShardWrapper: {len(blocks)} blocks sharded over '
                  f'{dist.get_world_size()} ranks, the rest as one unit'
                  f'{f"; {list(replicate)} whole on every rank" if replicate else ""}',
                  logger='current')

    def detached_copy(self, name):
        """A plain module shaped like submodule ``name`` whose parameters and buffers are
        this rank's shards (DTensors, detached): for copies that stay sharded like it."""
        if name not in self._blueprints:
            raise KeyError(f'FullyShardWrapper keeps copies of {sorted(self._blueprints)} '
                           f'(trainable submodules), not of {name!r}')
        copied = copy.deepcopy(self._blueprints[name])
        source = getattr(self.module, name)
        for key, tensor in itertools.chain(source.named_parameters(), source.named_buffers()):
            owner_name, _, attr = key.rpartition('.')
            owner = copied.get_submodule(owner_name)
            if isinstance(tensor, nn.Parameter):
                owner._parameters[attr] = nn.Parameter(tensor.detach(),
                                                       requires_grad=tensor.requires_grad)
            else:
                owner._buffers[attr] = tensor.detach()
        return copied

    # mmengine's model-wrapper interface (MMDistributedDataParallel's steps)
    def train_step(self, data, optim_wrapper):
        with optim_wrapper.optim_context(self):
            data = self.module.data_preprocessor(data, training=True)
            losses = self._run_forward(data, mode='loss')
        parsed_loss, log_vars = self.module.parse_losses(losses)
        optim_wrapper.update_params(parsed_loss)
        return log_vars

    def val_step(self, data):
        return self.module.val_step(data)

    def test_step(self, data):
        return self.module.test_step(data)

    def _run_forward(self, data, mode):
        if isinstance(data, dict):
            return self.module(**data, mode=mode)
        if isinstance(data, (list, tuple)):
            return self.module(*data, mode=mode)
        raise TypeError(f'Output of `data_preprocessor` should be list, tuple or dict, '
                        f'but got {type(data)}')

    def no_sync(self):
        """Gradient accumulation (``OptimWrapper.optim_context``): no reduce-scatter until
        the last micro-batch."""
        return _NoGradientSync(self.module)


class _NoGradientSync:

    def __init__(self, module):
        self.module = module

    def __enter__(self):
        self.module.set_requires_gradient_sync(False)

    def __exit__(self, *exc):
        self.module.set_requires_gradient_sync(True)


def is_fully_sharded(model):
    """Is ``model`` (the Runner's, wrapped or not) sharded by :class:`FullyShardWrapper`?"""
    return isinstance(model, FullyShardWrapper)


def _blocks(module, skip):
    """The transformer blocks under ``module``: items of the outermost lists of like,
    non-leaf modules, not descending into them nor into modules whose id is in ``skip``."""
    for child in module.children():
        if id(child) in skip:
            continue
        items = list(child.children()) if isinstance(child, (nn.ModuleList, nn.Sequential)) \
            else []
        if (len(items) > 1 and len({type(item) for item in items}) == 1
                and any(True for _ in items[0].children())):
            yield from items
        else:
            yield from _blocks(child, skip)


def _meta_copy(module):
    """``copy.deepcopy(module)`` with every parameter and buffer on the meta device."""
    memo = {}
    for tensor in itertools.chain(module.parameters(), module.buffers()):
        empty = torch.empty_like(tensor, device='meta')
        memo[id(tensor)] = (nn.Parameter(empty, requires_grad=tensor.requires_grad)
                            if isinstance(tensor, nn.Parameter) else empty)
    return copy.deepcopy(module, memo)


def _dtypes(policy):
    """``MixedPrecisionPolicy`` kwargs with dtype names ('bfloat16') turned into dtypes."""
    policy = dict(policy)
    for key in _DTYPE_FIELDS:
        if isinstance(policy.get(key), str):
            dtype = getattr(torch, policy[key], None)
            if not isinstance(dtype, torch.dtype):
                raise ValueError(f'mixed_precision.{key}={policy[key]!r} is not a torch dtype '
                                 "(e.g. 'bfloat16', 'float16', 'float32')")
            policy[key] = dtype
    return policy
