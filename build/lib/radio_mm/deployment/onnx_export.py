"""Export RADIO students to ONNX with dynamic batch, height and width; check with onnxruntime.

Which torch exporter (torch 2.14) does the work:

* RADIOViT, and RADIOModel around one: the ``torch.export``-based exporter (``dynamo=True``,
  the default since torch 2.9) with ``dynamic_shapes`` H = ``step * h``, W = ``step * w``
  (``step`` = patch size). The CPE resize-and-crop of the position grid and the ViTDet
  window partition (with its padding) stay symbolic. The TorchScript exporter cannot
  do this: it freezes the ``max(h, w)`` of the CPE resize to the export size.
* ERADIO: the TorchScript exporter (``dynamo=False``, ``dynamic_axes``). With torch 2.14.1
  the dynamo exporter fails on the windowed attention (a ``reshape`` recorded as a view
  before the attention op is decomposed), and when that is avoided it spends minutes on
  symbolic shape arithmetic. Tracing freezes Python control flow, so while tracing an
  attention stage always resizes its map to the next multiple of its windows, with sizes
  computed as traced integer arithmetic (``AttentionStage.forward_blocks``): the graph is
  exact at every multiple of 32 px, like the PyTorch model. (Window merges use
  ``reshape(-1, ...)``, not ``unflatten``, so the window count stays symbolic.)

What is exported is the model's inference form (``switch_to_deploy()``: batch norm folded,
position biases precomputed), on a copy, so that the model given stays as it was and the
checks compare the export against it.

The ONNX model takes ``images`` (B, 3, H, W) float32: RGB in [0, 1] for a RADIOModel (the
input conditioner is inside), normalized images for a bare backbone. Outputs are NCHW maps
(see :class:`BackboneForONNX`, :class:`RADIOModelForONNX`).
"""
import os
import os.path as osp
import warnings

import numpy as np
import torch
from torch import nn

from radio_mm.models import RADIOModel
from radio_mm.models.backbones import ERADIO, RADIOBackbone
from radio_mm.models.inference_model import tokens_to_nchw
from radio_mm.models.utils.inference_form import deployed_copy

EXPORTERS = ('auto', 'dynamo', 'torchscript')
DEFAULT_TOLERANCE = 1e-4  # max |onnx - torch| / max |torch|, per output


class BackboneForONNX(nn.Module):
    """Normalized (B, 3, H, W) -> ``summary`` (B, S, C), ``features`` (B, C, H/p, W/p)."""

    def __init__(self, backbone):
        super().__init__()
        self.backbone = backbone

    @property
    def output_names(self):
        return ['summary', 'features']

    def forward(self, images):
        radio = self.backbone.forward_radio(images)
        return radio.summary, tokens_to_nchw(radio.features, radio.hw)


class RADIOModelForONNX(nn.Module):
    """RGB in [0, 1], (B, 3, H, W) -> ``summary`` (B, S*C) and ``features`` (B, C, h, w) of
    the backbone, then ``<adaptor>.summary`` (B, C_s) for adaptors with a summary head and
    ``<adaptor>.features`` (B, C_t, h*u, w*u), ``u`` the adaptor's upsampling."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    @property
    def output_names(self):
        names = ['summary', 'features']
        for name, adaptor in self.model.adaptors.items():
            names += [f'{name}.summary'] if adaptor.summary_mlp is not None else []
            names.append(f'{name}.features')
        return names

    def forward(self, images):
        radio = self.model.forward_backbone(images)
        outputs = self.model.forward_outputs(radio, feature_fmt='NCHW')
        return tuple(named_outputs(outputs).values())


def named_outputs(outputs):
    """``{'backbone': RadioOutput, <adaptor>: RadioOutput}`` -> ONNX output name -> tensor,
    in :attr:`RADIOModelForONNX.output_names` order (summaries a head lacks are left out)."""
    named = {}
    for key, output in outputs.items():
        prefix = '' if key == 'backbone' else f'{key}.'
        if output.summary is not None:
            named[f'{prefix}summary'] = output.summary
        named[f'{prefix}features'] = output.features
    return named


def torch_outputs(model, images):
    """Output name -> what the ONNX graph must reproduce: ``model(images)`` itself for a
    RADIOModel, the backbone's ``forward_radio`` as NCHW maps for a bare backbone."""
    if isinstance(model, RADIOModel):
        outputs = model(images, feature_fmt='NCHW')
        return named_outputs(outputs if model.adaptors else dict(backbone=outputs))
    wrapper = BackboneForONNX(model)
    return dict(zip(wrapper.output_names, wrapper(images)))


def onnx_wrapper(model):
    """The module whose forward is exported, for a RADIOModel or a bare RADIO backbone."""
    if isinstance(model, RADIOModel):
        return RADIOModelForONNX(model)
    if isinstance(model, RADIOBackbone):
        return BackboneForONNX(model)
    raise TypeError(f'export_onnx exports a RADIOModel or a RADIO backbone (RADIOViT, ERADIO), '
                    f'got {type(model).__name__}')


def export_size_multiple(model):
    """Input H and W of the exported model must be multiples of this many pixels."""
    backbone = model.backbone if isinstance(model, RADIOModel) else model
    return backbone.size_multiple


def _nearest(step, hw, min_steps=1):
    return tuple(max(min_steps * step, round(s / step) * step) for s in hw)


def check_sizes(model, sizes, min_steps=1):
    """Raise unless every (H, W) of ``sizes`` is a multiple of the model's size step with
    at least ``min_steps`` steps per side."""
    step = export_size_multiple(model)
    bad = [tuple(hw) for hw in sizes
           if len(hw) != 2 or min(hw) < min_steps * step or hw[0] % step or hw[1] % step]
    if bad:
        least = f'at least {min_steps * step} px and ' if min_steps > 1 else ''
        raise ValueError(
            f'sizes {bad} do not fit {type(model).__name__}: H and W must be {least}'
            f'multiples of {step} px. Use e.g. '
            f'{[_nearest(step, hw, min_steps) for hw in bad if len(hw) == 2]}')


def check_export_size(model, input_hw):
    """The traced example needs two size steps per side: the exporters treat a size of one
    step (one patch for a ViT) as the constant 1 and the graph would not stay dynamic."""
    step = export_size_multiple(model)
    try:
        check_sizes(model, [input_hw], min_steps=2)
    except ValueError as error:
        raise ValueError(f'{error} (the export size needs two {step} px steps per side: '
                         'exporters freeze a side of one step to a constant)') from None


def _pick_exporter(model, exporter):
    if exporter not in EXPORTERS:
        raise ValueError(f'exporter must be one of {EXPORTERS}, got {exporter!r}')
    if exporter != 'auto':
        return exporter
    backbone = model.backbone if isinstance(model, RADIOModel) else model
    return 'torchscript' if isinstance(backbone, ERADIO) else 'dynamo'


def export_onnx(model, path, input_hw=(224, 224), batch_size=2, exporter='auto', opset=None):
    """Write ``model`` to ``path`` as ONNX with dynamic batch, height and width.

    Args:
        model (RADIOModel | RADIOBackbone): in float32; exported on the CPU.
        input_hw (tuple[int, int]): the example input size traced.
        batch_size (int): the example batch; 2 or more, so the batch stays dynamic (the
            dynamo exporter specializes a size of 1).
        exporter (str): ``'auto'`` (see the module docstring), ``'dynamo'`` or
            ``'torchscript'``.
        opset (int | None): ONNX opset; None takes the exporter's default.

    Returns:
        dict: ``exporter``, ``output_names``, ``size_multiple``.
    """
    if batch_size < 2:
        raise ValueError('batch_size must be at least 2 so that the batch stays dynamic')
    onnx_wrapper(model)  # a clear TypeError for other models
    check_export_size(model, input_hw)
    exporter = _pick_exporter(model, exporter)
    wrapper = onnx_wrapper(deployed_copy(model)).eval()
    images = torch.rand(batch_size, 3, *input_hw)
    names = wrapper.output_names
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    step = export_size_multiple(model)
    if exporter == 'dynamo':
        dims = dict(batch=torch.export.Dim('batch', min=1, max=4096),
                    h=torch.export.Dim('h', min=1, max=16384 // step),
                    w=torch.export.Dim('w', min=1, max=16384 // step))
        torch.onnx.export(
            wrapper, (images, ), path, dynamo=True, input_names=['images'],
            output_names=names, opset_version=opset, verbose=False,
            dynamic_shapes=({0: dims['batch'], 2: step * dims['h'], 3: step * dims['w']}, ))
    else:
        axes = {'images': {0: 'batch', 2: 'height', 3: 'width'}}
        axes.update({name: {0: 'batch'} for name in names})
        for name in names:
            if name.endswith('features'):
                axes[name].update({2: f'{name}_h', 3: f'{name}_w'})
        with torch.no_grad(), warnings.catch_warnings():
            # Frozen Python control flow is expected and made safe by the size rule above.
            warnings.simplefilter('ignore', torch.jit.TracerWarning)
            warnings.filterwarnings('ignore', 'You are using the legacy TorchScript',
                                    DeprecationWarning)
            torch.onnx.export(wrapper, (images, ), path, dynamo=False, input_names=['images'],
                              output_names=names, dynamic_axes=axes,
                              opset_version=opset or 17)
    _add_metadata(path, dict(exporter=exporter, size_multiple=str(step),
                             input='RGB in [0, 1]' if isinstance(model, RADIOModel) else
                             'normalized RGB'))
    return dict(exporter=exporter, output_names=names, size_multiple=step)


def _add_metadata(path, metadata):
    import onnx
    proto = onnx.load(path, load_external_data=False)
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = f'radio_mm.{key}', value
    onnx.save(proto, path)


@torch.no_grad()
def check_onnx(model, path, sizes, batch_size=2, tolerance=DEFAULT_TOLERANCE, seed=0):
    """Run the ONNX file and ``model`` on the same random images at each (H, W) of ``sizes``.

    The reference is the model as called (``model(x)`` for a RADIOModel, see
    :func:`torch_outputs`), not the export wrapper, so a step the wrapper missed shows.

    Returns:
        list[dict]: per size and output: ``height``, ``width``, ``output``, ``shape``,
        ``max_abs_error`` and ``rel_error`` (max abs error / max |torch value|).

    Raises:
        RuntimeError: when an output's shape differs or ``rel_error > tolerance``.
    """
    import onnxruntime as ort

    check_sizes(model, sizes)
    onnx_wrapper(model)  # a clear TypeError for other models
    model = model.float().cpu().eval()
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    names = [o.name for o in session.get_outputs()]
    generator = torch.Generator().manual_seed(seed)
    rows, failures = [], []
    for hw in sizes:
        images = torch.rand(batch_size, 3, *hw, generator=generator)
        expected = torch_outputs(model, images)
        if set(expected) != set(names):
            raise RuntimeError(f'{path} has outputs {names}, the model {list(expected)}')
        got = session.run(names, {'images': images.numpy()})
        for name, out in zip(names, got):
            ref = expected[name].numpy()
            if ref.shape != out.shape:
                failures.append(f'{name} at {hw}: shape {out.shape} instead of {ref.shape}')
                continue
            abs_error = float(np.abs(ref - out).max())
            rel_error = abs_error / max(float(np.abs(ref).max()), 1e-12)
            rows.append(dict(height=hw[0], width=hw[1], output=name, shape=list(ref.shape),
                             max_abs_error=abs_error, rel_error=rel_error))
            if not rel_error <= tolerance:
                failures.append(f'{name} at {hw}: relative error {rel_error:.2e} > '
                                f'{tolerance:.0e}')
    if failures:
        raise RuntimeError(f'{path} does not match PyTorch: ' + '; '.join(failures))
    return rows
