"""What tools/train.py and tools/test.py do to a config before building the Runner."""
import pytest
from mmengine.config import Config

from radio_mm.apis.run_config import (
    build_test_runner,
    build_train_runner,
    enable_amp,
    load_config,
    set_resume,
    set_show_dir,
    use_gloo_without_cuda,
    use_resumable_checkpoints,
)

DEMO = 'configs/distill/radio_demo.py'


@pytest.fixture
def demo_cfg(repo_root, monkeypatch):
    monkeypatch.chdir(repo_root)
    return load_config(DEMO)


def test_load_config_sets_work_dir_and_overrides(demo_cfg, repo_root, monkeypatch):
    monkeypatch.chdir(repo_root)
    assert demo_cfg.work_dir == './work_dirs/radio_demo'
    cfg = load_config(DEMO, work_dir='/tmp/x', cfg_options={'train_cfg.max_iters': 3})
    assert cfg.work_dir == '/tmp/x' and cfg.train_cfg.max_iters == 3
    with pytest.raises(FileNotFoundError, match='config file'):
        load_config('configs/missing.py')


def test_amp_switches_the_optimizer_wrapper(demo_cfg):
    enable_amp(demo_cfg)
    assert demo_cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert demo_cfg.optim_wrapper.loss_scale == 'dynamic'
    cfg = Config(dict(optim_wrapper=dict(type='DeepSpeedOptimWrapper')))
    with pytest.raises(ValueError, match='--amp needs'):
        enable_amp(cfg)


def test_resume_auto_and_path(demo_cfg, tmp_path):
    set_resume(demo_cfg, 'auto')
    assert demo_cfg.resume is True and demo_cfg.load_from is None
    ckpt = tmp_path / 'iter_3.pth'
    ckpt.write_bytes(b'')
    set_resume(demo_cfg, str(ckpt))
    assert demo_cfg.load_from == str(ckpt)
    with pytest.raises(FileNotFoundError, match='--resume checkpoint'):
        set_resume(demo_cfg, str(tmp_path / 'nope.pth'))


def test_show_dir_turns_on_the_toolbox_visualization_hook(tmp_path):
    seg = Config(dict(default_hooks=dict(visualization=dict(type='SegVisualizationHook')),
                      visualizer=dict(type='SegLocalVisualizer')))
    set_show_dir(seg, str(tmp_path / 'seg'))
    assert seg.default_hooks.visualization.draw is True
    assert seg.visualizer.save_dir == str(tmp_path / 'seg')
    det = Config(dict(default_hooks=dict(visualization=dict(type='DetVisualizationHook'))))
    set_show_dir(det, str(tmp_path / 'det'))
    assert det.default_hooks.visualization.test_out_dir == str(tmp_path / 'det')
    with pytest.raises(ValueError, match='needs a `visualization` entry'):
        set_show_dir(Config(dict(default_hooks=dict())), str(tmp_path))


def test_distributed_on_cpu_uses_gloo_without_device_ids():
    cfg = Config(dict(launcher='mpi', env_cfg=dict(dist_cfg=dict(backend='nccl'))))
    use_gloo_without_cuda(cfg)
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert cfg.model_wrapper_cfg.device_ids is None


def test_test_runner_needs_an_existing_checkpoint(repo_root, monkeypatch):
    monkeypatch.chdir(repo_root)
    with pytest.raises(FileNotFoundError, match="checkpoint 'missing.pth' does not exist"):
        build_test_runner(DEMO, 'missing.pth')


@pytest.mark.parametrize('key', ['max_iters', 'max_epochs'])
def test_an_empty_schedule_fails_before_any_work(repo_root, monkeypatch, tmp_path, key):
    monkeypatch.chdir(repo_root)
    work_dir = tmp_path / 'run'
    with pytest.raises(ValueError, match=f'train_cfg.{key} must be positive, got 0'):
        build_train_runner(DEMO, work_dir=str(work_dir), cfg_options={f'train_cfg.{key}': 0})
    assert not work_dir.exists()  # nothing built, nothing written


def test_configs_inheriting_a_plain_checkpoint_hook_get_the_resumable_one():
    cfg = Config(dict(default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=5))))
    use_resumable_checkpoints(cfg)  # e.g. mmdet's runtime, which the detection configs inherit
    assert cfg.default_hooks.checkpoint == dict(type='radio_mm.ResumableCheckpointHook',
                                                interval=5)


@pytest.mark.parametrize('options, message', [
    ({'model.partitions.0.resolutions': [(130, 130)]},
     r'resolution \(130, 130\) .* not a multiple of 16 px'),
    ({'train_dataloader.batch_size': 0}, 'train_dataloader.batch_size must be a positive'),
    ({'train_dataloader.dataset': dict(type='UnlabeledImageDataset', data_root='no/such/dir')},
     r"train_dataloader.dataset.data_root 'no/such/dir' does not exist"),
    ({'optim_wrapper.optimizer.lr': -1e-3}, 'lr must not be negative, got -0.001'),
], ids=['resolution', 'batch_size', 'data_root', 'lr'])
def test_config_errors_come_before_any_teacher_is_built(repo_root, monkeypatch, tmp_path,
                                                        options, message):
    from radio_mm.models.teachers.base_teacher import BaseTeacher
    built = []
    init = BaseTeacher.__init__

    def spy(self, *args, **kwargs):
        built.append(type(self).__name__)
        init(self, *args, **kwargs)

    monkeypatch.setattr(BaseTeacher, '__init__', spy)
    monkeypatch.chdir(repo_root)
    with pytest.raises(ValueError, match=message):
        build_train_runner(DEMO, work_dir=str(tmp_path / 'run'), cfg_options=options).train()
    assert built == []  # with real teachers: minutes saved


def test_distillation_configs_check_radio_checkpoints_too(demo_cfg):
    from radio_mm.apis.run_config import use_checkpoint_checks
    assert 'radio_checkpoint' not in demo_cfg.default_hooks
    use_checkpoint_checks(demo_cfg)
    assert demo_cfg.default_hooks.radio_checkpoint.type == 'radio_mm.RADIOCheckpointCheckHook'
