"""Data partitions of a distillation step: a share of the batch, its teachers, its resolutions.

AM-RADIO (Ranzinger et al., 2024, sec. 4.3) gives SAM a partition of its own at 1024 px while
CLIP and DINOv2 see the rest of the batch at 256/432 px. RADIOv2.5 ("RADIO Amplified",
Heinrich et al., arXiv 2412.07679, sec. 4) trains *every* teacher at *every* resolution: a
low-resolution and a high-resolution partition, each with all teachers, so a teacher may be
listed in several partitions. Each partition then has a ``name`` ('low', 'high') that tells
its losses apart (``loss_clip_features_low``).
"""
import random


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
    """

    def __init__(self, teachers, batch_fraction=1.0, resolutions=((256, 256), ),
                 milestones=(), eval_resolution=None, name=None):
        self.name = name
        self.teachers = list(teachers)
        if len(set(self.teachers)) != len(self.teachers):
            raise ValueError(f'partition {self.describe()} lists a teacher twice: '
                             f'{self.teachers}')
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
