"""The distillation configs describe the paper's recipes and fail early without teachers."""
import subprocess

import pytest
from mmengine.config import Config

CONFIGS = ['radio_vitb', 'radio_vitl', 'radio_vith', 'radio_vith_fsdp', 'eradio_l', 'radio_demo',
           'radio_v2.1_vith']
RECIPES = [c for c in CONFIGS if c != 'radio_demo']


@pytest.mark.parametrize('name', CONFIGS)
def test_configs_parse_with_a_teacher_per_partition(name, repo_root):
    cfg = Config.fromfile(f'{repo_root}/configs/distill/{name}.py')
    assert cfg.default_scope == 'radio_mm' and cfg.model.type == 'RADIODistiller'
    teachers = {t['name'] for t in cfg.model.teachers}
    assert teachers == ({'clip', 'openai_clip', 'dino_v2', 'sam'} if name == 'radio_v2.1_vith'
                        else {'clip', 'dino_v2', 'sam'})
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
    # The sharded path runs in tests/test_engine/test_fully_shard.py (2 CPU processes).
    cfg = Config.fromfile(f'{repo_root}/configs/distill/radio_vith_fsdp.py')
    assert cfg.model_wrapper_cfg == dict(
        type='radio_mm.FullyShardWrapper',
        mixed_precision=dict(param_dtype='bfloat16', reduce_dtype='float32'))
    # FSDP2 casts itself: no autocast wrapper, the recipe's optimizer and clipping kept
    base = Config.fromfile(f'{repo_root}/configs/distill/radio_vith.py')
    assert cfg.optim_wrapper == dict(type='OptimWrapper',
                                     optimizer=base.optim_wrapper.optimizer,
                                     clip_grad=base.optim_wrapper.clip_grad)


@pytest.mark.parametrize('name', RECIPES)
def test_recipes_stream_average_and_scale_the_lr(name, repo_root):
    cfg = Config.fromfile(f'{repo_root}/configs/distill/{name}.py')
    assert cfg.train_cfg.type == 'StreamTrainLoop'
    assert cfg.train_dataloader.dataset.type == 'WebDatasetImages'
    assert cfg.auto_scale_lr == dict(enable=True, base_batch_size=1024)
    assert dict(type='StudentEMAHook', momentum=1e-4) in cfg.custom_hooks
    header = open(f'{repo_root}/configs/distill/{name}.py').read().split('_base_')[0]
    assert 'Follows:' in header and 'images/step' in header


def test_eradio_trains_at_its_release_resolution(repo_root):
    cfg = Config.fromfile(f'{repo_root}/configs/distill/eradio_l.py')
    clip_dino = cfg.model.partitions[0]
    assert clip_dino['milestones'] == [(300000, [(512, 512)])]
    assert all(side % 32 == 0 for p in cfg.model.partitions for r in p['resolutions']
               for side in r)


def test_v21_adds_openai_clip_with_a_summary_token(repo_root):
    cfg = Config.fromfile(f'{repo_root}/configs/distill/radio_v2.1_vith.py')
    openai = {t['name']: t for t in cfg.model.teachers}['openai_clip']
    assert (openai['model_name'], openai['pretrained_tag']) == ('ViT-L-14-336-quickgelu',
                                                                'openai')
    assert cfg.model.student.backbone.num_summary_tokens == 3
