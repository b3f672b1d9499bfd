"""Mode switching: how far an adaptor's features drift from its teacher as resolution grows.

A RADIO student that learned CLIP/DINOv2 at low resolution and SAM at high resolution can
"switch modes": above some input size its CLIP/DINOv2 adaptor features stop resembling the
teacher at all (NVlabs/RADIO `RADIOv2.5_tech_report.md`, "Mode Switching", which plots the
MSE to DINOv2 against the student's resolution and finds a jump at ~720 px for RADIOv2).

Here the teacher runs once per image at its own resolution; the student runs at each
resolution; its adaptor features are resampled (bilinear) onto the teacher's feature grid and
compared token by token: ``1 - cosine`` (direction) and ``MSE`` (scale too).
"""
import csv
import os.path as osp
import sys
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.utils import ProgressBar

from radio_mm.models.losses import cosine_distance
from radio_mm.visualization.feature_maps import to_tensor01

from .images import square_crop

CSV_FIELDS = ('image', 'resolution', 'cosine_error', 'mse')


class ModeSwitchRow(NamedTuple):
    image: str
    resolution: int
    cosine_error: float  # mean over tokens of 1 - cos(student, teacher)
    mse: float  # mean over tokens and channels


def check_resolutions(resolutions, step):
    bad = [r for r in resolutions if r % step]
    if bad:
        raise ValueError(f'student resolutions {bad} are not multiples of {step} (the '
                         "model's patch/window size); use e.g. "
                         f'{[max(step, round(r / step) * step) for r in bad]}')


@torch.no_grad()
def adaptor_teacher_errors(model, adaptor_name, teacher, images, resolutions, device='cpu',
                           progress=False):
    """Errors between ``model``'s ``adaptor_name`` features and ``teacher``'s, per image and
    student resolution.

    Args:
        model (RADIOModel): a student with the adaptor attached.
        adaptor_name (str): the adaptor to compare, e.g. ``'clip'``.
        teacher (BaseTeacher): the teacher the adaptor was trained to mimic.
        images (Iterable[tuple[str, np.ndarray]]): (name, (H, W, 3) uint8 RGB) pairs.
        resolutions (Sequence[int]): square student input sides, in pixels.

    Returns:
        list[ModeSwitchRow]: one row per image and resolution, in that order.
    """
    if adaptor_name not in model.adaptors:
        raise KeyError(f'the model has no adaptor {adaptor_name!r} (it has '
                       f'{model.adaptor_names}); load it with radio_model(checkpoint, '
                       f'adaptor_names=[{adaptor_name!r}])')
    check_resolutions(resolutions, model.min_resolution_step)
    model = model.to(device).eval()
    teacher = teacher.to(device).eval()
    images = list(images)
    bar = ProgressBar(len(images) * len(resolutions), file=sys.stderr) if progress else None
    rows = []
    for name, rgb in images:
        x = to_tensor01(square_crop(rgb), device)
        h, w = teacher.valid_feature_hw(tuple(x.shape[-2:]))  # SAM: cells off the padding
        target = teacher(x).features[..., :h, :w]
        for resolution in resolutions:
            student_in = F.interpolate(x, size=(resolution, resolution), mode='bilinear',
                                       align_corners=False, antialias=True).clamp(0, 1)
            features = model(student_in, feature_fmt='NCHW')[adaptor_name].features
            if features.shape[1] != target.shape[1]:
                raise ValueError(
                    f'adaptor {adaptor_name!r} gives {features.shape[1]} channels but the '
                    f'teacher gives {target.shape[1]}: the teacher config does not describe '
                    "this adaptor's teacher")
            features = F.interpolate(features, size=target.shape[-2:], mode='bilinear',
                                     align_corners=False)
            rows.append(ModeSwitchRow(
                name, resolution, cosine_distance(features, target, dim=1).item(),
                F.mse_loss(features, target).item()))
            if bar:
                bar.update()
    if bar:
        sys.stderr.write('\n')
    return rows


def mean_by_resolution(rows):
    """{resolution: (mean cosine error, mean MSE)} over images, resolutions ascending."""
    by_res = {}
    for row in rows:
        by_res.setdefault(row.resolution, []).append((row.cosine_error, row.mse))
    return {r: tuple(float(np.mean(v)) for v in zip(*values))
            for r, values in sorted(by_res.items())}


def write_csv(rows, path):
    with open(path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(CSV_FIELDS)
        writer.writerows(rows)


def plot_errors(rows, path, title=''):
    """Mean (and per-image, faint) errors against the student resolution, as a PNG."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    means = mean_by_resolution(rows)
    resolutions = list(means)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for index, (ax, label) in enumerate(zip(axes, ('1 - cosine', 'MSE'))):
        for image in dict.fromkeys(r.image for r in rows):
            points = [(r.resolution, r[2 + index]) for r in rows if r.image == image]
            ax.plot(*zip(*points), color='0.8', linewidth=0.8)
        ax.plot(resolutions, [m[index] for m in means.values()], 'o-', color='C0',
                label='mean over images')
        ax.set_xlabel('student input resolution (px)')
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title or osp.splitext(osp.basename(path))[0])
    fig.savefig(path, dpi=100)
    plt.close(fig)
