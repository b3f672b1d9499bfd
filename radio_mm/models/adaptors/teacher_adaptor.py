"""One teacher's pair of adaptor heads: summary token -> teacher summary, tokens -> features."""
from typing import NamedTuple, Optional

import torch
from torch import nn

from radio_mm.registry import MODELS

from .adaptor_mlp import MLP_VERSIONS
from .head_versions import FEATURE_HEAD_VERSIONS


class RadioOutput(NamedTuple):
    """What the official ``RADIOModel`` returns: summary (B, C_s) and features (B, N, C)."""
    summary: Optional[torch.Tensor]
    features: torch.Tensor


@MODELS.register_module()
class TeacherAdaptor(nn.Module):
    """Summary and feature heads for one teacher.

    Args:
        in_dims (int): student width.
        feature_dims (int): teacher feature width.
        summary_dims (int | None): teacher summary width; None if the teacher has no summary
            (SAM), which also means it owns no summary token.
        hidden_dims (int): MLP hidden width.
        num_inner (int): residual blocks in each MLP.
        summary_slot (int): index of the student summary token this teacher reads.
        upsample_factor (int): feature head upsampling (see :class:`AdaptorMLP`).
        pre_norm (bool): input LayerNorm + GELU in both heads.
        summary_hidden_dims, summary_num_inner (int): the summary head's own sizes, when
            they differ from the feature head's (None: the same).
        mlp_version (str): 'v2' (:class:`AdaptorMLP`) or 'v1' (:class:`AdaptorMLPv1`, the
            RADIOv1 releases); ``summary_mlp_version`` overrides it for the summary head.
        feature_mlp_version (str | None): the feature head's own version when it differs:
            'attn' (:class:`AttnFDHead`, C-RADIOv4's ``spatial_mlp_version='attn'``).
        phi_s (dict | None): the feature head learned PHI-S standardized targets
            (Ranzinger et al., 2024); :class:`PHISStandardizer` kwargs. The adaptor keeps the
            statistics (saved with the student) and returns teacher-space features, so a
            ``sam`` head still feeds SAM's decoder; ``dict(from_checkpoint=True)`` when the
            statistics come from the checkpoint.
    """

    def __init__(self, in_dims, feature_dims, summary_dims=None, hidden_dims=1024, num_inner=1,
                 summary_slot=0, upsample_factor=1, pre_norm=False, summary_hidden_dims=None,
                 summary_num_inner=None, mlp_version='v2', summary_mlp_version=None,
                 phi_s=None, feature_mlp_version=None):
        super().__init__()
        for version in (mlp_version, summary_mlp_version or mlp_version):
            if version not in MLP_VERSIONS:
                raise ValueError(f'mlp_version must be one of {sorted(MLP_VERSIONS)}, '
                                 f'got {version!r}')
        feature_mlp_version = feature_mlp_version or mlp_version
        if feature_mlp_version not in FEATURE_HEAD_VERSIONS:
            raise ValueError(f'feature_mlp_version must be one of '
                             f'{sorted(FEATURE_HEAD_VERSIONS)}, got {feature_mlp_version!r}')
        self.phi_s = None if phi_s is None else MODELS.build(
            dict(dict(type='PHISStandardizer'), dims=feature_dims, **phi_s))
        self.summary_slot = summary_slot
        self.summary_mlp = None if summary_dims is None else MLP_VERSIONS[
            summary_mlp_version or mlp_version](
                in_dims, summary_hidden_dims or hidden_dims, summary_dims,
                num_inner if summary_num_inner is None else summary_num_inner, pre_norm)
        self.feature_mlp = FEATURE_HEAD_VERSIONS[feature_mlp_version](
            in_dims, hidden_dims, feature_dims, num_inner, pre_norm, upsample_factor)

    @property
    def upsample_factor(self):
        return self.feature_mlp.upsample_factor

    def forward(self, radio_features, standardized=False):
        """:class:`RadioFeatures` -> :class:`RadioOutput` in this teacher's space.

        ``standardized``: with PHI-S, the features as trained (standardized space, what the
        distillation loss compares) instead of the teacher's.
        """
        # Heads run in their own dtype, whatever the student's (`radio/adaptor_generic.py`
        # casts the input to the first parameter's dtype).
        dtype = next(self.feature_mlp.parameters()).dtype
        summary = None
        if self.summary_mlp is not None:
            summary = self.summary_mlp(radio_features.summary[:, self.summary_slot].to(dtype))
        features = self.feature_mlp(radio_features.features.to(dtype), radio_features.hw)
        if self.phi_s is not None and not standardized:
            features = self.phi_s.unstandardize(features)
        return RadioOutput(summary, features)
