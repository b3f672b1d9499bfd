"""The distillation configs describe the paper's recipes and fail early without teachers."""
import subprocess

import pytest
from mmengine.config import Config

CONFIGS = ['radio_vitb', 'radio_vitl', 'radio_vith', 'radio_vith_fsdp', 'eradio_l', 'radio_demo']


@pytest.mark.parametrize('name', CONFIGS)
def test_configs_parse_with_a_teacher_per_partition(name, repo_root):
    cfg = Config.fromfile(f'{repo_root}/configs/distill/{name}.py')
    assert cfg.default_scope == 'radio_mm' and cfg.model.type == 'RADIODistiller'
    teachers = {t['name'] for t in cfg.model.teachers}
    assert teachers == {'clip', 'dino_v2', 'sam'}
    assert {n for p in cfg.model.partitions for n in p['teachers']} == teachers
    assert sum(p['batch_fraction'] for p in cfg.model.partitions) == pytest.approx(1)


def test_vith_is_the_papers_recipe(repo_root):
    cfg = Config.fromfile(f'{repo_root}/configs/distill/radio_vith.py')
    assert cfg.train_cfg.max_iters == 600000
    cosine = cfg.param_scheduler[-1]
    assert cosine['type'] == 'CosineAnnealingLR' and cosine['end'] == 600000
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper' and cfg.optim_wrapper.dtype == 'bfloat16'
    assert cfg.train_dataloader.dataset.type == 'WebDatasetImages'
    clip_dino, sam = cfg.model.partitions
    assert clip_dino['resolutions'] == [(256, 256)]
    assert clip_dino['milestones'] == [(300000, [(432, 432)])]
    assert sam['teachers'] == ['sam'] and sam['resolutions'] == [(1024, 1024)]
    models = {t['name']: t for t in cfg.model.teachers}
    assert models['clip']['model_name'] == 'ViT-H-14-378-quickgelu'
    assert models['dino_v2']['arch'] == 'vit_giant_patch14_reg4_dinov2'
    assert models['sam']['arch'] == 'vit_h'
    assert cfg.model.student.backbone.arch == 'h'


def test_missing_teacher_checkpoint_stops_before_training(tmp_path, python, repo_root):
    result = subprocess.run(
        [python, 'tools/train.py', 'configs/distill/radio_vitb.py', '--work-dir',
         str(tmp_path)], cwd=repo_root, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    message = result.stderr
    assert '3 checkpoints are missing' in message  # all of them, in one message
    assert 'checkpoints/teachers/dfn5b_clip_vit_h_14_378/' in message
    assert "OpenCLIPTeacher 'clip'" in message and "SAMTeacher 'sam'" in message
    assert 'fetch_teachers.py --out-dir checkpoints/teachers --teachers sam' in message
    assert not list(tmp_path.glob('*.pth'))


def test_fsdp_variant_swaps_the_wrapper(repo_root):
    # FSDP needs GPUs (torch refuses CPU-only FSDP), so only the config is checked here.
    cfg = Config.fromfile(f'{repo_root}/configs/distill/radio_vith_fsdp.py')
    assert cfg.model_wrapper_cfg.type == 'MMFullyShardedDataParallel'
    assert cfg.model_wrapper_cfg.use_orig_params is True
    assert 'find_unused_parameters' not in cfg.model_wrapper_cfg
