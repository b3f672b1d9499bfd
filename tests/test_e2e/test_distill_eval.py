"""tools/test.py on a distillation checkpoint, like any mm model (issue 11, item 15).

The demo config, shrunk: train 2 iterations (validating on held-out photos at the end), then
evaluate the checkpoint with tools/test.py, which must report every teacher's agreement
and reproduce the end-of-training validation.
"""
import os.path as osp
import re

import pytest
from PIL import Image
from skimage import data
from test_distill_train import SMALL
from tool_runner import run_tool

# The shrunk demo of test_distill_train.py, validating and testing on held-out photos.
HELD_OUT = """
held_out = dict(
    _delete_=True, type='UnlabeledImageDataset', data_root='{held_out}',
    pipeline=[dict(type='mmpretrain.ResizeEdge', scale=128, edge='short', backend='pillow'),
              dict(type='mmpretrain.CenterCrop', crop_size=128),
              dict(type='PackImageInputs')])
val_dataloader = dict(batch_size=2, dataset=held_out)
test_dataloader = dict(batch_size=2, dataset=held_out)
train_cfg = dict(max_iters=2, val_interval=2)
default_hooks = dict(checkpoint=dict(interval=2))
custom_hooks = [dict(type='RADIOModelMetaHook')]
"""
KEYS = {'clip_summary_cos', 'clip_feature_cos', 'clip_feature_mse', 'dino_v2_summary_cos',
        'dino_v2_feature_cos', 'dino_v2_feature_mse', 'sam_feature_cos', 'sam_feature_mse'}
SCORE = re.compile(r'distill/(\w+): (-?\d+\.\d+)')


def scores(log, mode):
    """The last ``Iter(<mode>)`` summary line's distill/* values."""
    lines = [line for line in log.splitlines() if f'Iter({mode})' in line and 'distill/' in line]
    return {key: float(value) for key, value in SCORE.findall(lines[-1])}


@pytest.fixture(scope='module')
def small_config(tmp_path_factory, repo_root):
    root = tmp_path_factory.mktemp('distill_eval')
    for folder, names in (('train', ('astronaut', 'coffee', 'chelsea')),
                          ('held_out', ('rocket', 'coins', 'hubble_deep_field'))):
        (root / folder).mkdir()
        for name in names:
            Image.fromarray(getattr(data, name)()).save(root / folder / f'{name}.png')
    path = root / 'distill_eval.py'
    path.write_text(SMALL.format(demo=osp.join(repo_root, 'configs/distill/radio_demo.py'),
                                 images=root / 'train', iters=2)
                    + HELD_OUT.format(held_out=root / 'held_out'))
    return str(path)


def test_tools_test_evaluates_a_distillation_checkpoint(small_config, tmp_path):
    train_log = run_tool('train.py', small_config, '--work-dir', tmp_path / 'train')
    validated = scores(train_log, 'val')
    assert set(validated) == KEYS
    test_log = run_tool('test.py', small_config, tmp_path / 'train' / 'iter_2.pth',
                        '--work-dir', tmp_path / 'test')
    tested = scores(test_log, 'test')
    assert tested == validated  # same weights, same held-out images
    for key, value in tested.items():
        assert (value > 0) if key.endswith('mse') else (-1 <= value <= 1), (key, value)
