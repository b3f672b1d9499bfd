"""Which module of a deployed model runs which packed kernel: the policy of
:func:`pack_kernels`, kept apart from the kernels (:mod:`.packed_kernels`,
:mod:`.winograd_conv`) so that they import nothing of it.

Linears and zero-padded convolutions get :class:`PackedLinear` / :class:`PackedConv2d`, the
3x3 convolutions Winograd gains on (:func:`winograd_applies`) :class:`WinogradConv2d`, and an
activation oneDNN can fuse is folded into the kernel before it.
"""
from timm.layers import ConvNormAct, Mlp
from torch import nn

from .packed_kernels import PackedConv2d, PackedLinear, fusable_activation, packed_kernels_available
from .winograd_conv import WinogradConv2d, winograd_applies


def _packable_conv(module):
    # Exact types only: subclasses (timm's Conv2dSame, ...) pad in their own forward.
    return (type(module) is nn.Conv2d and module.padding_mode == 'zeros'
            and not isinstance(module.padding, str))


def _packable(module):
    return type(module) is nn.Linear or _packable_conv(module)


def _pack(module, activation=None):
    if type(module) is nn.Linear:
        return PackedLinear.from_linear(module, activation)
    if _packable_conv(module):
        kind = WinogradConv2d if winograd_applies(module) else PackedConv2d
        return kind.from_conv(module, activation)
    return None


def _fuse_activations(root):
    """Pack the convs and linears followed by an activation oneDNN can fuse, replacing the
    activation by Identity: timm's ConvNormAct once its norm is folded (``bn`` is then the
    activation), conv/ConvNormAct + activation pairs in a Sequential, and Mlp's fc1 + act."""
    for module in list(root.modules()):
        if isinstance(module, ConvNormAct) and fusable_activation(module.bn):
            packed = _pack(module.conv, module.bn)
            if packed is not None:
                module.conv, module.bn = packed, nn.Identity()
        elif isinstance(module, Mlp) and fusable_activation(module.act):
            packed = _pack(module.fc1, module.act)
            if packed is not None:
                module.fc1, module.act = packed, nn.Identity()
        elif isinstance(module, nn.Sequential):
            for i in range(len(module) - 1):
                first, act = module[i], module[i + 1]
                if not fusable_activation(act):
                    continue
                if isinstance(first, ConvNormAct) and isinstance(first.bn, nn.Identity):
                    packed = _pack(first.conv, act)
                    if packed is not None:
                        first.conv, module[i + 1] = packed, nn.Identity()
                elif _packable(first):
                    module[i], module[i + 1] = _pack(first, act), nn.Identity()


def pack_kernels(root):
    """Swap, in place, every Linear and (zero-padded) Conv2d under ``root`` for its packed
    form, fusing the activations that follow them. A no-op without oneDNN; returns the
    number of modules packed."""
    if not packed_kernels_available():
        return 0
    _fuse_activations(root)
    count = 0
    for parent in list(root.modules()):
        for name, child in list(parent.named_children()):
            packed = _pack(child)
            if packed is not None:
                setattr(parent, name, packed)
            count += packed is not None or isinstance(child, (PackedLinear, PackedConv2d))
    return count
