"""A teacher whose targets were computed once, ahead of training (a teacher cache).

``tools/cache_teachers.py`` runs a config's teachers over augmented views of its data and
stores each view with its targets (:mod:`radio_mm.formats.teacher_cache`).
:class:`CachedTeacherViews` reads those views back with their targets attached to each data
sample; a :class:`CachedTeacher` answers the distiller with the targets of the batch's
samples instead of running a network. It has the online teachers' attributes (``name``,
``input_size``, ``patch_size``, ``summary_dim``, ``feature_dim``) and methods
(``valid_feature_hw``, ``forward`` -> :class:`TeacherOutput`), so partitions, adaptors,
losses and PHI-S work unchanged.
"""
import torch
from torch import nn

from radio_mm.registry import MODELS, registered_function
from radio_mm.structures.teacher_cache_manifest import CHECK_CACHE_MATCHES, READ_MANIFEST

from .base_teacher import TeacherOutput


@MODELS.register_module()
class CachedTeacher(nn.Module):
    """The targets of teacher ``name`` stored in the cache at ``cache``.

    Args:
        cache (str): the cache folder (holding ``manifest.json``).
        name (str): the teacher's name in the cache.
        manifest (TeacherCacheManifest | None): the cache's manifest when the caller has
            read it already.
    """

    reads_cache = True  # the distiller hands it the batch's data samples

    def __init__(self, cache, name, manifest=None):
        super().__init__()
        # The file format (radio_mm.formats.teacher_cache) reads it; models never import it.
        manifest = manifest or registered_function(READ_MANIFEST)(cache)
        record = manifest.teacher(name, cache)
        self.cache = cache
        self.name = name
        self.arch = record.cfg.get('type', '?')
        self.input_size = tuple(record.input_size)
        self.patch_size = record.patch_size
        self.summary_dim = record.summary_dim
        self.feature_dim = record.feature_dim
        self.view_size = tuple(manifest.view_size)
        self._valid_hw = tuple(record.valid_feature_hw)
        self.fingerprint = manifest.fingerprint()

    def describe(self):
        return f'CachedTeacher {self.name!r} ({self.cache})'

    @property
    def feature_hw(self):
        return (self.input_size[0] // self.patch_size, self.input_size[1] // self.patch_size)

    def valid_feature_hw(self, image_hw):
        """The stored feature cells; the cache holds targets of its view size only."""
        if tuple(image_hw) != self.view_size:
            raise ValueError(f'{self.describe()} holds targets of {self.view_size} views, got '
                             f'{tuple(image_hw)} images: train on the cached views as they are '
                             '(the student resizes them itself)')
        return self._valid_hw

    def forward(self, images01, data_samples=None):
        """(B, 3, H, W) views and their B data samples -> :class:`TeacherOutput` (float32).

        The images only give the device and are checked against the samples' count.
        """
        if data_samples is None or any(not hasattr(s, 'teacher_targets')
                                       for s in data_samples):
            raise ValueError(
                f'{self.describe()} needs batches of CachedTeacherViews (data samples with '
                "teacher_targets); set train_dataloader.dataset=dict(type='CachedTeacherViews', "
                'cache=...) beside model.teacher_cache. Validation and tests on other images '
                'need the online teachers: evaluate checkpoints with the config without '
                'teacher_cache')
        if len(data_samples) != images01.shape[0]:
            raise ValueError(f'{self.describe()}: {images01.shape[0]} images but '
                             f'{len(data_samples)} data samples')
        foreign = {s.metainfo.get('teacher_cache') for s in data_samples} - {self.fingerprint}
        if foreign:
            raise ValueError(f'{self.describe()}: the batch comes from another teacher cache '
                             f'(fingerprint {sorted(map(str, foreign))}, expected '
                             f'{self.fingerprint}); point the dataset and model.teacher_cache '
                             'at the same folder')
        summaries, features = zip(*(s.teacher_targets[self.name] for s in data_samples))
        device = images01.device
        summary = None if summaries[0] is None else \
            torch.stack(summaries).to(device, torch.float32, non_blocking=True)
        return TeacherOutput(summary,
                             torch.stack(features).to(device, torch.float32, non_blocking=True))


def cached_teachers(cache, teacher_cfgs, data_preprocessor, trust_manifest=False):
    """One :class:`CachedTeacher` per teacher config, in config order, after checking that
    the cache was made by exactly these teachers and input conversion (the format's
    ``check_cache_matches``; ``trust_manifest`` accepts absent checkpoint files of another
    name)."""
    manifest = registered_function(READ_MANIFEST)(cache)
    registered_function(CHECK_CACHE_MATCHES)(cache, manifest, teacher_cfgs, data_preprocessor,
                                             trust_manifest)
    return [CachedTeacher(cache, cfg['name'], manifest) for cfg in teacher_cfgs]
