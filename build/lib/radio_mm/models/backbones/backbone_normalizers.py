"""The release's feature whitening inside an mm backbone.

The official downstream path (NVlabs/RADIO `mmseg/radio.py`, which runs the hub model;
`radio/radio_model.py` ``RADIOModel._extract_final``, commit c0f3701) hands its head the final
spatial features after ``feature_normalizer``; ``forward_intermediates``
(`radio/forward_intermediates.py`) whitens block ``i`` with the intermediate normalizer as
``alphas[i] * (x - means[i]) @ rotation[i].T``. A backbone fed from such a release applies
the same maps to its ``out_indices`` maps: the last block gets the final normalizer (after
the final norm), every other block the intermediate one.

Each normalizer of :class:`RADIOViT` is set by one argument:

* ``None`` (default): whatever the loaded weights carry, created when the weights are
  loaded (a ``Pretrained`` init of a release, or ``load_from`` of a whole trained model);
* ``True`` / ``dict(num_layers, rot_per_layer)``: built now; the weights must hold it;
* ``False``: never applied; a release's normalizer is dropped with a logged warning.
"""
import logging

from mmengine.logging import print_log

from ..feature_normalizer import FeatureNormalizer, IntermediateFeatureNormalizer

NORMALIZER_PREFIXES = ('feature_normalizer.', 'intermediate_normalizer.')


def build_normalizers(backbone, feature_normalizer, intermediate_normalizer):
    """Set ``backbone.feature_normalizer`` / ``intermediate_normalizer`` from the two
    arguments (module docstring) and register the hook that creates them on load."""
    for name, value in (('feature_normalizer', feature_normalizer),
                        ('intermediate_normalizer', intermediate_normalizer)):
        if not (value is None or isinstance(value, bool)
                or (name == 'intermediate_normalizer' and isinstance(value, dict))):
            raise ValueError(f'{name} must be None (from the weights), True/False'
                             f'{" or dict(num_layers, rot_per_layer)" if "inter" in name else ""}'
                             f', got {value!r}')
    if intermediate_normalizer is True:
        intermediate_normalizer = dict(num_layers=backbone.num_layers)
    backbone.normalizer_modes = dict(feature_normalizer=feature_normalizer,
                                     intermediate_normalizer=intermediate_normalizer)
    backbone.feature_normalizer = FeatureNormalizer(backbone.embed_dims) \
        if feature_normalizer is True else None
    backbone.intermediate_normalizer = IntermediateFeatureNormalizer(
        embed_dims=backbone.embed_dims, **intermediate_normalizer) \
        if isinstance(intermediate_normalizer, dict) else None
    backbone._register_load_state_dict_pre_hook(_normalizers_from_weights, with_module=True)


def _normalizers_from_weights(backbone, state_dict, prefix, *args):
    """Load pre-hook: create the normalizers the weights carry (mode None), or drop them
    with a warning (mode False)."""
    modes = backbone.normalizer_modes
    for name in ('feature_normalizer', 'intermediate_normalizer'):
        keys = [k for k in state_dict if k.startswith(f'{prefix}{name}.')]
        if not keys:
            continue
        if modes[name] is False:
            for key in keys:
                state_dict.pop(key)
            print_log(f'{type(backbone).__name__}({name}=False): the weights carry the '
                      f'release\'s {name} ({len(keys)} buffers); not applied, so the features '
                      'differ from the official ones', logger='current', level=logging.WARNING)
        elif modes[name] is None and getattr(backbone, name) is None:
            if name == 'feature_normalizer':
                module = FeatureNormalizer(backbone.embed_dims)
            else:
                rotation = state_dict[f'{prefix}{name}.rotation']
                module = IntermediateFeatureNormalizer(
                    state_dict[f'{prefix}{name}.means'].shape[0], backbone.embed_dims,
                    rot_per_layer=rotation.dim() == 3)
            setattr(backbone, name, module.to(state_dict[keys[0]].device))


def whitened_map(backbone, index, tokens, hw):
    """(B, prefix + h*w, C) tokens of block ``index`` -> (B, C, h, w) map, whitened as the
    official model whitens that block's features (module docstring)."""
    n = backbone.num_prefix_tokens
    patches = tokens[:, n:]
    if index == backbone.num_layers - 1:
        if backbone.feature_normalizer is not None:
            patches = backbone.feature_normalizer(patches)
    elif backbone.intermediate_normalizer is not None:
        whitened, alpha = backbone.intermediate_normalizer(tokens, index, index, n)
        patches = (alpha * whitened)[:, n:]
    return patches.transpose(1, 2).unflatten(2, hw)
