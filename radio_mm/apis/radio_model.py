"""``radio_model(checkpoint)``: the official torch.hub entry point, from local files.

Same contract as ``torch.hub.load('NVlabs/RADIO', 'radio_model', version=...)``: it accepts an
official release (``.pth.tar``) or a radio_mm checkpoint (from
``tools/model_converters/radio2mm.py`` or from distillation) and returns a
:class:`~radio_mm.models.RADIOModel` in eval mode.
"""
import os.path as osp
import pickle

from mmengine.config import Config

from radio_mm.models import official_checkpoint as official
from radio_mm.registry import MODELS

# Where radio_mm checkpoints keep the model config (see radio2mm.py and RADIODistiller).
META_KEY = 'radio_model'


def radio_model(checkpoint, adaptor_names=None, vitdet_window_size=None, weights_only=True,
                deploy=False):
    """Build a RADIOModel from a local checkpoint.

    Args:
        checkpoint (str): official ``.pth.tar`` or radio_mm ``.pth``.
        adaptor_names (str | list[str] | None): adaptor heads to attach ('clip', 'sam'...).
        vitdet_window_size (int | None): ViTDet windowed attention (ViT students only).
        weights_only (bool): unpickle only tensors and allow-listed classes (safe default);
            set False only for a file you trust whose ``args`` hold other objects.
        deploy (bool): return the inference form (``switch_to_deploy()``: batch norm
            folded, position biases and encodings precomputed); it cannot be trained.
    """
    # As the official entry point: no adaptor heads unless asked for by name.
    adaptor_names = [adaptor_names] if isinstance(adaptor_names, str) else list(
        adaptor_names or [])
    cfg, state_dict = _read(checkpoint, adaptor_names, weights_only)
    if vitdet_window_size is not None:
        if cfg['backbone']['type'] != 'RADIOViT':
            raise ValueError('vitdet_window_size applies to ViT students only, this checkpoint '
                             f"holds {cfg['backbone']['type']}")
        cfg['backbone'].update(window_size=vitdet_window_size)
    model = MODELS.build(cfg)
    missing, unexpected = model.load_state_dict(state_dict, strict=False)
    if missing or unexpected:
        raise KeyError(f'{checkpoint!r} does not match the model it describes: missing '
                       f'{missing[:8]}, unexpected {unexpected[:8]}')
    return model.switch_to_deploy() if deploy else model.eval()


def _read(path, adaptor_names, weights_only):
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint {path!r} does not exist')
    try:
        checkpoint = official.torch_load(path, weights_only=weights_only)
    except pickle.UnpicklingError as error:
        raise RuntimeError(f'could not load {path!r} with weights_only=True: {error}\nIf you '
                           'trust the file, pass weights_only=False.') from error
    if official.is_official_checkpoint(checkpoint):
        args = checkpoint['args']
        state_dict = official.release_weights(checkpoint)
        cfg = official.radio_model_cfg_from_checkpoint(args, state_dict, adaptor_names)
        return cfg, official.convert_official_state_dict(args, state_dict, adaptor_names)
    meta = checkpoint.get('meta', {}) if isinstance(checkpoint, dict) else {}
    if META_KEY not in meta:
        raise ValueError(
            f'{path!r} is neither an official RADIO release nor a radio_mm model checkpoint '
            f"(no meta['{META_KEY}']). Convert releases with "
            'tools/model_converters/radio2mm.py.')
    cfg = Config(dict(model=meta[META_KEY])).model.to_dict()
    state_dict = checkpoint['state_dict']
    if any(k.startswith('student.') for k in state_dict):  # a RADIODistiller checkpoint
        state_dict = {k[len('student.'):]: v for k, v in state_dict.items()
                      if k.startswith('student.')}
    known = cfg.get('adaptors') or {}
    unknown = set(adaptor_names) - set(known)
    if unknown:
        raise ValueError(f'unknown adaptors {sorted(unknown)}; {path!r} has {sorted(known)}')
    cfg['adaptors'] = {k: v for k, v in known.items() if k in adaptor_names}
    state_dict = {k: v for k, v in state_dict.items()
                  if not k.startswith('adaptors.') or k.split('.')[1] in adaptor_names}
    return cfg, state_dict
