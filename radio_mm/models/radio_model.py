"""RADIOModel: student backbone + input conditioner + per-teacher adaptors.

The inference contract of the official ``torch.hub.load('NVlabs/RADIO', 'radio_model')``
(NVlabs/RADIO `radio/radio_model.py`): RGB in [0, 1] of shape (B, 3, H, W), normalized
inside; returns ``RadioOutput(summary, features)``, or with adaptors a dict keyed
``'backbone'`` and each adaptor name.
"""
from mmengine.model import BaseModule
from torch import nn

from radio_mm.registry import MODELS
from .adaptors import RadioOutput
from .input_conditioner import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD, InputConditioner


@MODELS.register_module()
class RADIOModel(BaseModule):
    """Args:
        backbone (dict | nn.Module): RADIOViT / ERADIO config.
        adaptors (dict[str, dict]): adaptor name -> TeacherAdaptor config.
        summary_idxs (Sequence[int]): summary tokens that form the backbone summary;
            None takes all of them.
        mean, std (Sequence[float]): input conditioner statistics for [0, 1] input.
    """

    def __init__(self, backbone, adaptors=None, summary_idxs=None, mean=OPENAI_CLIP_MEAN,
                 std=OPENAI_CLIP_STD, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.input_conditioner = InputConditioner(mean, std)
        self.backbone = MODELS.build(backbone) if isinstance(backbone, dict) else backbone
        self.adaptors = nn.ModuleDict({
            name: MODELS.build(dict(dict(type='TeacherAdaptor'), **cfg))
            if isinstance(cfg, dict) else cfg for name, cfg in (adaptors or {}).items()})
        self.summary_idxs = None if summary_idxs is None else list(summary_idxs)

    @property
    def adaptor_names(self):
        return list(self.adaptors)

    @property
    def patch_size(self):
        """Pixels per output token side (16 for E-RADIO's stride-16 features)."""
        return getattr(self.backbone, 'patch_size', 16)

    @property
    def min_resolution_step(self):
        """Input H and W must be multiples of this."""
        return self.backbone.size_multiple

    @property
    def embed_dim(self):
        return self.backbone.embed_dims

    def get_nearest_supported_resolution(self, height, width):
        """Closest (H, W) that are multiples of ``min_resolution_step`` (at least one step)."""
        step = self.min_resolution_step
        return tuple(max(step, int(round(s / step) * step)) for s in (height, width))

    def make_preprocessor_external(self):
        """Return the conditioner and stop normalizing inside (the caller does it now)."""
        conditioner = self.input_conditioner
        self.input_conditioner = nn.Identity()
        return conditioner

    def switch_to_deploy(self):
        """The backbone's inference form (:meth:`RADIOBackbone.switch_to_deploy`; official
        NVlabs/RADIO name); the model stays in eval mode and refuses training."""
        self.backbone.switch_to_deploy()
        return self.eval()

    def forward_backbone(self, x):
        """[0, 1] images -> :class:`RadioFeatures` before adaptors."""
        return self.backbone.forward_radio(self.input_conditioner(x))

    def backbone_summary(self, radio_features):
        summary = radio_features.summary
        if self.summary_idxs is not None:
            summary = summary[:, self.summary_idxs]
        return summary.flatten(1)

    def forward(self, x, feature_fmt='NLC'):
        """(B, 3, H, W) in [0, 1] -> RadioOutput, or a dict of them with adaptors."""
        if feature_fmt not in ('NLC', 'NCHW'):
            raise ValueError(f"feature_fmt must be 'NLC' or 'NCHW', got {feature_fmt!r}")
        radio = self.forward_backbone(x)
        outputs = dict(backbone=RadioOutput(self.backbone_summary(radio), radio.features))
        for name, adaptor in self.adaptors.items():
            summary, features = adaptor(radio)
            outputs[name] = RadioOutput(None if summary is None else summary.float(),
                                        features.float())
        if feature_fmt == 'NCHW':
            outputs = {name: RadioOutput(out.summary, tokens_to_nchw(
                out.features, radio.hw, self.feature_scale(name)))
                for name, out in outputs.items()}
        return outputs if self.adaptors else outputs['backbone']

    def feature_scale(self, name):
        """Feature cells per backbone token side for output ``name`` (adaptor upsampling)."""
        return 1 if name == 'backbone' else self.adaptors[name].upsample_factor


def tokens_to_nchw(tokens, hw, scale=1):
    """(B, h*w*scale**2, C) row-major tokens -> (B, C, h*scale, w*scale).

    Sizes come from ``hw`` and ``scale`` rather than from the token count, so exporters keep
    them symbolic.
    """
    return tokens.transpose(1, 2).reshape(tokens.shape[0], tokens.shape[2], hw[0] * scale,
                                          hw[1] * scale)
