"""Mode switching: how far an adaptor's features drift from its teacher as resolution grows.

A RADIO student that learned CLIP/DINOv2 at low resolution and SAM at high resolution can
"switch modes": above some input size its CLIP/DINOv2 adaptor features stop resembling the
teacher at all (NVlabs/RADIO `RADIOv2.5_tech_report.md`, "Mode Switching", which plots the
MSE to DINOv2 against the student's resolution and finds a jump at ~720 px for RADIOv2).

Here the teacher runs once per image at its own resolution; the student runs at each
resolution; its adaptor features are resampled (bilinear) onto the teacher's feature grid and
compared token by token: ``1 - cosine`` (direction) and ``MSE`` (scale too).

For a training run (a :class:`RADIODistiller` inside an mmengine Runner), the same comparison
is the distiller's own evaluation (``predict`` and ``TeacherAgreement``: feature cosine, feature
MSE and summary cosine per teacher) with the student moved to each resolution in turn:
:func:`agreement_curves`; :func:`plot_agreement_curves` draws several runs against each
other, as the tech report draws RADIOv2.1 against RADIOv2.5 (benchmarks/bench_mode_switch.py).
"""
import csv
import os.path as osp
import sys
from contextlib import contextmanager
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.utils import ProgressBar

from radio_mm.models.distillers.partition import key_suffixes
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


# What TeacherAgreement reports per teacher, and which way is better.
AGREEMENT_METRICS = ('feature_mse', 'feature_cos', 'summary_cos')
HIGHER_IS_BETTER = dict(feature_mse=False, feature_cos=True, summary_cos=True)
AGREEMENT_PREFIX = 'distill/'


@contextmanager
def student_eval_resolution(distiller, hw):
    """Evaluate ``distiller`` (a :class:`RADIODistiller`) with its student at ``hw`` (H, W)
    in every partition (instead of each partition's ``eval_resolution``) while inside."""
    saved = [partition.eval_resolution for partition in distiller.partitions]
    for partition in distiller.partitions:
        partition.eval_resolution = tuple(hw)
    try:
        yield
    finally:
        for partition, resolution in zip(distiller.partitions, saved):
            partition.eval_resolution = resolution


def scored_partitions(distiller):
    """{teacher: (partition index, key suffix)} of the partition whose TeacherAgreement scores
    measure the teacher: the first that shows it whole images (mode ``'resize'``), whose
    target is the same whatever the student's resolution; for a teacher shown only tiles or
    mosaics, the first partition that lists it."""
    suffixes = key_suffixes(distiller.partitions)
    chosen = {}
    for i, partition in enumerate(distiller.partitions):
        for name in partition.teachers:
            whole = partition.teacher_inputs[name].mode == 'resize'
            if name not in chosen or (whole and not chosen[name][2]):
                chosen[name] = (i, suffixes[i, name], whole)
    return {name: (i, suffix) for name, (i, suffix, _) in chosen.items()}


def agreement_by_teacher(metrics, suffixes):
    """TeacherAgreement's metrics (``'distill/<teacher>_<metric><suffix>'``) ->
    ``{teacher: {metric: value}}`` for the teachers and key suffixes of
    :func:`scored_partitions`. A teacher without feature scores is an error (a renamed
    metric would otherwise drop out of a benchmark unseen); SAM has no summary."""
    by_teacher = {}
    for name, (_, suffix) in suffixes.items():
        keys = {m: f'{AGREEMENT_PREFIX}{name}_{m}{suffix}' for m in AGREEMENT_METRICS}
        by_teacher[name] = {m: float(metrics[k]) for m, k in keys.items() if k in metrics}
        missing = [keys[m] for m in ('feature_cos', 'feature_mse') if keys[m] not in metrics]
        if missing:
            raise KeyError(f'the evaluation gave no {missing} (it gave {sorted(metrics)}): '
                           "is the evaluator TeacherAgreement?")
    return by_teacher


def agreement_curves(evaluate, distiller, resolutions):
    """Each teacher's agreement with the student at each square ``resolution``.

    Args:
        evaluate (callable): runs the distiller's evaluation and returns TeacherAgreement's
            metrics, e.g. ``runner.test`` of the Runner that trained ``distiller``.
        distiller (RADIODistiller): the model ``evaluate`` runs; every partition evaluates
            the student at the same resolution, each teacher is read from the partition of
            :func:`scored_partitions`.
        resolutions (Sequence[int]): student input sides, in pixels.

    Returns:
        dict: ``{teacher: {metric: {resolution: value}}}`` (metrics of
        :data:`AGREEMENT_METRICS` the teacher has; no summary cosine for SAM).
    """
    check_resolutions(resolutions, distiller.student.min_resolution_step)
    suffixes = scored_partitions(distiller)
    curves = {name: {} for name in suffixes}
    for resolution in resolutions:
        with student_eval_resolution(distiller, (resolution, resolution)):
            metrics = evaluate()
        for name, values in agreement_by_teacher(metrics, suffixes).items():
            for metric, value in values.items():
                curves[name].setdefault(metric, {})[int(resolution)] = value
    return curves


def curve_summary(curve, metric):
    """How a ``{resolution: value}`` curve of ``metric`` varies: its worst value and where,
    its best, and ``range`` (best - worst, in the metric's units; 0 is flat)."""
    higher = HIGHER_IS_BETTER[metric]
    worst_at = (min if higher else max)(curve, key=curve.get)
    best_at = (max if higher else min)(curve, key=curve.get)
    return dict(worst=curve[worst_at], worst_resolution=worst_at, best=curve[best_at],
                best_resolution=best_at, range=abs(curve[best_at] - curve[worst_at]))


def plot_agreement_curves(curves_by_run, path, title=''):
    """Agreement against student resolution, one line per run, as a PNG: a column per
    teacher, a row per metric (feature MSE first, the tech report's mode-switching plot).

    Args:
        curves_by_run (dict): ``{run name: agreement_curves(...)}``.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    teachers = list(dict.fromkeys(t for curves in curves_by_run.values() for t in curves))
    labels = dict(feature_mse='feature MSE (lower is better)',
                  feature_cos='feature cosine (higher is better)',
                  summary_cos='summary cosine (higher is better)')
    fig, axes = plt.subplots(len(AGREEMENT_METRICS), len(teachers), squeeze=False,
                             figsize=(4 * len(teachers), 2.8 * len(AGREEMENT_METRICS)),
                             constrained_layout=True)
    for col, teacher in enumerate(teachers):
        for row, metric in enumerate(AGREEMENT_METRICS):
            ax = axes[row][col]
            drawn = False
            for index, (run, curves) in enumerate(curves_by_run.items()):
                curve = curves.get(teacher, {}).get(metric)
                if curve:
                    ax.plot(list(curve), list(curve.values()), 'o-', color=f'C{index}',
                            label=run)
                    ax.set_xticks(list(curve))
                    drawn = True
            if not drawn:  # e.g. SAM has no summary
                ax.set_axis_off()
                continue
            ax.set_title(f'{teacher}: {metric}', fontsize=10)
            ax.set_xlabel('student input resolution (px)')
            ax.set_ylabel(labels[metric], fontsize=8)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
    fig.suptitle(title or osp.splitext(osp.basename(path))[0])
    fig.savefig(path, dpi=100)
    plt.close(fig)
