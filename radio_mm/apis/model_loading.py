"""``radio_model(checkpoint)``: the official torch.hub entry point.

Same contract as ``torch.hub.load('NVlabs/RADIO', 'radio_model', version=...)``: it accepts an
official release name (``'c-radio_v4-h'``: torch hub cache, else downloaded), an official
release file (``.pth.tar``) or a radio_mm checkpoint (from
``tools/model_converters/radio2mm.py`` or from distillation) and returns a
:class:`~radio_mm.models.RADIOModel` in eval mode.
"""
from mmengine.config import Config

from radio_mm.models import official_releases
from radio_mm.models.backbones.radio_vit import RADIOViT
from radio_mm.models.radio_checkpoint import read_radio_checkpoint
from radio_mm.registry import MODELS


def radio_model(checkpoint, adaptor_names=None, vitdet_window_size=None, weights_only=True,
                use_ema=True, progress=True, deploy=False):
    """Build a RADIOModel from a checkpoint file or an official release name.

    Args:
        checkpoint (str): official ``.pth.tar``, radio_mm ``.pth`` (converted or a
            distillation run), or a release name of
            :data:`~radio_mm.models.official_releases.RELEASES` (a file of that name wins,
            as in hubconf).
        adaptor_names (str | list[str] | None): adaptor heads to attach ('clip', 'sam'...).
        vitdet_window_size (int | None): ViTDet windowed attention (ViT students only).
        weights_only (bool): unpickle only tensors and allow-listed classes (safe default);
            set False only for a file you trust whose ``args`` hold other objects.
        use_ema (bool): the EMA weights when the file has them (releases'
            ``state_dict_ema``, a run's EMAHook average); False takes the raw ones.
        progress (bool): progress bar while downloading a release.
        deploy (bool): return the inference form (``switch_to_deploy()``: batch norm
            folded, position biases and encodings precomputed); it cannot be trained.
    """
    # As the official entry point: no adaptor heads unless asked for by name.
    adaptor_names = [adaptor_names] if isinstance(adaptor_names, str) else list(
        adaptor_names or [])
    path = official_releases.checkpoint_path(checkpoint, progress)
    student = read_radio_checkpoint(path, use_ema, weights_only).with_adaptors(
        adaptor_names)
    cfg = Config(dict(model=student.model_cfg)).model.to_dict()
    if vitdet_window_size is not None:
        if cfg['backbone']['type'] != 'RADIOViT':
            raise ValueError('vitdet_window_size applies to ViT students only, this checkpoint '
                             f"holds {cfg['backbone']['type']}")
        cfg['backbone'].update(window_size=vitdet_window_size)
        if path != checkpoint:  # a release name: its own windowed-block layout
            num_layers = RADIOViT._arch_settings(cfg['backbone']['arch'])['num_layers']
            cfg['backbone']['global_blocks'] = official_releases.vitdet_global_blocks(
                checkpoint, num_layers)
    model = model_from_checkpoint(student, cfg)
    return model.switch_to_deploy() if deploy else model


def model_from_checkpoint(student, cfg=None):
    """The RADIOModel a read checkpoint (:class:`RADIOCheckpoint`) describes, its weights
    loaded strictly, in eval mode; ``cfg`` replaces the stored model config."""
    model = MODELS.build(cfg or Config(dict(model=student.model_cfg)).model.to_dict())
    missing, unexpected = model.load_state_dict(student.state_dict, strict=False)
    if missing or unexpected:
        raise KeyError(f'{student.source!r} does not match the model it describes: missing '
                       f'{missing[:8]}, unexpected {unexpected[:8]}')
    return model.eval()
