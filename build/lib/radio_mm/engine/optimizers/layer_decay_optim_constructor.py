"""Layer-wise learning-rate decay for ViT detectors, as ViTDet fine-tunes them.

Clark et al. (ELECTRA) / Bao et al. (BEiT) decay the learning rate geometrically from the
head down to the patch embedding, so pretrained early layers move least; ViTDet fine-tunes
on COCO with rate 0.7 (ViT-B), 0.8 (L), 0.9 (H) (detectron2
`projects/ViTDet/configs/COCO/mask_rcnn_vitdet_{b_100ep,l_100ep,h_75ep}.py`). The
``paramwise_cfg`` keys and the resulting groups are those of mmdet's
`projects/ViTDet/vitdet/layer_decay_optimizer_constructor.py` (not in the mmdet wheel). The
layer of a parameter comes from the backbone's ``get_layer_depth`` (mmpretrain's API, which
RADIOViT and E-RADIO implement) when it has one, so any such backbone works, not only a
backbone that names its blocks ``blocks.<i>``.
"""
from mmengine.logging import print_log
from mmengine.optim import DefaultOptimWrapperConstructor
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.instancenorm import _InstanceNorm

from radio_mm.registry import OPTIM_WRAPPER_CONSTRUCTORS

PARAMWISE_KEYS = ('decay_rate', 'decay_type', 'num_layers')
NORM_TYPES = (nn.LayerNorm, nn.GroupNorm, _BatchNorm, _InstanceNorm)
# Embeddings kept free of weight decay: the project exempts ``pos_embed``; RADIO's summary
# and register tokens (``cls_token``) are embeddings of the same kind.
NO_DECAY_EMBEDDINGS = ('pos_embed', 'cls_token')


def vit_layer_id(param_name, num_layers):
    """The project's naming rule, for backbones without ``get_layer_depth``.

    ``backbone.*patch_embed*`` / ``*pos_embed*`` -> 0, ``backbone.blocks.<i>.*`` -> i + 1,
    everything else (later backbone parts, neck, heads) -> num_layers + 1.
    """
    if param_name.startswith('backbone'):
        if 'patch_embed' in param_name or 'pos_embed' in param_name:
            return 0
        if '.blocks.' in param_name:
            return int(param_name.split('.')[2]) + 1
    return num_layers + 1


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class LayerDecayOptimizerConstructor(DefaultOptimWrapperConstructor):
    """One parameter group per (layer, decay/no-decay) with ``lr = base_lr * scale``.

    ``scale = decay_rate ** (num_layers + 1 - layer_id)``: 1 for the neck and heads,
    ``decay_rate`` for the last block, ``decay_rate ** (num_layers + 1)`` for the patch
    embedding. Backbone norm parameters and position embeddings / tokens get no weight decay.

    paramwise_cfg:
        decay_rate (float): required, e.g. 0.7 for ViT-B.
        decay_type (str): 'layer_wise' (the only mode, as in the project).
        num_layers (int): backbone blocks. Optional when the backbone has
            ``get_layer_depth`` (it must then agree with it); required otherwise.
    """

    def __init__(self, optim_wrapper_cfg, paramwise_cfg=None):
        super().__init__(optim_wrapper_cfg, paramwise_cfg)
        if not self.paramwise_cfg:
            return  # mmengine then uses plain model.parameters(), as for any constructor
        unknown = set(self.paramwise_cfg) - set(PARAMWISE_KEYS)
        if unknown:
            raise ValueError(f'LayerDecayOptimizerConstructor got unknown paramwise_cfg keys '
                             f'{sorted(unknown)}; it takes {PARAMWISE_KEYS}')
        if 'decay_rate' not in self.paramwise_cfg:
            raise ValueError('LayerDecayOptimizerConstructor needs paramwise_cfg.decay_rate, '
                             'e.g. dict(decay_rate=0.7, decay_type="layer_wise", num_layers=12)')
        decay_type = self.paramwise_cfg.get('decay_type', 'layer_wise')
        if decay_type != 'layer_wise':
            raise ValueError(f"paramwise_cfg.decay_type must be 'layer_wise', got "
                             f'{decay_type!r} (stage-wise decay of ConvNeXt is mmdet\'s '
                             'LearningRateDecayOptimizerConstructor)')

    def layer_depth_fn(self, model):
        """``param_name -> layer_id`` and the number of layer ids for ``model``."""
        num_layers = self.paramwise_cfg.get('num_layers')
        backbone = getattr(model, 'backbone', None)
        if hasattr(backbone, 'get_layer_depth'):
            # A name outside the prefix is "after the backbone": (num_ids - 1, num_ids).
            _, num_ids = backbone.get_layer_depth('', 'backbone.')
            if num_layers is not None and num_layers + 2 != num_ids:
                raise ValueError(
                    f'paramwise_cfg.num_layers={num_layers} does not match the backbone '
                    f'{type(backbone).__name__}, which has {num_ids - 2} layers; set '
                    f'num_layers={num_ids - 2} or leave it out')
            return lambda name: backbone.get_layer_depth(name, 'backbone.')[0], num_ids
        if num_layers is None:
            raise ValueError(
                f'{type(backbone).__name__} has no get_layer_depth(param_name, prefix); '
                'set paramwise_cfg.num_layers so that blocks are found by the ViT naming '
                'rule backbone.blocks.<i>')
        return lambda name: vit_layer_id(name, num_layers), num_layers + 2

    def add_params(self, params, module, **kwargs):
        """Append the layer-wise groups of ``module`` (the whole model) to ``params``."""
        layer_id_of, num_ids = self.layer_depth_fn(module)
        no_decay_norms = self._backbone_norm_params(module)
        decay_rate = self.paramwise_cfg['decay_rate']
        groups = {}
        for name, param in module.named_parameters():
            if not param.requires_grad:
                continue
            layer_id = layer_id_of(name)
            decays = id(param) not in no_decay_norms and \
                not any(key in name for key in NO_DECAY_EMBEDDINGS)
            group_name = f"layer_{layer_id}_{'decay' if decays else 'no_decay'}"
            if group_name not in groups:
                scale = decay_rate**(num_ids - 1 - layer_id)
                groups[group_name] = dict(
                    group_name=group_name, params=[], param_names=[], lr_scale=scale,
                    lr=scale * self.base_lr)
                if self.base_wd is not None:
                    groups[group_name]['weight_decay'] = self.base_wd if decays else 0.
            groups[group_name]['params'].append(param)
            groups[group_name]['param_names'].append(name)
        params.extend(groups.values())
        print_log(f'layer-wise lr decay {decay_rate} over {num_ids} layer ids: '
                  f'{len(groups)} parameter groups', logger='current')

    @staticmethod
    def _backbone_norm_params(model):
        backbone = getattr(model, 'backbone', None)
        if backbone is None:
            return set()
        return {id(p) for m in backbone.modules() if isinstance(m, NORM_TYPES)
                for p in m.parameters(recurse=False)}
