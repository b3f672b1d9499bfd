"""Data partitions of a distillation step: a share of the batch, its teachers, its resolutions.

AM-RADIO (Ranzinger et al., 2024, sec. 4.3) gives SAM a partition of its own at 1024 px while
CLIP and DINOv2 see the rest of the batch at 256/432 px. RADIOv2.5 ("RADIO Amplified",
Heinrich et al., arXiv 2412.07679, sec. 4) trains *every* teacher at *every* resolution: a
low-resolution and a high-resolution partition, each with all teachers, so a teacher may be
listed in several partitions. Each partition then has a ``name`` ('low', 'high') that tells
its losses apart (``loss_clip_features_low``).
"""
import random

from .teacher_inputs import WholeImage, build_teacher_input


class Partition:
    """A share of each batch, the teachers that see it and the student's resolutions.

    Args:
        teachers (list[str]): teacher names.
        batch_fraction (float): share of the batch (partitions split it in order).
        resolutions (list[tuple[int, int]]): student (H, W) choices, one drawn per step.
        milestones (list[tuple[int, list]]): ``(iteration, resolutions)`` switches, e.g. the
            paper's 256 px then 432 px stages.
        eval_resolution (tuple[int, int] | None): student (H, W) when evaluating; None for
            the largest resolution of the last stage (where training ends).
        name (str | None): what the partition's loss and log keys end with when one of its
            teachers is also in another partition (``loss_<teacher>_features_<name>``);
            needed then, optional otherwise.
        teacher_inputs (dict[str, dict]): what a teacher sees of this partition's images,
            per teacher: ``dict(mode='resize')`` (default: each image whole at the teacher's
            input size), ``dict(mode='tile', tiles='auto')`` (FeatSharp's tiling, for
            high-resolution students) or ``dict(mode='mosaic', grid='auto')`` (RADIOv2.5's
            mosaic, for a high-resolution teacher such as SAM in the low-resolution
            partition); see :mod:`.teacher_inputs`.
    """

    def __init__(self, teachers, batch_fraction=1.0, resolutions=((256, 256), ),
                 milestones=(), eval_resolution=None, name=None, teacher_inputs=None):
        self.name = name
        self.teachers = list(teachers)
        if len(set(self.teachers)) != len(self.teachers):
            raise ValueError(f'partition {self.describe()} lists a teacher twice: '
                             f'{self.teachers}')
        unknown = sorted(set(teacher_inputs or {}) - set(self.teachers))
        if unknown:
            raise ValueError(f'partition {self.describe()} has teacher_inputs for {unknown}, '
                             f'which it does not list in teachers={self.teachers}')
        self.teacher_inputs = {
            name: build_teacher_input(cfg, name) if cfg is not None else WholeImage()
            for name, cfg in (teacher_inputs or {}).items()}
        for teacher in self.teachers:
            self.teacher_inputs.setdefault(teacher, WholeImage())
        self.batch_fraction = batch_fraction
        self.resolutions = [tuple(r) for r in resolutions]
        self.milestones = sorted((int(i), [tuple(r) for r in rs]) for i, rs in milestones)
        last_stage = self.milestones[-1][1] if self.milestones else self.resolutions
        self.eval_resolution = tuple(eval_resolution or max(last_stage,
                                                            key=lambda r: r[0] * r[1]))

    def describe(self):
        """How messages name the partition: its name, else its teachers."""
        return repr(self.name) if self.name is not None else str(self.teachers)

    def stages(self):
        """[(first iteration, resolutions)] of every stage, the initial one at iteration 0."""
        return [(0, self.resolutions), *self.milestones]

    def resolution(self, step):
        """The student resolution for ``step``: same on every rank (seeded by the step and,
        for a named partition, its name, so that the low and high partitions draw
        independently)."""
        choices = self.resolutions
        for start, resolutions in self.milestones:
            if step >= start:
                choices = resolutions
        seed = step if self.name is None else f'{self.name}:{step}'
        return random.Random(seed).choice(choices)


def key_suffixes(partitions):
    """{(partition index, teacher): suffix of its loss/log keys}.

    A teacher in one partition keeps today's keys (``loss_clip_features``: configs, logs and
    tests written for AM-RADIO's partitions read the same); one in several partitions gets
    ``_<partition name>`` in each (``loss_clip_features_low``, ``loss_clip_features_high``).
    """
    where = {}
    for i, partition in enumerate(partitions):
        for teacher in partition.teachers:
            where.setdefault(teacher, []).append(i)
    names = [p.name for p in partitions if p.name is not None]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f'partition names must differ: {repeated} is used more than once')
    suffixes = {}
    for teacher, indices in where.items():
        unnamed = [partitions[i].teachers for i in indices if partitions[i].name is None]
        if len(indices) > 1 and unnamed:
            raise ValueError(
                f'teacher {teacher!r} is in {len(indices)} partitions, so its losses need the '
                f'partitions\' names to differ: give each of them a name, e.g. '
                f"dict(name='low', teachers=[...]) and dict(name='high', ...) "
                f'(unnamed: {unnamed})')
        for i in indices:
            suffixes[i, teacher] = f'_{partitions[i].name}' if len(indices) > 1 else ''
    return suffixes


def check_teacher_inputs(partitions, teachers, teacher_cache=None):
    """Fail at build time on a tile/mosaic setting the teacher cannot serve.

    Args:
        partitions (list[Partition]): the distiller's partitions.
        teachers (dict[str, nn.Module]): built teachers by name.
        teacher_cache (str | None): the cache folder, when targets are read from one.
    """
    for partition in partitions:
        for name, teacher_input in partition.teacher_inputs.items():
            if teacher_cache and teacher_input.needs_online_teacher:
                raise ValueError(
                    f'partition {partition.describe()} feeds teacher {name!r} in '
                    f'{teacher_input.mode!r} mode, which runs the teacher on tiles or '
                    f'mosaics of the batch; a teacher cache ({teacher_cache}) holds its '
                    f'targets of whole views only: train with online teachers, or use '
                    f"mode='resize' for {name!r}")
            teacher_input.check(teachers[name])
