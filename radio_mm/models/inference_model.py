"""RADIOModel: student backbone + input conditioner + per-teacher adaptors.

The inference contract of the official ``torch.hub.load('NVlabs/RADIO', 'radio_model')``
(NVlabs/RADIO `radio/radio_model.py`): RGB in [0, 1] of shape (B, 3, H, W), normalized
inside; returns ``RadioOutput(summary, features)``, or with adaptors a dict keyed
``'backbone'`` and each adaptor name. Its public attributes are the official model's too
(``patch_size``, ``preferred_resolution``, ``max_resolution``, ``window_size``,
``min_resolution_step``, ``num_summary_tokens``, ``num_cls_tokens``, ``summary_dim``,
``summary_idxs`` (int64 tensor), ``blocks``, ``inter_feature_normalizer``...).
"""
from typing import NamedTuple

import torch
from mmengine.model import BaseModule
from torch import nn

from radio_mm.registry import MODELS

from .adaptors import RadioOutput
from .backbones import RadioFeatures, summary_embedding
from .feature_normalizer import FeatureNormalizer, IntermediateFeatureNormalizer
from .input_conditioner import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD, InputConditioner

AGGREGATIONS = ('sparse', 'dense')


class Resolution(NamedTuple):
    """(height, width) in pixels (official ``radio/radio_model.py`` ``Resolution``)."""
    height: int
    width: int


NORM_ALPHA_SCHEMES = ('none', 'pre-alpha', 'post-alpha')


@MODELS.register_module()
class RADIOModel(BaseModule):
    """Args:
        backbone (dict | nn.Module): RADIOViT / ERADIO config.
        adaptors (dict[str, dict]): adaptor name -> TeacherAdaptor config.
        summary_idxs (Sequence[int]): summary tokens that form the backbone summary;
            None takes all of them.
        mean, std (Sequence[float]): input conditioner statistics for [0, 1] input.
        feature_normalizer (bool): whiten the final features (buffers
            ``feature_normalizer.{mean,tx}``) before the adaptors read them, as the releases
            that carry ``_feature_normalizer.*`` do.
        intermediate_normalizer (dict | None): ``dict(num_layers, rot_per_layer)`` for the
            per-block whitening :meth:`forward_intermediates` applies
            (``_intermediate_feature_normalizer.*`` in releases).
        preferred_resolution, max_resolution: the release's (official ``RadioResource``;
            None for a model not loaded by release name, as hubconf does for files).
        window_padding (bool): with ViTDet windows, accept any multiple of the patch size
            (windowed blocks pad the grid, as ViTDet does); False: the official rule, inputs
            must be multiples of ``patch_size * window_size`` (``min_resolution_step``).
    """

    def __init__(self, backbone, adaptors=None, summary_idxs=None, mean=OPENAI_CLIP_MEAN,
                 std=OPENAI_CLIP_STD, feature_normalizer=False, intermediate_normalizer=None,
                 preferred_resolution=None, max_resolution=None, window_padding=True,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.input_conditioner = InputConditioner(mean, std)
        self.backbone = MODELS.build(backbone) if isinstance(backbone, dict) else backbone
        self.feature_normalizer = FeatureNormalizer(self.backbone.embed_dims) \
            if feature_normalizer else nn.Identity()
        self.intermediate_normalizer = None if intermediate_normalizer is None else \
            IntermediateFeatureNormalizer(embed_dims=self.backbone.embed_dims,
                                          **intermediate_normalizer)
        self.adaptors = nn.ModuleDict({
            name: MODELS.build(dict(dict(type='TeacherAdaptor'), **cfg))
            if isinstance(cfg, dict) else cfg for name, cfg in (adaptors or {}).items()})
        # A tensor, as the official model's buffer (not saved: the config holds it).
        self.register_buffer('summary_idxs', None if summary_idxs is None else torch.tensor(
            list(summary_idxs), dtype=torch.int64), persistent=False)
        self.preferred_resolution = None if preferred_resolution is None else \
            Resolution(*preferred_resolution)
        self.max_resolution = max_resolution
        self.window_padding = window_padding

    @property
    def adaptor_names(self):
        return list(self.adaptors)

    @property
    def patch_size(self):
        """Pixels per output token side (16 for E-RADIO's stride-16 features)."""
        return getattr(self.backbone, 'patch_size', 16)

    @property
    def min_resolution_step(self):
        """Input H and W must be multiples of this: with ViTDet windows and no
        ``window_padding``, ``patch_size * window_size`` (official)."""
        if self.window_size is not None and not self.window_padding:
            return self.patch_size * self.window_size
        return self.backbone.size_multiple

    @property
    def window_size(self):
        """ViTDet window side in patches (None: global attention only)."""
        return getattr(self.backbone, 'window_size', None)

    @property
    def num_summary_tokens(self):
        """Tokens before the patches: summary and registers (official: the patch
        generator's ``num_skip``; 1 for E-RADIO)."""
        return getattr(self.backbone, 'num_prefix_tokens', 1)

    @property
    def num_cls_tokens(self):
        """Summary tokens (official ``num_cls_tokens``: at least every adaptor's slot + 1)."""
        slots = [a.summary_slot for a in self.adaptors.values()]
        return max([getattr(self.backbone, 'num_summary_tokens', 1)] + [s + 1 for s in slots])

    @property
    def summary_dim(self):
        """Width of the backbone summary: ``embed_dim`` per summary token taken."""
        count = 1 if self.summary_idxs is None else len(self.summary_idxs)
        return self.embed_dim * count

    @property
    def blocks(self):
        """The ViT blocks (None for E-RADIO)."""
        return getattr(self.backbone, 'blocks', None) if hasattr(
            self.backbone, 'block_outputs') else None

    @property
    def inter_feature_normalizer(self):
        """Official name of :attr:`intermediate_normalizer`."""
        return self.intermediate_normalizer

    @property
    def embed_dim(self):
        return self.backbone.embed_dims

    def get_nearest_supported_resolution(self, height, width):
        """Closest :class:`Resolution` whose sides are multiples of ``min_resolution_step``
        (at least one step)."""
        step = self.min_resolution_step
        return Resolution(*(max(step, int(round(s / step) * step)) for s in (height, width)))

    def run_in(self, dtype):
        """Run the student in ``dtype`` as the official hub model runs a release whose
        ``args.dtype`` says so (`hubconf.py`: student and normalizers cast, the conditioner's
        output cast; adaptor heads stay float32 and get float32 inputs). Returns self."""
        self.backbone.to(dtype)
        self.feature_normalizer.to(dtype)
        if self.intermediate_normalizer is not None:
            self.intermediate_normalizer.to(dtype)
        conditioner = self.input_conditioner
        if isinstance(conditioner, InputConditioner):
            conditioner.dtype = dtype
        return self

    def make_preprocessor_external(self):
        """Return the conditioner and stop normalizing inside (the caller does it now)."""
        conditioner = self.input_conditioner
        self.input_conditioner = nn.Identity()
        return conditioner

    @property
    def deployed(self):
        """True once :meth:`switch_to_deploy` ran (the backbone's inference form)."""
        return self.backbone.deployed

    def switch_to_deploy(self, packed_kernels=True):
        """The backbone's inference form (:meth:`RADIOBackbone.switch_to_deploy`; official
        NVlabs/RADIO name); the model stays in eval mode and refuses training."""
        self.backbone.switch_to_deploy(packed_kernels)
        return self.eval()

    def check_resolution(self, x):
        """Refuse (B, 3, H, W) input whose H or W is not a multiple of
        ``min_resolution_step``: the official error (`radio/radio_model.py`), then the size
        to resize to. A backbone with ``pad_to_multiple`` takes any size."""
        step = self.min_resolution_step
        h, w = x.shape[-2:]
        if (h % step or w % step) and not getattr(self.backbone, 'pad_to_multiple', False):
            near = tuple(self.get_nearest_supported_resolution(h, w))
            raise ValueError(
                f'The input resolution must be a multiple of `self.min_resolution_step={step}`'
                f'. `self.get_nearest_supported_resolution(<height>, <width>)` is provided as '
                f'a convenience API. Input: {(h, w)}, Nearest: {near}. Input height and width '
                f'must be multiples of {step} (min_resolution_step); the nearest supported '
                f'resolution is {near[0]}x{near[1]}: resize the images to it.')

    def forward_backbone(self, x):
        """[0, 1] images -> :class:`RadioFeatures` before adaptors."""
        self.check_resolution(x)
        return self.backbone.forward_radio(self.input_conditioner(x))

    def backbone_summary(self, radio_features):
        return summary_embedding(radio_features.summary, self.summary_idxs)

    def forward(self, x, feature_fmt='NLC'):
        """(B, 3, H, W) in [0, 1] -> RadioOutput, or a dict of them with adaptors."""
        if feature_fmt not in ('NLC', 'NCHW'):
            raise ValueError(f"feature_fmt must be 'NLC' or 'NCHW', got {feature_fmt!r}")
        return self._returned(self.forward_outputs(self.forward_backbone(x), feature_fmt))

    def forward_outputs(self, radio, feature_fmt='NLC'):
        """The output step: final :class:`RadioFeatures` -> ``{'backbone': RadioOutput,
        <adaptor name>: RadioOutput}``, features whitened by the feature normalizer.

        Every caller that turns backbone features into model outputs goes through here
        (:meth:`forward`, :meth:`forward_intermediates`, the ONNX wrapper), so none of them
        can drop a step. The adaptors read the normalized features, as in the official
        ``_extract_final``.
        """
        radio = radio._replace(features=self.feature_normalizer(radio.features))
        outputs = dict(backbone=RadioOutput(self.backbone_summary(radio), radio.features))
        for name, adaptor in self.adaptors.items():
            summary, features = adaptor(radio)
            outputs[name] = RadioOutput(None if summary is None else summary.float(),
                                        features.float())
        if feature_fmt == 'NCHW':
            outputs = {name: RadioOutput(out.summary, tokens_to_nchw(
                out.features, radio.hw, self.feature_scale(name)))
                for name, out in outputs.items()}
        return outputs

    def _returned(self, outputs):
        """What :meth:`forward` returns for :meth:`forward_outputs`: the dict with adaptors,
        else the backbone's RadioOutput (the official contract)."""
        return outputs if self.adaptors else outputs['backbone']

    def forward_intermediates(self, x, indices=None, return_prefix_tokens=False, norm=False,
                              stop_early=False, output_fmt='NCHW', intermediates_only=False,
                              aggregation='sparse', norm_alpha_scheme='post-alpha'):
        """Per-block features, with the official signature (NVlabs/RADIO
        `radio/radio_model.py` and `radio/forward_intermediates.py`).

        Args:
            x (Tensor): (B, 3, H, W) in [0, 1].
            indices (int | Sequence[int] | None): the last ``n`` blocks if int, else block
                indices (negative from the end); None takes every block.
            return_prefix_tokens (bool): return :class:`RadioOutput` (summary, features)
                per index instead of the features alone; the summary keeps the summary
                teachers' tokens (``summary_idxs``), flattened to (B, S*C).
            norm (bool): apply the backbone's final norm to every intermediate and to the
                final output (official: without ``norm`` the final output skips it too).
            stop_early (bool): stop after the last requested block; the final output is
                then that block's.
            output_fmt (str): 'NCHW' (B, C, h, w) or 'NLC' (B, h*w, C).
            intermediates_only (bool): return the intermediates only.
            aggregation (str): 'sparse' takes the listed blocks; 'dense' averages every block
                since the previous listed one (Dense Connector, Yao et al. 2024).
            norm_alpha_scheme (str): with an intermediate normalizer, scale by its alpha
                before ('pre-alpha') or after ('post-alpha') averaging, or skip the
                normalizer ('none').
        Returns:
            list of intermediates, or ``(final, intermediates)`` where ``final`` is what
            :meth:`forward` returns with ``feature_fmt=output_fmt``.
        """
        check_intermediates_args(output_fmt, aggregation, norm_alpha_scheme)
        backbone = self.backbone
        if not hasattr(backbone, 'block_outputs'):
            raise NotImplementedError(
                f'forward_intermediates needs a ViT student; {type(backbone).__name__} has no '
                'blocks (use its out_indices maps instead).')
        take = take_indices(backbone.num_layers, indices)
        final_norm = backbone.norm if norm else nn.Identity()
        self.check_resolution(x)
        blocks = backbone.block_outputs(backbone.prepare_input(self.input_conditioner(x)),
                                        take[-1] + 1 if stop_early else None)
        taken, (tokens, hw) = self._aggregate_blocks(blocks, take, aggregation,
                                                     norm_alpha_scheme)
        intermediates = [self._intermediate_output(final_norm(out), out_hw, output_fmt,
                                                   return_prefix_tokens)
                         for out, out_hw in taken]
        if intermediates_only:
            return intermediates
        final = final_norm(tokens)
        radio = RadioFeatures(summary=final[:, :backbone.num_summary_tokens],
                              features=final[:, backbone.num_prefix_tokens:], hw=hw)
        return self._returned(self.forward_outputs(radio, output_fmt)), intermediates

    def _aggregate_blocks(self, blocks, take, aggregation, norm_alpha_scheme):
        """Whiten and aggregate the block outputs for :meth:`forward_intermediates`.

        Args:
            blocks: ``(index, tokens, hw)`` of each block run, in order.
            take (list[int]): the sorted block indices to return.
        Returns:
            ``([(tokens, hw)] per taken block, (tokens, hw) of the last block run)``: the
            taken block's whitened tokens times its alpha ('sparse'), or the
            :class:`DenseGroup` mean of the blocks since the previous taken one ('dense').
        """
        normalizer = self.intermediate_normalizer if norm_alpha_scheme != 'none' else None
        num_prefix = self.backbone.num_prefix_tokens
        group = DenseGroup(post_alpha=norm_alpha_scheme == 'post-alpha')
        taken = []
        for i, tokens, hw in blocks:
            position = len(taken)
            if aggregation == 'dense':
                # A group is rotated with the rotation of the block that closes it.
                group.add(*self._whiten_block(normalizer, tokens, i, take[min(
                    position, len(take) - 1)], num_prefix))
            if position < len(take) and i == take[position]:
                if aggregation == 'dense':
                    out = group.pop_mean()
                else:
                    y, alpha = self._whiten_block(normalizer, tokens, i, i, num_prefix)
                    out = alpha * y
                taken.append((out, hw))
        return taken, (tokens, hw)

    @staticmethod
    def _whiten_block(normalizer, tokens, index, rot_index, num_prefix):
        """(tokens, alpha) of one block; unchanged tokens and alpha 1 without a normalizer."""
        if normalizer is None:
            return tokens, 1
        return normalizer(tokens, index, rot_index, num_prefix)

    def _intermediate_output(self, tokens, hw, output_fmt, return_prefix_tokens):
        """(B, prefix + h*w, C) tokens -> features, or RadioOutput(summary, features)."""
        features = tokens[:, self.backbone.num_prefix_tokens:]
        if output_fmt == 'NCHW':
            features = tokens_to_nchw(features, hw)
        if not return_prefix_tokens:
            return features
        summary = tokens[:, :self.backbone.num_summary_tokens]
        idxs = self.summary_idxs if summary.shape[1] > 1 else None
        return RadioOutput(summary_embedding(summary, idxs), features)

    def feature_scale(self, name):
        """Feature cells per backbone token side for output ``name`` (adaptor upsampling)."""
        return 1 if name == 'backbone' else self.adaptors[name].upsample_factor


def check_intermediates_args(output_fmt, aggregation, norm_alpha_scheme):
    """Raise on an unknown :meth:`RADIOModel.forward_intermediates` option."""
    if output_fmt not in ('NCHW', 'NLC'):
        raise ValueError(f"output_fmt must be 'NCHW' or 'NLC', got {output_fmt!r}")
    if aggregation not in AGGREGATIONS:
        raise ValueError(f'aggregation must be one of {AGGREGATIONS}, got {aggregation!r}')
    if norm_alpha_scheme not in NORM_ALPHA_SCHEMES:
        raise ValueError(f'norm_alpha_scheme must be one of {NORM_ALPHA_SCHEMES}, got '
                         f'{norm_alpha_scheme!r}')


class DenseGroup:
    """Running Dense Connector mean (Yao et al. 2024) of whitened blocks ``(y, alpha)``:
    ``mean(alpha) * mean(y)`` with alpha applied after averaging ('post-alpha'), or
    ``mean(alpha * y)`` ('pre-alpha'), as NVlabs/RADIO `radio/forward_intermediates.py`."""

    def __init__(self, post_alpha):
        self.post_alpha = post_alpha
        self.total, self.alpha_sum, self.size = 0, 0, 0

    def add(self, y, alpha):
        if self.post_alpha:
            self.total, self.alpha_sum = self.total + y, self.alpha_sum + alpha
        else:
            self.total, self.alpha_sum = self.total + alpha * y, self.alpha_sum + 1
        self.size += 1

    def pop_mean(self):
        """The mean of the blocks added since the last call; starts a new group."""
        mean = self.alpha_sum / self.size * self.total / self.size
        self.total, self.alpha_sum, self.size = 0, 0, 0
        return mean


def tokens_to_nchw(tokens, hw, scale=1):
    """(B, h*w*scale**2, C) row-major tokens -> (B, C, h*scale, w*scale).

    Sizes come from ``hw`` and ``scale`` rather than from the token count, so exporters keep
    them symbolic.
    """
    return tokens.transpose(1, 2).reshape(tokens.shape[0], tokens.shape[2], hw[0] * scale,
                                          hw[1] * scale)


def take_indices(num_blocks, indices):
    """Sorted block indices for ``indices`` (int: the last n; sequence: negatives from the
    end; None: all)."""
    if indices is None:
        return list(range(num_blocks))
    if isinstance(indices, int):
        if not 0 < indices <= num_blocks:
            raise ValueError(f'indices={indices}: take between 1 and {num_blocks} blocks')
        return list(range(num_blocks - indices, num_blocks))
    indices = list(indices)
    if not indices or any(not -num_blocks <= i < num_blocks for i in indices):
        raise ValueError(f'block indices {indices} out of range for {num_blocks} blocks')
    return sorted({i % num_blocks for i in indices})
