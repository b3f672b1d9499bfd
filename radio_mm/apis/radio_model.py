"""``radio_model(checkpoint)``: the official torch.hub entry point.

Same contract as ``torch.hub.load('NVlabs/RADIO', 'radio_model', version=...)``: it accepts an
official release name (``'c-radio_v4-h'``: torch hub cache, else downloaded), an official
release file (``.pth.tar``) or a radio_mm checkpoint (from
``tools/model_converters/radio2mm.py`` or from distillation) and returns a
:class:`~radio_mm.models.RADIOModel` in eval mode.
"""
import os.path as osp
import pickle

from mmengine.config import Config

from radio_mm.models import official_checkpoint as official
from radio_mm.models import official_releases
from radio_mm.models.backbones.radio_vit import RADIOViT
from radio_mm.registry import MODELS

# Where radio_mm checkpoints keep the model config (see radio2mm.py and RADIODistiller).
META_KEY = 'radio_model'


def radio_model(checkpoint, adaptor_names=None, vitdet_window_size=None, weights_only=True,
                progress=True):
    """Build a RADIOModel from a checkpoint file or an official release name.

    Args:
        checkpoint (str): official ``.pth.tar``, radio_mm ``.pth``, or a release name of
            :data:`~radio_mm.models.official_releases.RELEASES` (a file of that name wins,
            as in hubconf).
        adaptor_names (str | list[str] | None): adaptor heads to attach ('clip', 'sam'...).
        vitdet_window_size (int | None): ViTDet windowed attention (ViT students only).
        weights_only (bool): unpickle only tensors and allow-listed classes (safe default);
            set False only for a file you trust whose ``args`` hold other objects.
        progress (bool): progress bar while downloading a release.
    """
    # As the official entry point: no adaptor heads unless asked for by name.
    adaptor_names = [adaptor_names] if isinstance(adaptor_names, str) else list(
        adaptor_names or [])
    path = official_releases.checkpoint_path(checkpoint, progress)
    cfg, state_dict = _read(path, adaptor_names, weights_only)
    if vitdet_window_size is not None:
        if cfg['backbone']['type'] != 'RADIOViT':
            raise ValueError('vitdet_window_size applies to ViT students only, this checkpoint '
                             f"holds {cfg['backbone']['type']}")
        cfg['backbone'].update(window_size=vitdet_window_size)
        if path != checkpoint:  # a release name: its own windowed-block layout
            num_layers = RADIOViT._arch_settings(cfg['backbone']['arch'])['num_layers']
            cfg['backbone']['global_blocks'] = official_releases.vitdet_global_blocks(
                checkpoint, num_layers)
    model = MODELS.build(cfg)
    missing, unexpected = model.load_state_dict(state_dict, strict=False)
    if missing or unexpected:
        raise KeyError(f'{checkpoint!r} does not match the model it describes: missing '
                       f'{missing[:8]}, unexpected {unexpected[:8]}')
    return model.eval()


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
