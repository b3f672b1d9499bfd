"""Teacher cache: built from the demo config (shrunk), resumed, refused, and trained from.

The teachers are the demo's, loaded from checkpoint files of their random weights (so the
manifest hashes real files); the data is a folder of real photos plus a corrupt file.
"""
import copy
import filecmp
import os
import os.path as osp
import shutil
import subprocess
import warnings

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.logging import MessageHub
from PIL import Image
from skimage import data

from radio_mm.apis.teacher_cache import build_teacher_cache
from radio_mm.datasets import CachedTeacherViews
from radio_mm.registry import MODELS

CONFIG = """
_base_ = ['{demo}']
teachers = {teachers}
model = dict(
    teachers=teachers,
    student=dict(backbone=dict(arch=dict(embed_dims=32, num_layers=2, num_heads=2))),
    adaptor_cfg=dict(hidden_dims=32),
    partitions=[
        dict(teachers=['clip', 'dino_v2'], batch_fraction=0.5,
             resolutions=[(48, 48), (64, 64)]),
        dict(teachers=['sam'], batch_fraction=0.5, resolutions=[(96, 96)]),
    ])
train_pipeline = [
    dict(type='mmpretrain.RandomResizedCrop', scale=64, crop_ratio_range=(0.5, 1.0),
         backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackImageInputs'),
]
train_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False,
                        dataset=dict(_delete_=True, type='UnlabeledImageDataset',
                                     data_root='{images}', pipeline=train_pipeline))
"""


@pytest.fixture(scope='module')
def setup(tmp_path_factory, repo_root):
    """(config path, folder) with 4 photos + 1 corrupt file and teacher checkpoints."""
    root = tmp_path_factory.mktemp('teacher_cache')
    images = root / 'images'
    images.mkdir()
    for name in ('astronaut', 'coffee', 'chelsea', 'rocket'):
        Image.fromarray(getattr(data, name)()[::4, ::4]).save(images / f'{name}.png')
    (images / 'corrupt.jpg').write_bytes(b'\xff\xd8 broken jpeg')
    demo = osp.join(repo_root, 'configs/distill/radio_demo.py')
    teachers = [dict(t) for t in Config.fromfile(demo).model.teachers]
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)  # random weights, saved as checkpoints
        for cfg in teachers:
            path = str(root / f"{cfg['name']}.pth")
            torch.save(MODELS.build(copy.deepcopy(cfg)).encoder.state_dict(), path)
            cfg['pretrained'] = path
    config = root / 'distill.py'
    config.write_text(CONFIG.format(demo=demo, teachers=teachers, images=images))
    return str(config), root


@pytest.fixture(scope='module')
def fp32_cache(setup):
    config, root = setup
    out = str(root / 'fp32')
    result = build_teacher_cache(config, out, views=2, dtype='fp32', images_per_shard=2)
    assert result['views_written'] == 8 and result['skipped_images'] == 1
    return out


def same_files(a, b):
    names = sorted(os.listdir(a))
    assert names == sorted(os.listdir(b))
    match, mismatch, errors = filecmp.cmpfiles(a, b, names, shallow=False)
    assert not mismatch and not errors
    return names


def test_interrupted_build_resumes_to_the_same_shards(setup, fp32_cache, tmp_path):
    config, _ = setup
    interrupted = tmp_path / 'interrupted'
    shutil.copytree(fp32_cache, interrupted)
    # died while writing shard 1: shards 1 and 2 unfinished, a partial file left behind;
    # two dataloader workers then fill them side by side
    for name in ('views-00001.tar', 'views-00001.json', 'views-00002.tar', 'views-00002.json'):
        os.remove(interrupted / name)
    (interrupted / '.views-00001.tar.partial').write_bytes(b'half a tar')
    finished = os.stat(interrupted / 'views-00000.tar').st_mtime_ns
    result = build_teacher_cache(config, str(interrupted), views=2, dtype='fp32',
                                 images_per_shard=2, resume=True, num_workers=2)
    assert result['shards_written'] == 2
    assert os.stat(interrupted / 'views-00000.tar').st_mtime_ns == finished  # not redone
    assert same_files(fp32_cache, interrupted) == [
        'manifest.json', 'views-00000.json', 'views-00000.tar', 'views-00001.json',
        'views-00001.tar', 'views-00002.json', 'views-00002.tar']

    # two ranks split the shards and write the same bytes as one
    split = str(tmp_path / 'two_ranks')
    for rank in (0, 1):
        build_teacher_cache(config, split, views=2, dtype='fp32', images_per_shard=2,
                            rank=rank, world_size=2, resume=rank == 1)
    same_files(fp32_cache, split)


def test_a_cache_never_mixes_settings(setup, fp32_cache, tmp_path):
    config, root = setup
    with pytest.raises(FileExistsError, match='--resume'):
        build_teacher_cache(config, fp32_cache, views=2, dtype='fp32', images_per_shard=2)
    with pytest.raises(ValueError, match="dtype: cache has 'fp32', config has 'bf16'"):
        build_teacher_cache(config, fp32_cache, views=2, dtype='bf16', images_per_shard=2,
                            resume=True)

    # training refuses a cache whose teachers differ from the config's, naming the difference
    cfg = Config.fromfile(config)
    cfg.model.teacher_cache = fp32_cache
    other = copy.deepcopy(cfg)
    other.model.teachers[2]['arch']['depth'] = 2
    with pytest.raises(ValueError, match="teacher 'sam' arch.depth: cache has 3, config "
                                         'has 2'):
        MODELS.build(other.model)
    retrained = root / 'clip_retrained.pth'
    state = torch.load(cfg.model.teachers[0]['pretrained'])
    state[next(iter(state))] += 1
    torch.save(state, retrained)
    other = copy.deepcopy(cfg)
    other.model.teachers[0]['pretrained'] = str(retrained)
    with pytest.raises(ValueError, match="teacher 'clip': checkpoint .*clip_retrained.pth is "
                                         'not the file the cache was made with'):
        MODELS.build(other.model)
    other = copy.deepcopy(cfg)
    other.model.data_preprocessor = dict(type='ImgDataPreprocessor', mean=[0.] * 3,
                                         std=[1.] * 3)
    with pytest.raises(ValueError, match='data_preprocessor'):
        MODELS.build(other.model)
    # a cached distiller needs the cached views' targets, at the cached size
    model = MODELS.build(cfg.model)
    assert type(model.teachers['sam']).__name__ == 'CachedTeacher'
    assert model.teachers['sam'].valid_feature_hw((64, 64)) == (16, 16)
    with pytest.raises(ValueError, match='holds targets of .64, 64. views'):
        model.teachers['sam'].valid_feature_hw((32, 32))
    with pytest.raises(ValueError, match="needs batches of CachedTeacherViews"):
        model.loss(torch.rand(4, 3, 64, 64))
    # an incomplete cache is not read
    incomplete = tmp_path / 'incomplete'
    shutil.copytree(fp32_cache, incomplete)
    os.remove(incomplete / 'views-00002.tar')
    with pytest.raises(FileNotFoundError, match='1 of 3 shards missing.*--resume'):
        CachedTeacherViews(str(incomplete))


def step_losses(cfg, cache, teacher_cache, steps=(0, 1)):
    """Losses at ``steps`` (the student's drawn resolutions: 64, then 48 px) on the cache's
    first 4 views, the student seeded alike."""
    cfg = copy.deepcopy(cfg)
    cfg.model.teacher_cache = teacher_cache
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)
        model = MODELS.build(cfg.model).train()
    torch.manual_seed(1)
    model.student = MODELS.build(copy.deepcopy(model.student_cfg))  # same weights for both
    views = iter(CachedTeacherViews(cache, shuffle_buffer=0))
    batch = model.data_preprocessor(pseudo_collate([next(views) for _ in range(4)]), True)
    losses = {}
    for step in steps:
        MessageHub.get_current_instance().update_info('iter', step)
        losses.update({f'{k}@{step}': v for k, v in model(**batch, mode='loss').items()})
    return losses


def test_losses_from_the_cache_equal_online_teachers(setup, fp32_cache, tmp_path, python,
                                                     repo_root):
    config, _ = setup
    cfg = Config.fromfile(config)
    online = step_losses(cfg, fp32_cache, None)
    cached = step_losses(cfg, fp32_cache, fp32_cache)
    assert set(online) == set(cached) and 'loss_sam_features@0' in online
    # the two steps ran the student at two resolutions against the same targets
    assert online['loss_clip_features@0'] != online['loss_clip_features@1']
    for key in online:
        assert abs(online[key].item() - cached[key].item()) <= 1e-6, key

    # bf16 targets, built by the command-line tool: about half the bytes, losses within 1e-3
    # (measured: 9e-5 at most)
    bf16 = tmp_path / 'bf16'
    result = subprocess.run(
        [python, 'tools/cache_teachers.py', config, '--out', str(bf16), '--views', '2',
         '--dtype', 'bf16', '--images-per-shard', '2'],
        cwd=repo_root, capture_output=True, text=True, timeout=300)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    assert 'wrote 3 shards, 8 views' in log and 'views/s' in log
    assert 'skipped unreadable image' in log and 'corrupt.jpg' in log
    losses = step_losses(cfg, str(bf16), str(bf16))
    for key in online:
        assert abs(online[key].item() - losses[key].item()) <= 1e-3, key
    fp32_bytes = osp.getsize(osp.join(fp32_cache, 'views-00001.tar'))
    assert osp.getsize(bf16 / 'views-00001.tar') < 0.65 * fp32_bytes


@pytest.mark.parametrize('name', ['radio_demo', 'radio_vitb'])
def test_cached_configs_switch_teachers_and_data_only(name, repo_root):
    online = Config.fromfile(f'{repo_root}/configs/distill/{name}.py')
    cached = Config.fromfile(f'{repo_root}/configs/distill/{name}_cached.py')
    assert cached.model.teacher_cache == cached.train_dataloader.dataset.cache
    assert cached.train_dataloader.dataset.type == 'CachedTeacherViews'
    assert 'pipeline' not in cached.train_dataloader.dataset
    cached.model.pop('teacher_cache')
    assert cached.model == online.model  # same teachers, student, partitions, losses
    assert cached.optim_wrapper == online.optim_wrapper
    assert cached.train_cfg == online.train_cfg


def rewrite_member(shard, member, change):
    """Rewrite the tar ``shard`` with ``member``'s bytes replaced by ``change(bytes)``."""
    import io
    import tarfile
    with tarfile.open(shard) as archive:
        members = [(info, archive.extractfile(info).read()) for info in archive]
    with tarfile.open(shard, 'w') as archive:
        for info, payload in members:
            payload = change(payload) if info.name == member else payload
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))


def first_view(shard, suffix):
    import tarfile
    with tarfile.open(shard) as archive:
        return next(n for n in archive.getnames() if n.endswith(suffix))


def skipped_of(cache, **kwargs):
    views = list(CachedTeacherViews(str(cache), shuffle_buffer=0, num_passes=1, **kwargs))
    return len(views), [p for v in views for p in v['data_samples'].skipped]


def test_damaged_views_are_skipped_and_counted_with_their_shard(fp32_cache, tmp_path):
    damaged = tmp_path / 'damaged'
    shutil.copytree(fp32_cache, damaged)
    shard = damaged / 'views-00001.tar'
    member = first_view(shard, '.clip.features.npy')

    def zero_4k(payload):  # bit rot inside the array, after its .npy header
        return payload[:128] + bytes(min(4096, len(payload) - 128)) + payload[128 + 4096:]

    rewrite_member(shard, member, zero_4k)
    count, skipped = skipped_of(damaged)
    # used to be delivered as a valid target: 8 views, none skipped
    assert count == 7
    assert skipped == [f"{shard}:{member.split('.')[0]}"]
    with pytest.raises(ValueError, match=f"views-00001.tar:{member.split('.')[0]}: "
                                         f'{member.split(".", 1)[1]} fail their SHA-256'):
        skipped_of(damaged, strict_checksums=True)


def test_a_damaged_tar_header_in_a_cache_shard_is_counted(fp32_cache, tmp_path):
    import tarfile
    damaged = tmp_path / 'header'
    shutil.copytree(fp32_cache, damaged)
    shard = damaged / 'views-00000.tar'
    with tarfile.open(shard) as archive:
        members = archive.getmembers()
        second = next(m for m in members if m.name.split('.')[0] != members[0].name.split('.')[0])
        offset = second.offset  # the second view's first member
    data = bytearray(shard.read_bytes())
    data[offset + 148:offset + 156] = b'0000000\x00'
    shard.write_bytes(bytes(data))
    count, skipped = skipped_of(damaged)
    assert count < 8  # tarfile stops at the damaged header, as before, but now:
    assert len(skipped) == 1 and skipped[0].startswith(f'{shard}: ')
    assert f'members from byte {offset}' in skipped[0]


def test_old_caches_warn_and_pickled_arrays_name_their_shard(fp32_cache, tmp_path,
                                                            monkeypatch):
    import io
    import json

    import numpy as np

    from radio_mm.datasets import cached_teacher_views
    logged = []
    monkeypatch.setattr(cached_teacher_views, 'print_log',
                        lambda message, **kwargs: logged.append(message))
    old = tmp_path / 'old'
    shutil.copytree(fp32_cache, old)
    manifest = json.loads((old / 'manifest.json').read_text())
    del manifest['checksums']  # as written before checksums
    (old / 'manifest.json').write_text(json.dumps(manifest))
    count, skipped = skipped_of(old)
    assert count == 8 and skipped == []
    assert any('was built without checksums' in m for m in logged)

    shard = old / 'views-00002.tar'
    member = first_view(shard, '.sam.features.npy')

    def pickled(_):
        buffer = io.BytesIO()
        np.save(buffer, np.array([{'a': 1}], dtype=object), allow_pickle=True)
        return buffer.getvalue()

    rewrite_member(shard, member, pickled)
    with pytest.raises(ValueError, match=f"views-00002.tar:{member.split('.')[0]}: "
                                         'sam.features.npy is not a plain array'):
        skipped_of(old)


def test_settings_errors_name_the_field_and_absent_checkpoints_are_not_trusted(
        setup, fp32_cache, tmp_path):
    from radio_mm.formats.teacher_cache import differences, read_manifest
    config, root = setup
    # what a resumed build compares its manifest with
    cached = read_manifest(fp32_cache).to_dict()
    changed = copy.deepcopy(cached)
    changed['teachers'][2]['cfg']['arch']['depth'] = 2
    # used to print both whole teacher lists
    assert differences(cached, changed) == [
        'teachers[sam].cfg.arch.depth: cache has 3, config has 2']

    cfg = Config.fromfile(config)
    cfg.model.teacher_cache = fp32_cache
    moved = copy.deepcopy(cfg)  # same file name elsewhere: a cache needs no teacher weights
    moved.model.teachers[0]['pretrained'] = str(tmp_path / 'elsewhere' / 'clip.pth')
    MODELS.build(moved.model)
    other = copy.deepcopy(cfg)
    other.model.teachers[0]['pretrained'] = str(tmp_path / 'clip_v2.pth')
    with pytest.raises(ValueError, match=r"teacher 'clip': the cache was made with clip.pth, "
                                         r'the config names .*clip_v2.pth, which is absent'):
        MODELS.build(other.model)
    other.model.trust_cache_manifest = True
    MODELS.build(other.model)


def test_rank_0_refuses_a_cache_missing_other_ranks_shards(fp32_cache, tmp_path, monkeypatch):
    """What rank 0 of a 2-rank build sees when rank 1 wrote to a folder of its own node."""
    from radio_mm.apis import teacher_cache
    from radio_mm.formats.teacher_cache import read_manifest
    local = tmp_path / 'node0'
    shutil.copytree(fp32_cache, local)
    os.remove(local / 'views-00001.tar')  # rank 1's shard
    monkeypatch.setattr(teacher_cache, 'is_distributed', lambda: True)
    monkeypatch.setattr(teacher_cache, 'get_world_size', lambda: 2)
    monkeypatch.setattr(teacher_cache, 'barrier', lambda: None)
    run = teacher_cache._RunSettings(rank=0, world_size=2, batch_size=4, num_workers=0, seed=0,
                                     device=torch.device('cpu'))
    with pytest.raises(FileNotFoundError, match=r'every rank finished, yet 1 of 3 shards .*'
                                                r'views-00001.tar.*shared filesystem'):
        teacher_cache._check_complete(str(local), read_manifest(str(local)), run)
    # ranks started by hand (no process group spanning them) run apart: no error
    monkeypatch.setattr(teacher_cache, 'is_distributed', lambda: False)
    teacher_cache._check_complete(str(local), read_manifest(str(local)), run)
