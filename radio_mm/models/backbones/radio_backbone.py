"""What RADIOViT and ERADIO share: the mm backbone contract and the RADIO outputs.

Both students answer two questions: the OpenMMLab one (``forward`` -> tuple of NCHW maps at
``out_indices`` for dense heads, or summary vectors for classifiers) and the RADIO one
(``forward_radio`` -> summary tokens, one per teacher, and the final spatial tokens, which
the adaptor heads map into each teacher's space).
"""
import copy
from typing import NamedTuple, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import nn

from radio_mm.registry import MODELS, registered_function

from ..utils.inference_form import DEPLOYED_ERROR
from ..utils.kernel_packing import pack_kernels


class RadioFeatures(NamedTuple):
    """Student outputs before the adaptors.

    summary: (B, S, C), one token per summary slot (per teacher).
    features: (B, h*w, C) final spatial tokens, row-major.
    hw: the spatial grid (h, w) of ``features``.
    """
    summary: torch.Tensor
    features: torch.Tensor
    hw: Tuple[int, int]


OUT_TYPES = ('featmap', 'summary', 'summary_avgpool')
# What reads a student file into a backbone: ``radio_mm.formats.radio_checkpoint`` registers
# it in FUNCTIONS, so the model never imports the file formats (docs/architecture.md).
BACKBONE_CHECKPOINT_LOADER = 'load_radio_backbone_checkpoint'


def summary_embedding(summary, summary_idxs=None):
    """(B, S, C) summary tokens -> (B, S'*C): the tokens ``summary_idxs`` (all when None),
    concatenated: the image embedding of the official model's ``summary_idxs``."""
    if summary_idxs is not None:
        summary = summary[:, summary_idxs]
    return summary.flatten(1)


def meta_backbone(backbone_cfg):
    """The backbone of a config, built on the meta device (sizes without memory): its
    geometry and :meth:`RADIOBackbone.hidden_architecture` before any weights exist."""
    with torch.device('meta'):
        return MODELS.build(dict(copy.deepcopy(backbone_cfg), init_cfg=None))


class RADIOBackbone(BaseModule):
    """Base class: input-size policy, out_type, freezing and layer-wise depth.

    Args:
        out_indices (Sequence[int]): stages (E-RADIO) or blocks (ViT) whose maps ``forward``
            returns; -1 is the last.
        out_type (str): what ``forward`` returns: ``'featmap'`` NCHW maps at
            ``out_indices``; ``'summary'`` the flattened summary tokens (B, S*C), for linear
            probes; ``'summary_avgpool'`` those plus the mean patch token (B, (S+1)*C).
        summary_idxs (Sequence[int] | None): the summary tokens ``'summary'`` outputs take:
            those of teachers trained with a summary loss, the official model's
            ``summary_idxs`` (radio2mm.py prints them); None takes every token.
        pad_to_multiple (bool): zero-pad inputs whose size is not a multiple of
            ``size_multiple`` (bottom/right) instead of raising an error.
        frozen (bool): freeze every parameter and keep norms in eval mode.
        frozen_stages (int): freeze the stem and the first ``frozen_stages`` stages
            (0 or -1: none).
        with_cp (bool): gradient checkpointing of each block/stage while training.
        deploy (bool): switch to the inference form (:meth:`switch_to_deploy`) when put in
            eval mode, as the test loops of mm configs do; such a backbone refuses training.
        allow_random_init (bool): let a ``frozen`` backbone train without pretrained
            weights (smoke tests only: a probe on random features measures nothing).
    """

    def __init__(self, out_indices=(-1, ), out_type='featmap', summary_idxs=None,
                 pad_to_multiple=False, frozen=False, frozen_stages=-1, with_cp=False,
                 deploy=False, allow_random_init=False, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.deploy = deploy
        self.deployed = False
        self.allow_random_init = allow_random_init
        if out_type not in OUT_TYPES:
            raise ValueError(f'out_type must be one of {OUT_TYPES}, got {out_type!r}')
        self.out_type = out_type
        self.summary_idxs = None if summary_idxs is None else list(summary_idxs)
        self.pad_to_multiple = pad_to_multiple
        self.frozen = frozen
        self.frozen_stages = frozen_stages
        self.with_cp = with_cp
        self._out_indices = tuple(out_indices) if isinstance(out_indices, (list, tuple)) \
            else (out_indices, )
        self._register_load_state_dict_pre_hook(self._refuse_weights_when_deployed)

    def _refuse_weights_when_deployed(self, *args):
        # mmengine's checkpoint loading is not strict: without this, the folded convs would
        # silently keep their weights while the file's batch norms are dropped.
        if self.deployed:
            raise RuntimeError(DEPLOYED_ERROR.format(
                name=type(self).__name__, what='cannot load weights saved before the switch'))

    def init_weights(self):
        """``init_cfg=dict(type='Pretrained', checkpoint=...)`` loads strictly.

        mmengine's generic loader only logs missing or mis-shaped weights; for a student
        whose token counts or widths must match its checkpoint exactly, a silent partial
        load is worse than an error. Any RADIO student file is accepted (official release,
        converter output, distillation run: see :mod:`radio_mm.formats.radio_checkpoint`);
        ``use_ema=False`` in the init_cfg takes a run's raw weights instead of its EMA.
        """
        init_cfg = self.init_cfg
        if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained':
            load = registered_function(BACKBONE_CHECKPOINT_LOADER)
            load(self, init_cfg['checkpoint'], init_cfg.get('prefix'),
                 init_cfg.get('use_ema', True))
            self._is_init = True
            return
        if self.frozen and not self.allow_random_init:
            # mmengine initialises weights only when training (tools/test.py loads its
            # CHECKPOINT instead), so this is a probe about to train on random features.
            raise ValueError(
                f'{type(self).__name__} is frozen but has no pretrained weights: a linear '
                'probe on a random backbone trains and scores nothing. Set '
                "model.backbone.init_cfg=dict(type='Pretrained', checkpoint=...) (or, when "
                'load_from holds the whole model, or for a smoke test, '
                'model.backbone.allow_random_init=True)')
        super().init_weights()

    def whiten_features(self, features):
        """Final (B, N, C) features in the basis of the official model's output (the
        release's feature normalizer, :class:`RADIOViT`); unchanged by default."""
        return features

    def hidden_architecture(self):
        """Settings the weights cannot show (same shapes either way), compared on load with
        the ones stored in a checkpoint; none by default."""
        return {}

    # -- to implement -------------------------------------------------------------------
    @property
    def size_multiple(self):
        """Input H and W must be multiples of this many pixels."""
        raise NotImplementedError

    @property
    def num_stages(self):
        """Number of indexable stages/blocks for ``out_indices`` and ``frozen_stages``."""
        raise NotImplementedError

    def stage_modules(self):
        """[stem, stage_0, stage_1, ...]: what ``frozen_stages`` freezes, in order."""
        raise NotImplementedError

    def layer_id(self, param_name):
        """0 for the stem, i+1 for stage i, num_stages+1 for anything after."""
        raise NotImplementedError

    def _forward(self, x, out_indices):
        """(B, 3, H, W) with H, W multiples -> (RadioFeatures, [NCHW map per out index])."""
        raise NotImplementedError

    def _switch_to_deploy(self):
        """Whole-backbone rewrites into the inference form (in eval mode, under no_grad),
        after every submodule's own ``switch_to_deploy()`` ran; none by default."""

    # -- shared -------------------------------------------------------------------------
    @property
    def out_indices(self):
        return tuple(i % self.num_stages for i in self._out_indices)

    def prepare_input(self, x):
        """Check the input size; pad it when the config asks for padding."""
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f'{type(self).__name__} expects images (B, 3, H, W), '
                             f'got shape {tuple(x.shape)}')
        m = self.size_multiple
        h, w = x.shape[-2:]
        if h % m == 0 and w % m == 0:
            return x
        if not self.pad_to_multiple:
            near = (max(m, round(h / m) * m), max(m, round(w / m) * m))
            raise ValueError(
                f'{type(self).__name__} needs input height and width that are multiples of '
                f'{m} (patch/window size), got {h}x{w}. Resize to e.g. {near[0]}x{near[1]}, '
                'or set pad_to_multiple=True in the backbone config to zero-pad.')
        return F.pad(x, (0, -w % m, 0, -h % m))

    def forward_radio(self, x):
        """Summary tokens and final spatial tokens (see :class:`RadioFeatures`)."""
        radio, _ = self._forward(self.prepare_input(x), ())
        return radio

    def forward(self, x):
        x = self.prepare_input(x)
        if self.out_type != 'featmap':
            radio, _ = self._forward(x, ())
            summary = summary_embedding(radio.summary, self.summary_idxs)
            if self.out_type == 'summary_avgpool':
                summary = torch.cat([summary, self.whiten_features(radio.features).mean(1)],
                                    dim=1)
            return (summary, )
        _, maps = self._forward(x, self.out_indices)
        return tuple(maps)

    def get_layer_depth(self, param_name, prefix=''):
        """(layer id, number of layer ids) for layer-wise lr decay (mmpretrain's API)."""
        num_ids = self.num_stages + 2
        if not param_name.startswith(prefix):
            return num_ids - 1, num_ids
        return self.layer_id(param_name[len(prefix):]), num_ids

    def frozen_modules(self):
        """Modules that ``frozen`` / ``frozen_stages`` keep fixed."""
        if self.frozen:
            return [self]
        if self.frozen_stages > 0:
            return self.stage_modules()[:self.frozen_stages + 1]
        return []

    def freeze(self):
        """Stop gradients and hold norms/dropout in eval mode for the frozen part."""
        for module in self.frozen_modules():
            nn.Module.train(module, False)  # not self.train: it calls freeze again
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode=True):
        if mode and (self.deployed or self.deploy):
            raise RuntimeError(DEPLOYED_ERROR.format(
                name=type(self).__name__, what='is for inference only and cannot be trained'
            ) if self.deployed else f'{type(self).__name__}(deploy=True) is an inference '
                'config (it folds batch norm on eval); remove deploy=True to train.')
        super().train(mode)
        self.freeze()
        if not mode and self.deploy and not self.deployed:
            self.switch_to_deploy()
        return self

    def switch_to_deploy(self, packed_kernels=True):
        """Switch, irreversibly, to the inference form (official NVlabs/RADIO name).

        Same outputs (within 1e-4) with no per-call work that depends only on the input size:
        batch norm folded into convolutions, position biases precomputed, layouts chosen for
        speed (each submodule's ``switch_to_deploy`` and the backbone's ``_switch_to_deploy``
        say what they do), and on CPUs the
        linears and convolutions run oneDNN with weights reordered once and activations
        fused (:mod:`radio_mm.models.utils.packed_kernels`); ``packed_kernels=False`` keeps
        PyTorch's kernels, which saves the reordered weight copies' memory (about as much
        again as the weights). Load the weights first; afterwards the backbone refuses
        ``train()`` and ``load_state_dict``.
        """
        if not self.deployed:
            nn.Module.train(self, False)
            with torch.no_grad():
                for module in self.modules():
                    if module is not self and hasattr(module, 'switch_to_deploy'):
                        module.switch_to_deploy()
                self._switch_to_deploy()
                if packed_kernels:
                    pack_kernels(self)
            self.deployed = True
        return self
