"""benchmarks/bench_mode_switch.py: options, schedule scaling, the README section, and a
two-step run of both recipes at toy sizes (the schema of its JSON, its plot)."""
import json
import os.path as osp

import pytest
from mmengine.config import Config
from PIL import Image
from script_loader import load_script


@pytest.fixture(scope='module')
def bench():
    return load_script('benchmarks/bench_mode_switch.py')


def test_defaults_are_the_issues_comparison(bench, repo_root):
    args = bench.parse_args([])
    assert args.recipes == {'v2.1': 'configs/distill/radio_demo_v2.1.py',
                            'v2.5': 'configs/distill/radio_demo_v2.5.py'}
    assert args.resolutions == [224, 384, 512, 768, 1024]
    assert args.steps is None  # the configs' own max_iters
    assert args.out_dir == osp.join(repo_root, 'work_dirs', 'benchmarks')
    assert bench.parse_args(['--update-results']).out_dir == osp.join(
        repo_root, 'benchmarks', 'results')
    for bad in (['--recipes', 'radio_demo.py'], ['--steps', '0'],
                ['--update-results', '--out-dir', 'x']):
        with pytest.raises(SystemExit):
            bench.parse_args(bad)


def test_the_two_recipes_differ_only_in_their_partitions(repo_root):
    v21, v25 = (Config.fromfile(f'{repo_root}/configs/distill/radio_demo_v{v}.py')
                for v in ('2.1', '2.5'))
    for key in ('teachers', 'student'):
        assert v21.model[key] == v25.model[key]
    for key in ('train_dataloader', 'train_cfg', 'param_scheduler', 'optim_wrapper'):
        assert v21[key] == v25[key]
    assert [p['teachers'] for p in v21.model.partitions] == [['clip', 'dino_v2'], ['sam']]
    assert [p['teachers'] for p in v25.model.partitions] == [['clip', 'dino_v2', 'sam']] * 2
    for a, b in zip(v21.model.partitions, v25.model.partitions):  # same split, same sizes
        assert (a['batch_fraction'], a['resolutions']) == (b['batch_fraction'],
                                                          b['resolutions'])


def test_steps_scale_the_schedule(bench):
    options = bench.schedule_options('configs/distill/radio_demo_v2.1.py', 40)
    assert options['train_cfg.max_iters'] == 40
    warmup, cosine = options['param_scheduler']  # 0-10 and 10-400 of 400 iterations
    assert (warmup['begin'], warmup['end']) == (0, 1)
    assert (cosine['begin'], cosine['end']) == (1, 40)
    warmup, _ = bench.schedule_options('configs/distill/radio_demo_v2.1.py', 4)[
        'param_scheduler']
    assert (warmup['begin'], warmup['end']) == (0, 1)  # never empty
    assert cosine['eta_min'] == 1e-5  # the rest as configured


def test_readme_section_is_rewritten_between_its_markers(bench, tmp_path):
    readme = tmp_path / 'README.md'
    readme.write_text(f'# top\n{bench.BEGIN}\nold\n{bench.END}\n## after\n')
    bench.update_readme(f'{bench.BEGIN}\nnew\n{bench.END}', readme)
    assert readme.read_text() == f'# top\n{bench.BEGIN}\nnew\n{bench.END}\n## after\n'
    readme.write_text('# no markers\n')
    with pytest.raises(ValueError, match='no results section'):
        bench.update_readme('x', readme)


def tiny_recipe(repo_root, tmp_path, version):
    """The demo recipe at toy sizes: student 32/64 px, teachers at 32-64 px, 128 px photos."""
    cfg = Config.fromfile(f'{repo_root}/configs/distill/radio_demo_v{version}.py')
    clip, dino, sam = cfg.model.teachers
    clip.model_cfg.vision_cfg.image_size = 32
    dino.input_size = 28
    sam.img_size = 64
    cfg.model.student.backbone.cpe_max_size = 128
    for partition, side in zip(cfg.model.partitions, (32, 64)):
        partition.resolutions = [(side, side)]
    cfg.train_dataloader.batch_size = 4
    cfg.train_dataloader.persistent_workers = False
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.dataset.pipeline[0].scale = 64
    cfg.test_dataloader.dataset.pipeline[0].scale = 128
    cfg.test_dataloader.dataset.pipeline[1].crop_size = 128
    cfg.custom_hooks = [h for h in cfg.custom_hooks if h.type != 'FeaturePCAHook']
    path = tmp_path / f'tiny_v{version}.py'
    cfg.dump(str(path))
    return f'v{version}={path}'


def test_two_steps_of_both_recipes_give_the_json_and_the_plot(bench, repo_root, tmp_path):
    recipes = [tiny_recipe(repo_root, tmp_path, v) for v in ('2.1', '2.5')]
    bench.main(['--recipes', *recipes, '--steps', '2', '--resolutions', '32', '64', '128',
                '--out-dir', str(tmp_path / 'out'), '--work-dir', str(tmp_path / 'work')])
    result = json.loads((tmp_path / 'out' / 'mode_switch.json').read_text())
    assert result['resolutions'] == [32, 64, 128] and result['steps'] == 2
    assert set(result['recipes']) == {'v2.1', 'v2.5'}
    for name, run in result['recipes'].items():
        assert run['steps'] == 2 and run['seconds_per_step'] > 0
        assert set(run['teachers']) == {'clip', 'dino_v2', 'sam'}
        assert set(run['teachers']['sam']) == {'feature_mse', 'feature_cos'}  # no summary
        for metric, row in run['teachers']['clip'].items():
            assert len(row['values']) == 3
            assert row['worst'] in row['values'] and row['worst_resolution'] in (32, 64, 128)
            assert row['range'] == pytest.approx(max(row['values']) - min(row['values']))
    # SAM sees mosaics in v2.5's low partition: it is scored on whole images, in 'high'
    assert result['recipes']['v2.5']['scored_in']['sam'] == "'high'"
    comparison = result['comparison']
    assert (comparison['baseline'], comparison['candidate']) == ('v2.1', 'v2.5')
    assert set(comparison['teachers']['sam']['feature_mse']) >= {'varies_less',
                                                                 'worst_is_better'}
    assert Image.open(tmp_path / 'out' / 'mode_switch.png').size[0] > 0
    section = bench.readme_section(result, 'results/mode_switch.png')
    assert section.startswith(bench.BEGIN) and section.endswith(bench.END)
    assert '| sam | feature_mse | v2.5 |' in section
