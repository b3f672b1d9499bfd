"""High-level inference in OpenMMLab's style: ``init_model`` / ``inference_model`` and
:class:`RADIOInferencer` for people who only want features.

``init_model(config, checkpoint)`` builds whatever a radio_mm config describes with the
toolbox its ``default_scope`` names (mmseg ``init_model``, mmdet ``init_detector``,
mmpretrain ``get_model``), or, for a distillation config (scope ``radio_mm``), its student
:class:`~radio_mm.models.RADIOModel`; ``inference_model(model, images)`` runs the matching
toolbox call. The toolbox Inferencers (``MMSegInferencer``, ``DetInferencer``,
``ImageClassificationInferencer``) take radio_mm's downstream configs directly.
"""
import os
import os.path as osp

import numpy as np
import torch
from mmengine.config import Config

from radio_mm.utils import import_toolbox
from radio_mm.utils.toolboxes import require_toolbox

# default_scope -> (toolbox API module, its init function, its inference function).
_TOOLBOX_APIS = {
    'mmseg': ('mmseg.apis', 'init_model', 'inference_model'),
    'mmdet': ('mmdet.apis', 'init_detector', 'inference_detector'),
    'mmpretrain': ('mmpretrain.apis', 'get_model', None),  # see _classify
}


def _classify(model, images):
    """mmpretrain's ``inference_model`` picks its Inferencer from the model zoo's metafiles,
    which do not list radio_mm's models; the classification Inferencer takes the model."""
    from mmpretrain.apis import ImageClassificationInferencer
    results = ImageClassificationInferencer(model=model)(
        images if isinstance(images, (list, tuple)) else [images])
    return results if isinstance(images, (list, tuple)) else results[0]


def _config(config, cfg_options=None):
    if isinstance(config, (str, os.PathLike)):
        config = Config.fromfile(os.fspath(config))
    elif not isinstance(config, Config):
        raise TypeError(f'config must be a file path or a Config, got {type(config).__name__}')
    if cfg_options:
        config.merge_from_dict(cfg_options)
    return config


def _toolbox_api(scope, which):
    """The toolbox function ``which`` ('init' or 'inference'), run in the toolbox's scope
    (so one process may use several toolboxes: each call builds from its own registries)."""
    import functools
    import importlib

    from mmengine.registry import DefaultScope
    module, init, inference = _TOOLBOX_APIS[scope]
    require_toolbox(scope, f"a config with default_scope='{scope}'")
    name = init if which == 'init' else inference
    fn = _classify if name is None else getattr(importlib.import_module(module), name)

    @functools.wraps(fn)
    def in_scope(*args, **kwargs):
        with DefaultScope.overwrite_default_scope(scope):
            return fn(*args, **kwargs)
    return in_scope


def init_model(config, checkpoint=None, device='cpu', cfg_options=None):
    """A model in eval mode from a config file (or :class:`Config`) and a checkpoint.

    Args:
        config (str | Config): a radio_mm config: segmentation, detection, classification
            (built by their toolbox) or distillation (its student RADIOModel).
        checkpoint (str | None): weights; for a distillation config any RADIO student file
            (release, converted, distillation run). None keeps the config's own init.
        device (str): where to put the model.
        cfg_options (dict | None): config overrides, as ``--cfg-options``.

    Returns:
        The toolbox's model with ``.cfg`` set, or a RADIOModel.
    """
    cfg = _config(config, cfg_options)
    scope = cfg.get('default_scope')
    import_toolbox(scope)
    if scope in _TOOLBOX_APIS:
        init = _toolbox_api(scope, 'init')
        if scope == 'mmpretrain':  # get_model keeps the config as ``_config`` only
            model = init(cfg, pretrained=checkpoint or False, device=device)
            model.cfg = cfg
            return model.eval()
        return init(cfg, checkpoint, device=device)
    student_cfg = cfg.model.get('student') if cfg.model.get('type') == 'RADIODistiller' \
        else cfg.model
    if checkpoint is not None:
        from radio_mm.apis.model_loading import model_from_checkpoint
        from radio_mm.formats.radio_checkpoint import read_radio_checkpoint
        # The file describes its student (a run's meta, a release's args): built as stored.
        model = model_from_checkpoint(read_radio_checkpoint(checkpoint))
    else:
        from radio_mm.registry import MODELS
        model = MODELS.build(student_cfg.to_dict())
    model.cfg = cfg
    return model.to(device).eval()


def inference_model(model, images):
    """Run ``model`` (from :func:`init_model`) on image files or (H, W, 3) BGR arrays, as its
    toolbox's inference function does; a RADIOModel gives :class:`RADIOInferencer` results."""
    cfg = getattr(model, 'cfg', None)
    scope = cfg.get('default_scope') if cfg is not None else None
    if scope in _TOOLBOX_APIS:
        return _toolbox_api(scope, 'inference')(model, images)
    return RADIOInferencer(model)(images)


class RADIOInferencer:
    """Summary and spatial features of a RADIO model per image, per adaptor.

    Args:
        model (RADIOModel | str): a model, or what :func:`~radio_mm.apis.radio_model` takes
            (release name, file, Hugging Face directory).
        adaptor_names (Sequence[str] | None): adaptors to attach when ``model`` is a name.
        size (int | None): resize each image so its longer side is about this many pixels,
            at the nearest size the model takes; None keeps the size (rounded to the
            nearest supported one).
        device (str): where to run.

    Call it with an image file, a folder (searched recursively), an (H, W, 3) uint8 RGB
    array, or a list of these. Returns one dict per image: ``'path'`` (None for arrays) and,
    for ``'backbone'`` and each adaptor, ``dict(summary=(C_s,), features=(C, h, w))``. With
    ``pca_dir`` each image's PCA picture (the image, then every feature map) is written
    there as ``<name>_pca.png``.
    """

    def __init__(self, model, adaptor_names=None, size=None, device='cpu'):
        if isinstance(model, (str, os.PathLike)):
            from radio_mm.apis.model_loading import radio_model
            model = radio_model(os.fspath(model), adaptor_names=adaptor_names)
        elif adaptor_names is not None:
            raise ValueError('adaptor_names applies when the model is given by name; a built '
                             'model keeps the adaptors it has')
        self.model = model.to(device).eval()
        self.size = size
        self.device = device

    def __call__(self, inputs, pca_dir=None):
        results = []
        for path, rgb in self._images(inputs):
            rgb = self._resized(rgb)
            with torch.no_grad():
                x = torch.tensor(rgb).permute(2, 0, 1)[None].float().div(255)
                outputs = self.model(x.to(self.device), feature_fmt='NCHW')
            outputs = outputs if isinstance(outputs, dict) else dict(backbone=outputs)
            result = dict(path=path)
            for name, (summary, features) in outputs.items():
                result[name] = dict(summary=None if summary is None else summary[0].cpu(),
                                    features=features[0].cpu())
            if pca_dir is not None:
                result['pca'] = self._save_pca(pca_dir, path, len(results), rgb, result)
            results.append(result)
        return results

    @staticmethod
    def _images(inputs):
        """[(path or None, (H, W, 3) uint8 RGB)] of the accepted input forms."""
        from radio_mm.analysis.images import image_paths, read_rgb
        items = inputs if isinstance(inputs, (list, tuple)) else [inputs]
        images = []
        for item in items:
            if isinstance(item, np.ndarray):
                if item.ndim != 3 or item.shape[2] != 3 or item.dtype != np.uint8:
                    raise ValueError('image arrays must be (H, W, 3) uint8 RGB, got '
                                     f'{item.shape} {item.dtype}')
                images.append((None, item))
            elif isinstance(item, (str, os.PathLike)) and osp.exists(item):
                images.extend((p, read_rgb(p)) for p in image_paths(os.fspath(item)))
            else:
                raise FileNotFoundError(f'{item!r} is neither an image file, a folder nor an '
                                        'image array')
        if not images:
            raise ValueError(f'no images found in {inputs!r}')
        return images

    def _resized(self, rgb):
        h, w = rgb.shape[:2]
        scale = 1 if self.size is None else self.size / max(h, w)
        size = tuple(self.model.get_nearest_supported_resolution(h * scale, w * scale))
        if size == (h, w):
            return rgb
        from PIL import Image
        return np.asarray(Image.fromarray(rgb).resize(size[::-1], Image.BICUBIC))

    @staticmethod
    def _save_pca(pca_dir, path, index, rgb, result):
        from radio_mm.visualization import feature_pca_panel
        os.makedirs(pca_dir, exist_ok=True)
        maps = {name: out['features'] for name, out in result.items()
                if isinstance(out, dict)}
        stem = osp.splitext(osp.basename(path))[0] if path else f'image_{index}'
        target = osp.join(pca_dir, f'{stem}_pca.png')
        feature_pca_panel(rgb, maps).save(target)
        return target
