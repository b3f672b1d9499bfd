"""oneDNN kernels with weights reordered once, for deployed models on x86 CPUs.

Eager PyTorch re-does weight work on every call: ``F.conv2d`` reorders the weight into
oneDNN's blocked layout each time (85 MB for one of E-RADIO-L's 1536-channel 3x3 convs, as
long as the convolution itself at 16 x 16), and ``F.linear`` runs MKL's sgemm, which packs
the weight per call and, on AMD processors, takes a slower code path than oneDNN.
:class:`PackedLinear` and :class:`PackedConv2d` keep a reordered copy of the weight and run
oneDNN's kernels with the following activation fused in: the ops inductor itself emits
when it freezes a model for CPU (``torch.ops.mkldnn._linear_pointwise`` /
``_convolution_pointwise``, `torch/_inductor/fx_passes/mkldnn_fusion.py`). Measured gains
are in benchmarks/README.md.

The ``weight`` parameter stays what it was (``state_dict``, ``.to()``, ONNX export and
``torch.compile`` see a plain Linear/Conv2d); the reordered copy is derived from it, redone
when the weight changes, and dropped when the module is copied or pickled. It costs a second
copy of the weights in memory. The plain path (the module's own forward, then the
activation) runs wherever the fused kernel does not apply: autograd, tracing and export,
``torch.compile`` (which packs by itself with ``freezing=True``), autocast, other devices
and dtypes.

This module and :mod:`.winograd_conv` hold the kernels only; which module of a model gets
which kernel is :mod:`.kernel_packing`'s policy.
"""
import torch
from torch import nn

from .inference_form import is_tracing


def packed_kernels_available():
    """True when this torch has oneDNN (x86 or ARM builds with mkldnn) and its fused ops."""
    return torch.backends.mkldnn.is_available() and all(
        hasattr(torch.ops.mkldnn, op) for op in (
            '_linear_pointwise', '_reorder_linear_weight', '_convolution_pointwise',
            '_reorder_convolution_weight'))


def fusable_activation(module):
    """oneDNN's ``(attr, algorithm)`` post-op for an activation module, or None."""
    if isinstance(module, nn.ReLU):
        return 'relu', ''
    if isinstance(module, nn.SiLU):
        return 'swish', ''
    if isinstance(module, nn.GELU):
        return 'gelu', module.approximate  # 'none' (erf) or 'tanh'
    return None


class _PackedWeight:
    """The reordered-weight cache and the choice between fused and plain paths."""

    def _init_packing(self, activation):
        self.activation = activation if activation is not None else nn.Identity()
        self.post_op = fusable_activation(activation) if activation is not None \
            else ('none', '')
        if self.post_op is None:
            raise ValueError(f'oneDNN cannot fuse the activation {activation}')
        self._packed = None
        self._packed_key = None

    def _fused_path(self, x):
        return (x.device.type == 'cpu' and x.dtype == torch.float32
                and self.weight.dtype == torch.float32
                and not (torch.is_grad_enabled()
                         and (x.requires_grad or self.weight.requires_grad))
                and not torch.is_autocast_enabled('cpu')
                and not is_tracing() and not torch.compiler.is_compiling())

    def _packed_weight(self, x):
        # data_ptr catches .to()/new tensors, _version in-place updates of the weight.
        key = (self.weight.data_ptr(), self.weight._version)
        if self._packed_key != key:
            self._packed = self._reorder(self.weight.detach(), x)
            self._packed_key = key
        return self._packed

    def _reorder(self, weight, x):
        raise NotImplementedError

    def __getstate__(self):
        # oneDNN tensors have no storage to copy or pickle: rebuilt on the next call.
        state = self.__dict__.copy()
        state.update(_packed=None, _packed_key=None)
        return state


class PackedLinear(_PackedWeight, nn.Linear):
    """``activation(linear(x))`` through oneDNN with the weight reordered once."""

    def __init__(self, in_features, out_features, bias=True, activation=None, device=None,
                 dtype=None):
        super().__init__(in_features, out_features, bias, device=device, dtype=dtype)
        self._init_packing(activation)

    @classmethod
    def from_linear(cls, linear, activation=None):
        """A PackedLinear sharing ``linear``'s parameters."""
        packed = cls(linear.in_features, linear.out_features, linear.bias is not None,
                     activation, device='meta')
        packed.weight, packed.bias = linear.weight, linear.bias
        return packed

    def _reorder(self, weight, x):
        return torch.ops.mkldnn._reorder_linear_weight(weight, x.numel() // x.shape[-1])

    def forward(self, x):
        if self._fused_path(x):
            return torch.ops.mkldnn._linear_pointwise(x, self._packed_weight(x), self.bias,
                                                      self.post_op[0], [], self.post_op[1])
        return self.activation(super().forward(x))


class PackedConv2d(_PackedWeight, nn.Conv2d):
    """``activation(conv2d(x))`` through oneDNN with the weight reordered once."""

    def __init__(self, *args, activation=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._init_packing(activation)

    @classmethod
    def from_conv(cls, conv, activation=None):
        """A PackedConv2d sharing ``conv``'s parameters."""
        packed = cls(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                     conv.padding, conv.dilation, conv.groups, conv.bias is not None,
                     conv.padding_mode, activation=activation, device='meta')
        packed.weight, packed.bias = conv.weight, conv.bias
        return packed

    def _reorder(self, weight, x):
        return torch.ops.mkldnn._reorder_convolution_weight(
            weight, self.padding, self.stride, self.dilation, self.groups, list(x.shape))

    def forward(self, x):
        if self._fused_path(x) and x.dim() == 4:
            return torch.ops.mkldnn._convolution_pointwise(
                x, self._packed_weight(x), self.bias, self.padding, self.stride,
                self.dilation, self.groups, self.post_op[0], [], self.post_op[1])
        return self.activation(super().forward(x))


def packed_weight_bytes(root):
    """Bytes held by the reordered weight copies under ``root`` (logical sizes): the memory
    the packed kernels add beside the parameters."""
    total = 0
    for module in root.modules():
        if isinstance(module, _PackedWeight) and module._packed is not None:
            packed = module._packed if isinstance(module._packed, list) else [module._packed]
            total += sum(t.numel() * t.element_size() for t in packed)
    return total
