"""tools/train.py streaming WebDataset tar shards, with the student EMA, and resuming.

Covers the recipes' data path (``WebDatasetImages`` + ``StreamTrainLoop``, two dataloader
workers) and the EMA checkpoint contract (mmengine EMAHook's, see StudentEMAHook): averaged
weights in ``state_dict``, raw ones in ``ema_state_dict``, and a resume that continues both.
"""
import pytest
import torch
from test_distill_train import scalars, small_config, train  # noqa: F401 (fixture)
from webdataset_fixture import write_shards

MOMENTUM = 0.5  # large, so one step visibly moves the average
# The image-folder test's shrunk demo, reading the shards instead.
STREAM = """
_base_ = ['{small}']
train_dataloader = dict(
    batch_size=2, num_workers=2, persistent_workers=True, sampler=None,
    dataset=dict(_delete_=True, type='WebDatasetImages', shards='{shards}', shuffle_buffer=4,
                 pipeline=[dict(type='mmpretrain.RandomResizedCrop', scale=128,
                                backend='pillow'),
                           dict(type='PackImageInputs')]))
train_cfg = dict(_delete_=True, type='StreamTrainLoop', max_iters=2)
param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=4)]
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=2))
custom_hooks = [dict(type='StudentEMAHook', momentum={momentum})]
"""
KEY = 'student.backbone.blocks.0.attn.qkv.weight'


@pytest.fixture(scope='module')
def stream_config(tmp_path_factory, small_config):  # noqa: F811 (the fixture above)
    root = tmp_path_factory.mktemp('stream')
    shards = write_shards(str(root), num_shards=4, per_shard=3)
    path = root / 'stream.py'
    path.write_text(STREAM.format(small=small_config(2), shards=shards, momentum=MOMENTUM))
    return str(path)


def test_stream_trains_saves_the_ema_and_resumes(stream_config, tmp_path, python, repo_root):
    train(python, repo_root, stream_config, tmp_path)
    first = torch.load(tmp_path / 'iter_2.pth', map_location='cpu', weights_only=False)
    assert first['meta']['ema'] == dict(momentum=MOMENTUM, averaged_prefix='student.')
    ema_keys = set(first['ema_state_dict']) - {'steps'}
    assert ema_keys == {'module.' + k for k in first['state_dict']}  # student + adaptors
    assert not any('teachers.' in k for k in ema_keys)
    averaged, raw = first['state_dict'][KEY], first['ema_state_dict']['module.' + KEY]
    assert not torch.equal(averaged, raw)

    log = train(python, repo_root, stream_config, tmp_path, '--resume',
                '--cfg-options', 'train_cfg.max_iters=3')
    assert 'restarting the data stream at iteration 2' in log
    assert [r['iter'] for r in scalars(tmp_path)] == [3]
    second = torch.load(tmp_path / 'iter_3.pth', map_location='cpu', weights_only=False)
    assert int(second['ema_state_dict']['steps']) == 3
    # The resumed average continued from the saved one: ema_3 = (1-m) ema_2 + m raw_3.
    raw_3 = second['ema_state_dict']['module.' + KEY]
    expected = (1 - MOMENTUM) * averaged + MOMENTUM * raw_3
    torch.testing.assert_close(second['state_dict'][KEY], expected)
