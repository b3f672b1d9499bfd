"""Sharded checkpoint folders on one process: completeness checks, cleanup of a killed save,
the optimizer layout of a consolidated file, and which runner a sharded config gets. The
multi-process runs are in test_fully_shard.py."""
import pytest
import torch
from mmengine.config import Config

from radio_mm.apis.run_config import set_resume, use_sharded_runner
from radio_mm.engine.checkpoint_files import remove_partials
from radio_mm.engine.fully_shard import _blocks, _dtypes
from radio_mm.engine.sharded_checkpoint import optimizer_by_index
from radio_mm.utils.checkpoint_checks import checkpoint_problem, last_good_checkpoint


def sharded_folder(root, name, files=('.metadata', 'extra.pth')):
    folder = root / name
    folder.mkdir()
    for file in files:
        (folder / file).write_bytes(b'x')
    return folder


def test_a_folder_is_a_checkpoint_only_when_complete(tmp_path):
    complete = sharded_folder(tmp_path, 'iter_4.dcp')
    assert checkpoint_problem(str(complete)) is None
    half = sharded_folder(tmp_path, 'iter_6.dcp', files=('__0_0.distcp', ))
    assert "lacks ['.metadata', 'extra.pth']" in checkpoint_problem(str(half))
    other = sharded_folder(tmp_path, 'iter_8')
    assert 'not a checkpoint file' in checkpoint_problem(str(other))
    assert last_good_checkpoint(str(tmp_path)) == str(complete)


def test_a_save_killed_midway_leaves_a_partial_folder_that_is_removed(tmp_path):
    sharded_folder(tmp_path, '.iter_6.dcp.partial', files=('__0_0.distcp', ))
    kept = sharded_folder(tmp_path, 'iter_4.dcp')
    assert remove_partials(str(tmp_path)) == [str(tmp_path / '.iter_6.dcp.partial')]
    assert sorted(p.name for p in tmp_path.iterdir()) == [kept.name]


def test_resume_takes_a_sharded_folder(tmp_path):
    cfg = Config()
    set_resume(cfg, str(sharded_folder(tmp_path, 'iter_2.dcp')))
    assert cfg.resume and cfg.load_from.endswith('iter_2.dcp')


def test_optimizer_state_by_name_becomes_torch_layout():
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 1))
    optimizer = torch.optim.AdamW([{'params': model[0].parameters()},
                                   {'params': model[1].parameters(), 'lr': 0.5}])
    model(torch.ones(1, 2)).sum().backward()
    optimizer.step()
    by_position = optimizer.state_dict()
    names = ['0.weight', '0.bias', '1.weight', '1.bias']
    by_name = dict(state={names[i]: s for i, s in by_position['state'].items()},
                   param_groups=[{**g, 'params': [names[i] for i in g['params']]}
                                 for g in by_position['param_groups']])
    converted = optimizer_by_index(by_name)
    assert converted['param_groups'] == by_position['param_groups']
    assert converted['state'].keys() == by_position['state'].keys()
    optimizer.load_state_dict(converted)


def test_sharded_configs_get_the_sharded_runner():
    cfg = Config(dict(model_wrapper_cfg=dict(type='radio_mm.FullyShardWrapper')))
    use_sharded_runner(cfg)
    assert cfg.runner_type == 'radio_mm.ShardedRunner'
    plain = Config(dict(model_wrapper_cfg=dict(type='MMDistributedDataParallel')))
    use_sharded_runner(plain)
    assert 'runner_type' not in plain
    other = Config(dict(model_wrapper_cfg=dict(type='radio_mm.FullyShardWrapper'),
                        runner_type='FlexibleRunner'))
    with pytest.raises(ValueError, match='needs runner_type ShardedRunner'):
        use_sharded_runner(other)


def test_blocks_are_the_transformer_layers():
    from timm.layers import Mlp
    model = torch.nn.Module()
    model.backbone = torch.nn.Module()
    model.backbone.blocks = torch.nn.Sequential(*[Mlp(4, 4) for _ in range(3)])
    model.head = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Linear(4, 4))  # leaves
    model.frozen = torch.nn.ModuleList([Mlp(4, 4), Mlp(4, 4)])
    blocks = list(_blocks(model, skip={id(model.frozen)}))
    assert blocks == list(model.backbone.blocks)


def test_mixed_precision_dtypes_by_name():
    assert _dtypes(dict(param_dtype='bfloat16'))['param_dtype'] is torch.bfloat16
    with pytest.raises(ValueError, match="'bf16' is not a torch dtype"):
        _dtypes(dict(param_dtype='bf16'))
