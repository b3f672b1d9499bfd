"""``radio_model(version)``: the official torch.hub entry point.

Same contract and argument order as ``torch.hub.load('NVlabs/RADIO', 'radio_model',
version=..., progress=..., adaptor_names=..., vitdet_window_size=...)``: it accepts an official
release name (default ``'c-radio_v4-h'``: torch hub cache, else downloaded), an official
release file (``.pth.tar``), a radio_mm checkpoint (from ``tools/model_converters/radio2mm.py``
or from distillation) or a Hugging Face RADIO directory, and returns a
:class:`~radio_mm.models.RADIOModel` in eval mode.
"""
import os
import os.path as osp

import torch
from mmengine.config import Config

from radio_mm.formats import official_releases
from radio_mm.formats.hf_checkpoint import read_hf_checkpoint
from radio_mm.formats.radio_checkpoint import read_radio_checkpoint
from radio_mm.models.backbones.radio_vit import RADIOViT
from radio_mm.models.teachers.radio_teacher import RADIO_MODEL_LOADER
from radio_mm.registry import FUNCTIONS, MODELS


def radio_model(version='', progress=True, adaptor_names=None, neck_name=None,
                vitdet_window_size=None, return_checkpoint=False, *, weights_only=True,
                use_ema=True, deploy=False, dtype=None, vitdet_padding=False):
    """Build a RADIOModel from a checkpoint file or an official release name.

    The positional arguments are those of NVlabs/RADIO ``hubconf.py::radio_model`` (commit
    c0f3701), in its order, so ``radio_model(name, False)`` means ``progress=False`` as on
    the hub; radio_mm's own options are keyword-only.

    Args:
        version (str): official ``.pth.tar``, radio_mm ``.pth`` (converted or a
            distillation run), a Hugging Face RADIO directory (native ``transformers``
            ``RadioModel`` or the ``trust_remote_code`` layout of NVIDIA's repos), or a
            release name of :data:`~radio_mm.formats.official_releases.RELEASES` (a file of
            that name wins, as in hubconf). Empty: the official default release
            (:data:`~radio_mm.formats.official_releases.DEFAULT_RELEASE`).
        progress (bool): progress bar while downloading a release.
        adaptor_names (str | list[str] | None): adaptor heads to attach ('clip', 'sam'...).
        neck_name (None): the official option for students with several necks; no
            radio_mm student has one, so anything but None is refused.
        vitdet_window_size (int | None): ViTDet windowed attention (ViT students only);
            inputs must then be multiples of ``patch_size * vitdet_window_size``
            (``min_resolution_step``), as officially.
        return_checkpoint (bool): also return what was read, as the hub does; here that is
            the :class:`~radio_mm.formats.radio_checkpoint.RADIOCheckpoint` (config and
            weights in radio_mm keys), not the raw file dict.
        vitdet_padding (bool): with windows, accept any multiple of the patch size instead
            (windowed blocks zero-pad the grid, as ViTDet does; radio_mm's extension).
        weights_only (bool): unpickle only tensors and allow-listed classes (safe default);
            set False only for a file you trust whose ``args`` hold other objects.
        use_ema (bool): the EMA weights when the file has them (releases'
            ``state_dict_ema``, a run's EMAHook average); False takes the raw ones.
        deploy (bool): return the inference form (``switch_to_deploy()``: batch norm
            folded, position biases and encodings precomputed); it cannot be trained.
        dtype (torch.dtype | None): the dtype the student runs in; None follows the file
            (a release's ``args.dtype``, as hubconf: bf16 releases run in bf16), float32
            overrides it (:meth:`RADIOModel.run_in`).

    Returns:
        RADIOModel in eval mode, or ``(model, checkpoint)`` with ``return_checkpoint``.
    """
    if not isinstance(progress, bool):
        # radio_model(path, ['clip']) was radio_mm's old order (adaptor names second).
        raise TypeError(f'progress must be a bool, got {progress!r}; adaptor names go by '
                        'keyword: radio_model(version, adaptor_names=[...]) (the hub\'s order)')
    if neck_name is not None:
        raise ValueError(f'neck_name={neck_name!r}: no radio_mm student has necks (the '
                         'official option serves dual-hybrid students); leave it None')
    version = os.fspath(version) or official_releases.DEFAULT_RELEASE
    # As the official entry point: no adaptor heads unless asked for by name.
    adaptor_names = [adaptor_names] if isinstance(adaptor_names, str) else list(
        adaptor_names or [])
    if osp.isdir(version):
        path, student = version, read_hf_checkpoint(version)
    else:
        path = official_releases.checkpoint_path(version, progress)
        student = read_radio_checkpoint(path, use_ema, weights_only)
    student = student.with_adaptors(adaptor_names)
    cfg = Config(dict(model=student.model_cfg)).model.to_dict()
    cfg['window_padding'] = vitdet_padding
    if path != version:  # a release name: its resolutions (hubconf: None for files)
        release = official_releases.RELEASES[version]
        cfg.update(preferred_resolution=release.preferred_resolution,
                   max_resolution=release.max_resolution)
    if vitdet_window_size is not None:
        if cfg['backbone']['type'] != 'RADIOViT':
            raise ValueError('vitdet_window_size applies to ViT students only, this checkpoint '
                             f"holds {cfg['backbone']['type']}")
        cfg['backbone'].update(window_size=vitdet_window_size)
        if path != version:  # a release name: its own windowed-block layout
            num_layers = RADIOViT.arch_settings(cfg['backbone']['arch'])['num_layers']
            cfg['backbone']['global_blocks'] = official_releases.vitdet_global_blocks(
                version, num_layers)
    model = model_from_checkpoint(student, cfg)
    if dtype is None and student.dtype is not None:
        dtype = getattr(torch, student.dtype)
    if dtype is not None and dtype != torch.float32:
        model.run_in(dtype)
    if deploy:
        model.switch_to_deploy()
    return (model, student) if return_checkpoint else model


# RADIOTeacher (models) builds its model with this loader without importing apis
FUNCTIONS.register_module(name=RADIO_MODEL_LOADER, module=radio_model)


def model_from_checkpoint(student, cfg=None):
    """The RADIOModel a read checkpoint (:class:`RADIOCheckpoint`) describes, its weights
    loaded strictly, in eval mode; ``cfg`` replaces the stored model config."""
    model = MODELS.build(cfg or Config(dict(model=student.model_cfg)).model.to_dict())
    missing, unexpected = model.load_state_dict(student.state_dict, strict=False)
    if missing or unexpected:
        raise KeyError(f'{student.source!r} does not match the model it describes: missing '
                       f'{missing[:8]}, unexpected {unexpected[:8]}')
    return model.eval()
