"""Let ``tools/test.py CONFIG CHECKPOINT`` load a RADIO student file into a frozen classifier.

The classifiers here keep :class:`~radio_mm.models.RADIOModel`'s key layout (``backbone.*``,
``adaptors.<name>.*``), so a converted release (tools/model_converters/radio2mm.py) loads as
it is. mmengine's ``load_from`` is not strict: a file that does not fit would only log
warnings and the evaluation would silently score random weights. For a frozen-feature
evaluation the weights are the whole point, so this pre-hook

* reads the file as every RADIO loader does (:func:`radio_model_weights`: a distillation
  run's ``student.*`` unwrapped, an unconverted release or a foreign key refused);
* drops what the classifier does not own: the input conditioner (the data preprocessor
  normalizes), the feature normalizers, other adaptors and the unused feature heads;
* refuses any file whose backbone/adaptor weights are missing or mis-shaped, with an error
  that says the fix.
"""
from radio_mm.models.classifiers.function_names import RADIO_MODEL_KEYS_HOOK
from radio_mm.registry import FUNCTIONS

from .radio_checkpoint import radio_model_weights

# Parts of a RADIO model file that a frozen classifier may not have.
_OPTIONAL_PREFIXES = ('input_conditioner.', 'adaptors.', 'feature_normalizer.',
                      'intermediate_normalizer.')
_CHECKED_PREFIXES = ('backbone.', 'adaptors.')
_FIX = ('Pass a radio_mm student file (tools/model_converters/radio2mm.py output or a '
        'distillation checkpoint) whose architecture the config describes; the converter '
        'prints the backbone and adaptor configs that fit it.')


@FUNCTIONS.register_module(name=RADIO_MODEL_KEYS_HOOK)
def adopt_radio_model_keys(module, state_dict, prefix, *args):
    """Load-state-dict pre-hook (registered ``with_module=True``): rewrite ``state_dict`` in
    place to ``module``'s keys, or raise if the file cannot be what the config describes."""
    ours = {k[len(prefix):]: state_dict.pop(k) for k in list(state_dict) if k.startswith(prefix)}
    own = module.state_dict()
    for key, value in radio_model_weights(ours, 'the checkpoint').items():
        if key in own or not key.startswith(_OPTIONAL_PREFIXES):
            state_dict[prefix + key] = value
    _check_complete({prefix + k: v for k, v in own.items()}, state_dict, prefix)


def _check_complete(own, state_dict, prefix):
    checked = [k for k in own if k[len(prefix):].startswith(_CHECKED_PREFIXES)]
    missing = [k for k in checked if k not in state_dict]
    if len(missing) == len(checked):
        raise RuntimeError(f'the checkpoint holds no weights for this classifier '
                           f'({len(checked)} backbone/adaptor weights expected). {_FIX}')
    mismatched = [f'{k}: checkpoint {tuple(state_dict[k].shape)} vs model '
                  f'{tuple(own[k].shape)}' for k in checked
                  if k in state_dict and state_dict[k].shape != own[k].shape]
    if missing or mismatched:
        raise RuntimeError(f'the checkpoint does not fit the configured model: '
                           f'{len(missing)} missing weights {missing[:3]}, '
                           f'{len(mismatched)} of another shape {mismatched[:3]}. {_FIX}')
