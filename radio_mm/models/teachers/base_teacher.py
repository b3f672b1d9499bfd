"""What every frozen teacher shares: input handling, weight loading, freezing, the output.

The distiller hands each teacher the student's batch as RGB floats in [0, 1], (B, 3, H, W).
A teacher resizes that batch to the resolution it was trained at, normalizes it with its own
statistics and answers with a :class:`TeacherOutput`. Normalization constants are kept on the
[0, 1] scale (like timm's and open_clip's constants); teachers published on the 0-255 scale
(SAM) divide theirs by 255.

Without a checkpoint a teacher's random weights are drawn from a seed of its class and name
(:meth:`BaseTeacher.seeded_random_init`), so every tool that builds the same config (the demo's
training, ``visualize_features.py``, ``mode_switch.py``, ``tools/test.py``) gets the same
teacher.

Teachers never train: parameters have ``requires_grad=False``, the module stays in eval mode
whatever ``train()`` is asked, ``forward`` runs under ``torch.no_grad()``, and ``init_weights``
leaves the loaded weights alone (the runner calls it on the whole distiller after building).
"""
import contextlib
import os.path as osp
import warnings
import zlib
from typing import NamedTuple, Optional, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule

from radio_mm.utils.torch_files import load_torch_file

from .teacher_weight_files import missing_weights_message

AUTOCAST_DTYPES = {None: None, 'fp32': None, 'bf16': torch.bfloat16, 'fp16': torch.float16}


class TeacherOutput(NamedTuple):
    """A teacher's targets for one batch, always float32.

    summary: (B, C_summary) image-level vector, or None for teachers without one (SAM).
    features: (B, C, h, w) final spatial features on the teacher's patch grid.
    """
    summary: Optional[torch.Tensor]
    features: torch.Tensor


def read_state_dict(path):
    """Tensors of a ``.pth``/``.bin``/``.safetensors`` file, unwrapped from common containers.

    Reads with ``weights_only=True``: a teacher checkpoint is plain tensors, nothing to execute.
    """
    if path.endswith('.safetensors'):
        from safetensors.torch import load_file
        state = load_file(path, device='cpu')
    else:
        state = load_torch_file(path)
    for container in ('state_dict', 'model'):
        if isinstance(state, dict) and isinstance(state.get(container), dict):
            state = state[container]
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise TypeError(f'expected a dict of tensors, got {type(state).__name__}')
    if state and all(k.startswith('module.') for k in state):  # saved from a DDP wrapper
        state = {k[len('module.'):]: v for k, v in state.items()}
    return state


def submodule_weights(state_dict, prefix):
    """The entries under ``prefix`` (e.g. ``'image_encoder.'`` of a full SAM / SAM 2
    checkpoint), prefix removed; ``state_dict`` unchanged when it holds none."""
    if any(k.startswith(prefix) for k in state_dict):
        return {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}
    return state_dict


def resize_images(images, size, interpolation):
    """Resize (B, 3, H, W) images in [0, 1] to ``size`` (h, w), anti-aliased like PIL."""
    if tuple(images.shape[-2:]) == tuple(size):
        return images
    resized = F.interpolate(images, size=tuple(size), mode=interpolation, align_corners=False,
                            antialias=True)
    # bicubic overshoots at edges; PIL clips to the pixel range, so do we
    return resized.clamp_(0, 1) if interpolation == 'bicubic' else resized


def _examples(keys, limit=5):
    keys = list(keys)
    more = f', ... ({len(keys)} in all)' if len(keys) > limit else ''
    return ', '.join(keys[:limit]) + more


class BaseTeacher(BaseModule):
    """A frozen pretrained encoder that produces distillation targets.

    Subclasses build ``self.encoder`` inside ``with self.seeded_random_init():``, set the
    attributes below, then call
    ``self.load_pretrained()`` and ``self.freeze()``; they implement :meth:`encode`, and
    :meth:`convert_checkpoint` when published files need their keys mapped.

    Attributes:
        name (str): the teacher's name, which the distiller uses to pair it with its student
            summary token and adaptor heads.
        input_size (tuple[int, int]): (H, W) the teacher runs at.
        patch_size (int): pixels per feature cell, so features are
            (input_size[0] // patch_size, input_size[1] // patch_size).
        summary_dim (int | None): channels of ``TeacherOutput.summary``; None when there is none.
        feature_dim (int): channels of ``TeacherOutput.features``.
        mean, std (tuple[float, float, float]): RGB normalization on the [0, 1] scale.
        interpolation (str): how ``preprocess`` resizes (``'bicubic'`` or ``'bilinear'``).

    Args:
        name (str): see above.
        arch (str): the architecture, named in messages.
        pretrained (str | None): local checkpoint file. A missing file fails here, before the
            (possibly huge) model is built. None builds random weights and warns.
        dtype (str | None): ``'bf16'``/``'fp16'`` run the encoder under autocast on the input's
            device; None/``'fp32'`` run in float32. Outputs are float32 either way.
        weights_hint (str): how to obtain the checkpoint, quoted in every loading error.
    """

    def __init__(self, name, arch, pretrained=None, dtype=None, weights_hint=''):
        super().__init__(init_cfg=None)
        if dtype not in AUTOCAST_DTYPES:
            raise ValueError(f'{type(self).__name__} dtype must be one of '
                             f'{list(AUTOCAST_DTYPES)}, got {dtype!r}')
        self.name = name
        self.arch = arch
        self.pretrained = pretrained
        self.autocast_dtype = AUTOCAST_DTYPES[dtype]
        self.weights_hint = weights_hint
        self.interpolation = 'bicubic'
        if pretrained is not None and not osp.isfile(pretrained):
            raise FileNotFoundError(
                missing_weights_message([(self.describe(), pretrained, weights_hint)]))

    # -- to implement -------------------------------------------------------------------
    def encode(self, x):
        """Normalized (B, 3, *input_size) -> (summary (B, C) or None, features (B, C, h, w))."""
        raise NotImplementedError

    def convert_checkpoint(self, state_dict):
        """Map a published checkpoint's keys onto ``self.encoder``'s (identity here)."""
        return state_dict

    # -- building -----------------------------------------------------------------------
    def describe(self):
        return f'{type(self).__name__} {self.name!r} ({self.arch})'

    @contextlib.contextmanager
    def seeded_random_init(self):
        """Draw the encoder's initial weights from a seed of the class and name, leaving the
        global RNG as it was: a teacher without ``pretrained`` is the same teacher in every
        process that builds its config (a student compared against a redrawn random teacher
        would look as if it had learned nothing)."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(zlib.crc32(f'{type(self).__name__}:{self.name}'.encode()))
            yield

    def set_normalization(self, mean, std):
        """Keep ``mean``/``std`` as tuples for reading and as buffers that follow the device."""
        self.mean = tuple(float(v) for v in mean)
        self.std = tuple(float(v) for v in std)
        self.register_buffer('pixel_mean', torch.tensor(self.mean).view(1, 3, 1, 1),
                             persistent=False)
        self.register_buffer('pixel_std', torch.tensor(self.std).view(1, 3, 1, 1),
                             persistent=False)

    def check_geometry(self):
        h, w = self.input_size
        if h % self.patch_size or w % self.patch_size:
            raise ValueError(f'{self.describe()}: input_size {self.input_size} must be a '
                             f'multiple of the patch size {self.patch_size}')

    def load_pretrained(self):
        """Load ``self.pretrained`` into ``self.encoder`` strictly, or warn about random weights."""
        if self.pretrained is None:
            warnings.warn(
                f'{self.describe()} has random weights (pretrained=None, drawn from a seed of '
                f'its name, so the same in every run): its targets are meaningless for '
                f'distillation. To obtain the weights: {self.weights_hint}',
                UserWarning, stacklevel=3)
            return
        path = self.pretrained
        problem = f'{self.describe()} cannot use checkpoint {path!r}'
        try:
            state_dict = read_state_dict(path)
        except Exception as err:
            raise RuntimeError(f'{problem}: the file cannot be read as a checkpoint ({err}). '
                               f'To obtain it: {self.weights_hint}') from err
        state_dict = self.convert_checkpoint(state_dict)
        expected = self.encoder.state_dict().keys()
        missing = [k for k in expected if k not in state_dict]
        unexpected = [k for k in state_dict if k not in expected]
        if missing or unexpected:
            raise RuntimeError(
                f'{problem}: it is not a checkpoint of this architecture. '
                f'{len(missing)} weights missing (e.g. {_examples(missing)}); '
                f'{len(unexpected)} unexpected (e.g. {_examples(unexpected)}). '
                f'To obtain the right file: {self.weights_hint}')
        try:
            self.encoder.load_state_dict(state_dict, strict=True)
        except RuntimeError as err:  # same names, other shapes
            raise RuntimeError(f'{problem}: it was saved from a different configuration. '
                               f'{err}\nTo obtain the right file: {self.weights_hint}') from err

    def freeze(self):
        self.requires_grad_(False)
        self.train(False)

    def train(self, mode=True):
        """Always eval: a teacher's dropout and norm statistics never change."""
        return super().train(False)

    def init_weights(self):
        """Keep the loaded weights: timm's ``VisionTransformer.init_weights`` would redraw them."""

    # -- running ------------------------------------------------------------------------
    @property
    def feature_hw(self):
        """(h, w) of ``TeacherOutput.features``."""
        return (self.input_size[0] // self.patch_size, self.input_size[1] // self.patch_size)

    def valid_feature_hw(self, image_hw):
        """Feature cells (h, w) that cover an (H, W) input image: all of them, as
        ``preprocess`` stretches the image over the whole input."""
        return self.feature_hw

    def check_images(self, images01):
        if images01.dim() != 4 or images01.shape[1] != 3:
            raise ValueError(f'{self.describe()} expects RGB images (B, 3, H, W), '
                             f'got shape {tuple(images01.shape)}')
        if not images01.is_floating_point():
            raise TypeError(f'{self.describe()} expects float RGB images in [0, 1], got '
                            f'{images01.dtype}: convert with images.float() / 255')
        low, high = torch.aminmax(images01.detach())
        if low < -0.5 or high > 1.5:  # small slack for resampling overshoot
            raise ValueError(
                f'{self.describe()} expects RGB images in [0, 1] (it normalizes them itself), '
                f'got values in [{low:.3g}, {high:.3g}]: pass un-normalized images divided '
                'by 255')

    def resize(self, images01):
        return resize_images(images01, self.input_size, self.interpolation)

    def preprocess(self, images01):
        """RGB in [0, 1], (B, 3, H, W) at any size -> normalized (B, 3, *input_size)."""
        self.check_images(images01)
        images = self.resize(images01.float())
        return (images - self.pixel_mean) / self.pixel_std

    @torch.no_grad()
    def forward(self, images01):
        """RGB in [0, 1], (B, 3, H, W) -> :class:`TeacherOutput` (float32)."""
        x = self.preprocess(images01)
        with torch.autocast(x.device.type, dtype=self.autocast_dtype or torch.float32,
                            enabled=self.autocast_dtype is not None):
            summary, features = self.encode(x)
        return TeacherOutput(None if summary is None else summary.float(), features.float())


def tokens_to_map(tokens, hw: Tuple[int, int]):
    """(B, h*w, C) row-major patch tokens -> (B, C, h, w)."""
    return tokens.unflatten(1, hw).permute(0, 3, 1, 2).contiguous()
