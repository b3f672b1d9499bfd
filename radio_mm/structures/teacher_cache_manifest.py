"""What a teacher cache holds, as typed records: its manifest and one record per teacher.

``tools/cache_teachers.py`` fills a :class:`TeacherCacheManifest`;
:mod:`radio_mm.formats.teacher_cache` writes and reads it as ``manifest.json``
(:meth:`~TeacherCacheManifest.to_dict` / :meth:`~TeacherCacheManifest.from_dict`), and the
dataset (:class:`CachedTeacherViews`) and the model (:class:`CachedTeacher`) read its fields.
"""
import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import List, Optional

# Functions radio_mm.formats.teacher_cache registers in radio_mm.registry.FUNCTIONS, which the
# model side (CachedTeacher) calls without importing the file format.
READ_MANIFEST = 'read_teacher_cache_manifest'
CHECK_CACHE_MATCHES = 'check_teacher_cache_matches'
# Manifest keys added after format version 1 was released: older manifests lack them, read
# with the field's default (None) and keep lacking them when written back.
_OPTIONAL_KEYS = frozenset({'checksums'})


@dataclass
class CachedTeacherRecord:
    """One teacher of a cache.

    name: the teacher's name in the config.
    cfg: its config as plain JSON values, less ``pretrained``.
    checkpoint: ``{'file': base name, 'sha256': hex}`` of its weights; None for random ones.
    input_size: (h, w) pixels it ran at; patch_size: pixels per feature cell.
    summary_dim: summary width (None: no summary); feature_dim: feature channels.
    valid_feature_hw: (h, w) feature cells stored per view.
    """
    name: str
    cfg: dict
    checkpoint: Optional[dict]
    input_size: List[int]
    patch_size: int
    summary_dim: Optional[int]
    feature_dim: int
    valid_feature_hw: List[int]


@dataclass
class TeacherCacheManifest:
    """The targets of a cache and what made them (``manifest.json``).

    format_version: layout version (:data:`radio_mm.formats.teacher_cache.FORMAT_VERSION`).
    dtype: storage precision of the targets ('fp32', 'fp16', 'bf16').
    views_per_image, seed: views drawn per image, and the seed they derive from.
    view_size: (h, w) of every stored view.
    dataset, data_preprocessor: their configs, as plain JSON values.
    images_per_shard: images per shard of a map-style dataset (None: one per input tar).
    teachers: one :class:`CachedTeacherRecord` per teacher, in config order.
    shards: the shard file names, in unit order.
    checksums: how each view's ``.json`` records digests of its members
        (:data:`radio_mm.formats.teacher_cache.CHECKSUMS`, 'sha256'); None for a cache built
        before checksums existed (its manifest has no such key), whose views cannot be checked.
    """
    format_version: int
    dtype: str
    views_per_image: int
    seed: int
    view_size: List[int]
    dataset: dict
    data_preprocessor: dict
    images_per_shard: Optional[int]
    teachers: List[CachedTeacherRecord] = field(default_factory=list)
    shards: List[str] = field(default_factory=list)
    checksums: Optional[str] = None

    @classmethod
    def from_dict(cls, values, source='manifest'):
        """The manifest of these JSON values; unknown or missing keys raise, naming them."""
        names = {f.name for f in dataclasses.fields(cls)}
        teacher_names = {f.name for f in dataclasses.fields(CachedTeacherRecord)}
        problems = _key_problems(values, names, source, optional=_OPTIONAL_KEYS)
        for teacher in values.get('teachers', []):
            problems += _key_problems(teacher, teacher_names, f"{source} teacher "
                                      f"{teacher.get('name', '?')!r}")
        if problems:
            raise ValueError('; '.join(problems) + ': not a teacher cache manifest this radio_mm '
                             'reads; rebuild the cache with tools/cache_teachers.py')
        return cls(**dict(values, teachers=[CachedTeacherRecord(**t)
                                            for t in values['teachers']]))

    def to_dict(self):
        """Plain JSON values (what ``manifest.json`` holds). A key added later is left out
        while it holds its default (None), so a manifest written before it was added reads,
        writes back and hashes (:meth:`fingerprint`) as it did."""
        values = dataclasses.asdict(self)
        for key in _OPTIONAL_KEYS:
            if values[key] is None:
                del values[key]
        return values

    def fingerprint(self):
        """A short hash of the whole manifest: samples carry it so targets never meet a model
        configured from another cache."""
        text = json.dumps(self.to_dict(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def teacher(self, name, cache='teacher cache'):
        """The record of teacher ``name``; a KeyError naming the ones there are otherwise."""
        for record in self.teachers:
            if record.name == name:
                return record
        raise KeyError(f'teacher cache {cache!r} holds no teacher {name!r}; it holds '
                       f'{sorted(t.name for t in self.teachers)}')


def _key_problems(values, names, source, optional=frozenset()):
    problems = []
    unknown, missing = sorted(set(values) - names), sorted(names - set(values) - optional)
    if unknown:
        problems.append(f'{source} has unknown keys {unknown}')
    if missing:
        problems.append(f'{source} lacks keys {missing}')
    return problems
