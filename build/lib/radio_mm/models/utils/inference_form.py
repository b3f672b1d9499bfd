"""Inference-form rewrites shared by the students' ``switch_to_deploy()``.

The official NVlabs/RADIO name (`radio/eradio_model.py` ``switch_to_deploy``) for an
irreversible, inference-only model: batch norm folded into the preceding convolution,
buffers precomputed. Such a model computes the same function as before (within float
rounding) but has other parameters, so it cannot be trained or take a pre-deploy
``state_dict``; :class:`~radio_mm.models.backbones.RADIOBackbone` refuses both with an
error that says so.

The home of the inference form: each module's ``switch_to_deploy()`` rewrites itself with
the folds below (:meth:`RADIOBackbone.switch_to_deploy` walks them), and
:func:`deployed_copy` gives that form without touching the caller's model. Writing the form
out for other runtimes (ONNX) is :mod:`radio_mm.deployment`.
"""
from copy import deepcopy

import torch
from timm.layers import ConvNormAct
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

DEPLOYED_ERROR = (
    '{name} was switched to its inference form (switch_to_deploy(): batch norm folded into '
    'the convolutions, position biases precomputed), which {what}. Build the model again '
    'without deploy=True / switch_to_deploy() to train it or load other weights.')


def is_tracing():
    """True while a TorchScript trace or an ONNX export records the forward: Python
    decisions on sizes are frozen into the graph then, so size-dependent code must be
    written as traced tensor arithmetic (and lookups keyed by sizes be skipped)."""
    return torch.jit.is_tracing() or torch.onnx.is_in_onnx_export()


def fuse_conv_norm(conv, norm):
    """A conv with ``norm`` (an eval-mode BatchNorm2d) folded into its weight and bias."""
    if norm.training:
        raise RuntimeError('batch norm can be folded only in eval mode (running statistics)')
    return fuse_conv_bn_eval(conv, norm)


@torch.no_grad()
def fuse_conv_norm_act(module):
    """Fold a timm :class:`ConvNormAct`'s BatchNormAct2d into its conv, in place.

    ``module.bn`` becomes its (dropout,) activation, so ``module(x)`` stays
    ``act(bn(conv(x)))`` with one pass less over the map.
    """
    norm = module.bn
    module.conv = fuse_conv_norm(module.conv, norm)
    module.bn = nn.Sequential(norm.drop, norm.act) if not isinstance(norm.drop, nn.Identity) \
        else norm.act


def fuse_all_conv_norm_act(root):
    """Fold every :class:`ConvNormAct` under ``root``; returns how many were folded."""
    targets = [m for m in root.modules() if isinstance(m, ConvNormAct)
               and isinstance(m.bn, nn.BatchNorm2d)]
    for module in targets:
        fuse_conv_norm_act(module)
    return len(targets)


@torch.no_grad()
def add_identity_to_conv(conv):
    """Turn ``conv`` into ``x -> x + conv(x)`` (a stride-1, ungrouped, same-channels,
    odd-kernel, 'same'-padded conv), saving the residual pass: +1 at each kernel centre."""
    c_out, c_in, kh, kw = conv.weight.shape
    if (conv.stride != (1, 1) or conv.groups != 1 or c_out != c_in or kh % 2 == 0
            or kw % 2 == 0 or conv.padding != (kh // 2, kw // 2)):
        raise ValueError(f'cannot fold a residual into {conv}')
    index = torch.arange(c_out)
    conv.weight[index, index, kh // 2, kw // 2] += 1


def deployed_copy(model):
    """A float32 CPU copy of ``model`` (a RADIOModel or a RADIO backbone) in its inference
    form; the model is left as is (returned itself when it already is that form)."""
    as_is = model.deployed and all(p.dtype == torch.float32 and p.device.type == 'cpu'
                                   for p in model.parameters())
    copy = model if as_is else deepcopy(model).float().cpu()
    return copy.switch_to_deploy().eval()
