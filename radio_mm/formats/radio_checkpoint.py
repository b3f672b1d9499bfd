"""What a RADIO checkpoint holds: one reading shared by every loader.

``radio_model()``, ``tools/model_converters/radio2mm.py``, a backbone's
``init_cfg=dict(type='Pretrained', ...)`` and the frozen classifiers' ``load_from`` all see a
student through :func:`read_radio_checkpoint` (whole files) or :func:`radio_model_weights`
(a bare state dict), so they accept the same files and refuse the same mistakes.

Three kinds of files hold a RADIO student:

* ``release``: an official NVlabs/RADIO ``.pth.tar`` (``args`` + ``state_dict`` /
  ``state_dict_ema`` with ``base_model.*`` keys), read by :mod:`.official_checkpoint`;
* ``converted``: radio2mm.py output, ``meta['radio_model']`` (the :class:`RADIOModel`
  config) + ``state_dict`` in RADIOModel keys (``backbone.*``, ``input_conditioner.*``,
  ``adaptors.<name>.*``);
* ``distillation``: a ``tools/train.py`` run of :class:`RADIODistiller`: the same meta,
  ``student.*`` keys (teachers are never saved) and, with mmengine's ``EMAHook``, the raw
  weights in ``ema_state_dict`` under ``module.<key>`` while ``state_dict`` holds the average
  (mmengine/hooks/ema_hook.py ``before_save_checkpoint``).

EMA weights are taken when the file has them (as the official hubconf takes
``state_dict_ema``); ``use_ema=False`` takes the raw ones. A key that belongs to none of
these layouts is an error naming it.
"""
import copy
import dataclasses
import logging
import os
import os.path as osp
from dataclasses import dataclass
from typing import Optional

import torch
from mmengine.logging import print_log

import radio_mm.formats.official_checkpoint as official
from radio_mm.models.backbones.radio_backbone import BACKBONE_CHECKPOINT_LOADER, meta_backbone
from radio_mm.registry import FUNCTIONS
from radio_mm.utils.checkpoint_checks import check_resumable
from radio_mm.utils.torch_files import load_torch_file

from .official_args import release_dtype

# Where radio_mm checkpoints keep the RADIOModel config (radio2mm.py, RADIOModelMetaHook).
META_KEY = 'radio_model'
MODEL_PREFIXES = ('backbone.', 'input_conditioner.', 'adaptors.', 'feature_normalizer.',
                  'intermediate_normalizer.')
# RADIODistiller state outside its student: teachers come from their own files (the
# distiller never saves them; dropped should a wrapper have) and the losses hold no weights;
# PHI-S statistics of older runs sat beside the adaptors (now ``adaptors.<name>.phi_s.*``).
_DISTILLER_DROPPED = ('teachers.', 'summary_losses.', 'feature_losses.')
_DISTILLER_PHI_S = 'phi_s.'
# mmengine's EMAHook keeps the raw weights in ``ema_state_dict`` under this prefix (the key
# prefix of BaseAveragedModel.state_dict()).
EMA_PREFIX = 'module.'


@dataclass
class RADIOCheckpoint:
    """A student file, read.

    kind: 'release', 'converted', 'distillation', or 'weights' (RADIOModel keys without
        the config, e.g. saved by hand).
    model_cfg: the :class:`RADIOModel` config (every adaptor the file has); None for
        'weights'.
    state_dict: weights in RADIOModel keys (``backbone.*``, ``input_conditioner.*``,
        ``adaptors.<name>.*``).
    ema: True when ``state_dict`` holds EMA-averaged weights.
    source: the file, for messages.
    teachers: the release's ``args.teachers`` (releases and files converted from them).
    unused_release_keys: release keys the official model never reads, hence not converted
        (:func:`~radio_mm.formats.official_checkpoint.unused_student_keys`).
    unbuildable_adaptors: adaptor name -> why radio_mm cannot build its heads; such heads
        are left out (logged) so that the student loads, and asking for one raises.
    dtype: the dtype the official model runs the student in (a release's ``args.dtype``,
        e.g. 'bfloat16'); None: float32.
    """
    kind: str
    model_cfg: Optional[dict]
    state_dict: dict
    ema: bool
    source: str
    teachers: Optional[list] = None
    unused_release_keys: Optional[list] = None
    unbuildable_adaptors: Optional[dict] = None
    dtype: Optional[str] = None

    def describe(self):
        weights = 'EMA' if self.ema else 'raw'
        return f'{self.source} ({self.kind}, {weights} weights)'

    def backbone_state_dict(self):
        return {k[len('backbone.'):]: v for k, v in self.state_dict.items()
                if k.startswith('backbone.')}

    def normalizer_state_dict(self):
        """The release's feature normalizers (``feature_normalizer.*``,
        ``intermediate_normalizer.*``), which an mm backbone applies itself."""
        return {k: v for k, v in self.state_dict.items()
                if k.startswith(('feature_normalizer.', 'intermediate_normalizer.'))}

    def with_adaptors(self, names):
        """Keep the adaptors ``names`` (config and weights) and drop the others."""
        self.require_config()
        known = self.model_cfg.get('adaptors') or {}
        broken = {name: why for name, why in (self.unbuildable_adaptors or {}).items()
                  if name in names}
        if broken:
            raise ValueError(f'{self.source!r}: radio_mm cannot build adaptor '
                             + '; '.join(f'{name!r} ({why})' for name, why in broken.items()))
        unknown = sorted(set(names) - set(known))
        if unknown:
            raise ValueError(f"unknown adaptor {', '.join(map(repr, unknown))}; "
                             f'{self.source!r} has {sorted(known)}')
        cfg = dict(self.model_cfg, adaptors={k: v for k, v in known.items() if k in names})
        state = {k: v for k, v in self.state_dict.items()
                 if not k.startswith('adaptors.') or k.split('.')[1] in names}
        return dataclasses.replace(self, model_cfg=cfg, state_dict=state)

    def to_checkpoint(self):
        """The radio_mm checkpoint ``{'meta', 'state_dict'}`` of this student (what
        tools/model_converters/radio2mm.py saves): ``meta['radio_model']`` holds the
        :class:`RADIOModel` config, so ``radio_model()`` rebuilds it and a backbone's
        ``Pretrained`` init finds its ``backbone.*`` weights."""
        self.require_config()
        meta = {META_KEY: self.model_cfg, 'source': osp.basename(self.source),
                'weights': 'ema' if self.ema else 'raw'}
        if self.teachers is not None:
            meta['teachers'] = self.teachers
        if self.unused_release_keys is not None:
            meta['unused_release_keys'] = self.unused_release_keys
        if self.unbuildable_adaptors:
            meta['unbuildable_adaptors'] = self.unbuildable_adaptors
        if self.dtype is not None:
            meta['dtype'] = self.dtype
        return dict(meta=meta, state_dict=self.state_dict)

    def require_config(self):
        if self.model_cfg is None:
            raise ValueError(
                f"{self.source!r} holds RADIO weights but not the model config (no "
                f"meta['{META_KEY}']), so the model cannot be rebuilt from it. Convert "
                'releases with tools/model_converters/radio2mm.py; distillation runs store it '
                'through RADIOModelMetaHook (configs/_base_/default_runtime_distill.py).')

    def check_architecture(self, backbone):
        """Refuse a backbone whose hidden architecture differs from the checkpoint's.

        Token splits and head counts leave the weight shapes unchanged (3 summary + 5
        register tokens and 4 + 4 are both an (8, C) parameter), so the shapes cannot catch
        them; the config stored with the file can.
        """
        if self.model_cfg is None:
            print_log(f'{self.source!r} stores no architecture: its token split and heads '
                      'cannot be checked against the config', logger='current',
                      level=logging.WARNING)
            return
        saved = hidden_architecture(self.model_cfg['backbone'])
        ours = backbone.hidden_architecture()
        wrong = {k: (saved[k], ours[k]) for k in saved if k in ours and saved[k] != ours[k]}
        if wrong:
            details = ', '.join(f'{k}={s} in the checkpoint but {o} in the config'
                                for k, (s, o) in wrong.items())
            raise ValueError(
                f'{type(backbone).__name__} does not match {self.source!r}: {details}. The '
                'weights would load and silently compute something else. Set these values in '
                'the backbone config (tools/model_converters/radio2mm.py prints the config '
                'that fits).')


def hidden_architecture(backbone_cfg):
    """What the weights cannot show, of a backbone config."""
    return meta_backbone(backbone_cfg).hidden_architecture()


def load_checkpoint_file(path, weights_only=True):
    """A local file through :func:`~radio_mm.utils.torch_files.load_torch_file` (CPU, errors
    that name the file and the fix; importing radio_mm allow-lists the ``argparse.Namespace``
    releases keep in ``args``), after :func:`~radio_mm.utils.checkpoint_checks.check_resumable`
    (truncated, or failing the checksum beside it: an error naming the last good checkpoint);
    URLs (``https://``, ``open-mmlab://``...) through mmengine's loader, as mm configs use
    them."""
    if '://' in path:
        from mmengine.runner.checkpoint import CheckpointLoader
        return CheckpointLoader.load_checkpoint(path, map_location='cpu')
    if osp.isfile(path):  # a missing one: load_torch_file's FileNotFoundError
        check_resumable(path, osp.dirname(path) or '.', action='load')
    return load_torch_file(path, weights_only=weights_only)


def read_radio_checkpoint(checkpoint, use_ema=True, weights_only=True, source=None):
    """A release, converted file or distillation run -> :class:`RADIOCheckpoint`.

    Args:
        checkpoint (str | dict): a path, or a checkpoint already loaded.
        use_ema (bool): take the EMA weights when the file has them (False: the raw ones).
        weights_only (bool): see :func:`load_checkpoint_file`.
        source (str): name for messages when ``checkpoint`` is a dict.
    """
    if isinstance(checkpoint, (str, os.PathLike)):
        source = os.fspath(checkpoint)
        checkpoint = load_checkpoint_file(source, weights_only)
    source = source or 'checkpoint'
    if official.is_official_checkpoint(checkpoint):
        return _read_release(checkpoint, use_ema, source)
    if isinstance(checkpoint, dict) and 'state_dict' not in checkpoint and any(
            k.startswith(MODEL_PREFIXES + ('student.', )) for k in checkpoint):
        checkpoint = dict(state_dict=checkpoint)  # torch.save(model.state_dict(), ...)
    if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get('state_dict'), dict):
        raise ValueError(
            f'{source!r} is neither an official RADIO release nor a radio_mm model checkpoint '
            f"(no meta['{META_KEY}'] or state_dict). Convert releases with "
            'tools/model_converters/radio2mm.py.')
    meta = checkpoint.get('meta') or {}
    model_cfg = copy.deepcopy(meta.get(META_KEY))
    state_dict, ema = _chosen_weights(checkpoint, use_ema, source)
    distilled = any(k.startswith('student.') for k in state_dict)
    state_dict = radio_model_weights(state_dict, source, model_cfg)
    kind = 'weights' if model_cfg is None else 'distillation' if distilled else 'converted'
    return RADIOCheckpoint(kind, model_cfg, state_dict, ema or meta.get('weights') == 'ema',
                           source, meta.get('teachers'), meta.get('unused_release_keys'),
                           meta.get('unbuildable_adaptors'), meta.get('dtype'))


def _read_release(checkpoint, use_ema, source):
    has_ema = bool(checkpoint.get('state_dict_ema'))
    if use_ema or not has_ema:
        weights = official.release_weights(checkpoint)
    else:
        weights = checkpoint.get('state_dict') or {}
        if not any(k.startswith('base_model.') for k in weights):
            raise ValueError(f'{source!r} holds only EMA weights (state_dict_ema); use_ema=False '
                             'has no raw weights to take')
    args = checkpoint['args']
    unbuildable = {}
    cfg = official.radio_model_cfg_from_checkpoint(args, weights, unbuildable=unbuildable,
                                                   ema=has_ema and use_ema)
    state_dict = official.convert_official_state_dict(args, weights)
    if unbuildable:
        # The student never depends on the heads: it loads, and the heads are named here.
        print_log(f'{source!r}: {len(unbuildable)} adaptor head(s) radio_mm cannot build are '
                  f'left out: {unbuildable}', logger='current', level=logging.WARNING)
    return RADIOCheckpoint('release', cfg, state_dict, has_ema and use_ema, source,
                           [dict(t) for t in getattr(args, 'teachers', [])],
                           official.unused_student_keys(args, weights), unbuildable or None,
                           _dtype_name(release_dtype(args)))


def _dtype_name(dtype):
    return None if dtype == torch.float32 else str(dtype).replace('torch.', '')


def _chosen_weights(checkpoint, use_ema, source):
    """(state dict, is EMA) under mmengine's EMAHook convention (see module docstring)."""
    state_dict = dict(checkpoint.get('state_dict') or {})
    raw = checkpoint.get('ema_state_dict')
    if not raw:
        return state_dict, False
    if use_ema:
        return state_dict, True
    for key, value in raw.items():
        if key.startswith(EMA_PREFIX) and not key[len(EMA_PREFIX):].startswith(
                _DISTILLER_DROPPED):
            if key[len(EMA_PREFIX):] not in state_dict:
                raise ValueError(f'{source!r}: ema_state_dict key {key!r} has no counterpart '
                                 'in state_dict; not an mmengine EMAHook checkpoint')
            state_dict[key[len(EMA_PREFIX):]] = value
    return state_dict, False


def radio_model_weights(state_dict, source='checkpoint', model_cfg=None):
    """Any radio_mm student state dict -> RADIOModel keys; unknown keys raise.

    Takes RADIOModel keys as they are and unwraps a distillation run's ``student.*``.
    ``model_cfg`` (updated in place): an older run's ``phi_s.<name>.*`` statistics move into
    their adaptor, whose config gains ``phi_s``.
    """
    if any(k.startswith('base_model.') for k in state_dict):
        raise ValueError(f'{source!r} is an official RADIO release (base_model.* keys) without '
                         'its args: convert the release file first with python '
                         'tools/model_converters/radio2mm.py RELEASE.pth.tar OUT.pth')
    if not any(k.startswith('student.') for k in state_dict):
        _refuse_unknown(state_dict, MODEL_PREFIXES, source)
        return dict(state_dict)
    _refuse_unknown(state_dict, ('student.', _DISTILLER_PHI_S) + _DISTILLER_DROPPED, source)
    weights = {k[len('student.'):]: v for k, v in state_dict.items() if k.startswith('student.')}
    _refuse_unknown(weights, MODEL_PREFIXES, source, 'student.')
    for key, value in state_dict.items():
        if key.startswith(_DISTILLER_PHI_S):
            name = key.split('.')[1]
            weights[f'adaptors.{name}.phi_s.{key.split(".", 2)[2]}'] = value
            if model_cfg is not None:
                model_cfg['adaptors'][name].setdefault('phi_s', dict(from_checkpoint=True))
    return weights


def _refuse_unknown(state_dict, prefixes, source, shown_prefix=''):
    unknown = sorted(k for k in state_dict if not k.startswith(prefixes))
    if unknown:
        raise KeyError(
            f'{source!r} holds weights that are not part of a RADIO student: '
            f'{[shown_prefix + k for k in unknown[:5]]}{" ..." if len(unknown) > 5 else ""} '
            f'({len(unknown)} keys; a RADIO student has {list(prefixes)}). To take only the '
            "backbone of another model, pass init_cfg=dict(type='Pretrained', checkpoint=..., "
            "prefix='backbone.').")


@FUNCTIONS.register_module(name=BACKBONE_CHECKPOINT_LOADER)
def load_backbone_checkpoint(backbone, filename, prefix=None, use_ema=True):
    """Load a backbone's weights from ``filename`` strictly, with errors that say the fix.

    ``prefix``: take the weights under it from any file (e.g. ``'backbone.'`` of a trained
    segmentor) and skip the RADIO checkpoint reading.
    """
    fix = ('The backbone config must describe the checkpoint: run '
           'tools/model_converters/radio2mm.py on it and use the backbone config it prints.')
    if prefix:
        checkpoint = load_checkpoint_file(filename)
        state_dict = checkpoint.get('state_dict', checkpoint)
        state_dict = {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}
    else:
        student = read_radio_checkpoint(filename, use_ema=use_ema)
        student.check_architecture(backbone)
        state_dict = student.backbone_state_dict()
        normalizers = student.normalizer_state_dict()
        if normalizers and not hasattr(backbone, 'normalizer_modes'):
            print_log(f'{type(backbone).__name__} has no feature normalizers: the '
                      f'{len(normalizers)} normalizer buffers of {filename!r} are not applied',
                      logger='current', level=logging.WARNING)
        elif normalizers:
            state_dict.update(normalizers)
        print_log(f'{type(backbone).__name__}: loading {student.describe()}', logger='current')
    try:
        result = backbone.load_state_dict(state_dict, strict=False)
    except RuntimeError as error:  # shape mismatches raise even when not strict
        raise RuntimeError(f'{type(backbone).__name__} cannot load {filename!r}: {error}\n'
                           f'{fix}') from error
    if result.missing_keys or result.unexpected_keys:
        raise RuntimeError(
            f'{type(backbone).__name__} cannot load {filename!r}: '
            f'{len(result.missing_keys)} missing weights {result.missing_keys[:3]}, '
            f'{len(result.unexpected_keys)} unexpected {result.unexpected_keys[:3]}. {fix}')
