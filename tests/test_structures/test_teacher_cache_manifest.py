"""The teacher-cache manifest as typed records (radio_mm/structures/teacher_cache_manifest.py)."""
import hashlib
import json

import pytest

from radio_mm.structures import CachedTeacherRecord, TeacherCacheManifest

# A manifest.json as tools/cache_teachers.py wrote it before the records existed.
WRITTEN = dict(
    format_version=1, dtype='bf16', views_per_image=2, seed=0, view_size=[64, 64],
    dataset=dict(type='UnlabeledImageDataset', data_root='images'),
    data_preprocessor=dict(type='ImgDataPreprocessor'), images_per_shard=4,
    teachers=[dict(name='sam', cfg=dict(type='SAMTeacher', name='sam', arch='vit_b'),
                   checkpoint=None, input_size=[64, 64], patch_size=16, summary_dim=None,
                   feature_dim=256, valid_feature_hw=[4, 4])],
    shards=['views-00000.tar'])


def test_round_trip_and_fingerprint_of_existing_caches():
    manifest = TeacherCacheManifest.from_dict(json.loads(json.dumps(WRITTEN)))
    assert manifest.to_dict() == WRITTEN
    assert manifest.teacher('sam') == CachedTeacherRecord(**WRITTEN['teachers'][0])
    # Samples of caches built before carry this hash: it must not change.
    old = hashlib.sha256(json.dumps(WRITTEN, sort_keys=True).encode()).hexdigest()[:16]
    assert manifest.fingerprint() == old


def test_checksums_are_optional_and_kept_when_recorded():
    old = TeacherCacheManifest.from_dict(WRITTEN)
    assert old.checksums is None  # built before checksums: its views cannot be checked
    new = TeacherCacheManifest.from_dict(dict(WRITTEN, checksums='sha256'))
    assert new.checksums == 'sha256'
    assert new.to_dict() == dict(WRITTEN, checksums='sha256')
    assert new.fingerprint() != old.fingerprint()


def test_unknown_or_missing_keys_are_named():
    teacher = dict(WRITTEN['teachers'][0], extra=1)
    del teacher['patch_size']
    with pytest.raises(ValueError, match=r"unknown keys \['extra'\].*lacks keys \['patch_size'\]"):
        TeacherCacheManifest.from_dict(dict(WRITTEN, teachers=[teacher]))
    with pytest.raises(ValueError, match=r"lacks keys \['shards'\]"):
        TeacherCacheManifest.from_dict({k: v for k, v in WRITTEN.items() if k != 'shards'})


def test_an_absent_teacher_is_named_with_the_ones_there():
    manifest = TeacherCacheManifest.from_dict(WRITTEN)
    with pytest.raises(KeyError, match=r"no teacher 'clip'; it holds \['sam'\]"):
        manifest.teacher('clip', 'cache')
