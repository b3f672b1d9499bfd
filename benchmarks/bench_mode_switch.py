"""Mode switching, measured: a RADIOv2.1-style recipe against a RADIOv2.5-style one.

    python benchmarks/bench_mode_switch.py                    # both demo recipes (below)
    python benchmarks/bench_mode_switch.py --update-results   # the same, into results/ + README
    python benchmarks/bench_mode_switch.py --steps 20 --resolutions 224 512   # a quick check
    python benchmarks/bench_mode_switch.py --recipes mine=configs/distill/my_recipe.py

RADIOv2.1 distilled CLIP and DINOv2 at a low student resolution and SAM alone at a high one;
the student learned to "switch modes" with its input size (NVlabs/RADIO
RADIOv2.5_tech_report.md, "Mode Switching": its zero-shot accuracy falls to 1.29% at 768 px,
its DINOv2 feature MSE jumps at ~720 px). RADIOv2.5 (arXiv 2412.07679) shows every teacher
both a low- and a high-resolution partition. This benchmark trains
configs/distill/radio_demo_v2.1.py and radio_demo_v2.5.py (toy teachers of the real
architectures, seeded random weights, the sample photos; the two differ only in which teachers
see which partition) for the same number of steps from the same seed, each through
``build_train_runner``, the Runner ``tools/train.py`` runs. Then, with that Runner's test loop
(what ``tools/test.py`` runs: ``RADIODistiller.predict`` and ``TeacherAgreement`` on the
held-out sample photos at 1024 px), it measures each teacher's agreement with the student at
224, 384, 512, 768 and 1024 px: feature MSE, feature cosine and summary cosine. Teachers run at
their own resolution; the student's features are resampled onto each teacher's grid.

Output: ``mode_switch.json`` (curves per recipe, teacher and metric; worst value and range over
the resolutions; the v2.5-vs-v2.1 comparison; timings and the machine) and
``mode_switch.png`` (the tech report's plot: agreement against resolution, one line per
recipe) in work_dirs/benchmarks/, or with ``--update-results`` in benchmarks/results/, where
the results section of benchmarks/README.md is rewritten from them.
"""
import argparse
import json
import os
import os.path as osp
import re
import time

import numpy as np
import torch
from mmengine.config import Config

from radio_mm.analysis import machine_info
from radio_mm.analysis.mode_switch import (
    AGREEMENT_METRICS,
    HIGHER_IS_BETTER,
    agreement_curves,
    curve_summary,
    plot_agreement_curves,
    scored_partitions,
)
from radio_mm.apis import build_train_runner

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
RESULTS_DIR = osp.join(REPO_ROOT, 'benchmarks', 'results')  # tracked: --update-results only
DEFAULT_OUT_DIR = osp.join(REPO_ROOT, 'work_dirs', 'benchmarks')
README = osp.join(REPO_ROOT, 'benchmarks', 'README.md')
RECIPES = {
    'v2.1': 'configs/distill/radio_demo_v2.1.py',
    'v2.5': 'configs/distill/radio_demo_v2.5.py',
}
RESOLUTIONS = (224, 384, 512, 768, 1024)  # issue #17; the tech report's table's range
NAME = 'mode_switch'
# benchmarks/README.md lines between these are this script's (--update-results)
BEGIN = '<!-- bench_mode_switch.py results: begin (written by --update-results) -->'
END = '<!-- bench_mode_switch.py results: end -->'


def recipe(text):
    name, sep, config = text.partition('=')
    if not sep or not name or not config:
        raise argparse.ArgumentTypeError(f'expected NAME=CONFIG, got {text!r}')
    return name, config


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='train recipes for the same steps and measure teacher agreement against '
        'student resolution (mode switching)')
    parser.add_argument('--recipes', nargs='+', type=recipe, metavar='NAME=CONFIG',
                        help='recipes to compare (default: ' + ' '.join(
                            f'{k}={v}' for k, v in RECIPES.items()) + ')')
    parser.add_argument('--steps', type=int,
                        help="training steps of every recipe (default: each config's "
                        'max_iters); the schedule is scaled to them')
    parser.add_argument('--resolutions', type=int, nargs='+', default=list(RESOLUTIONS),
                        help='student input sides to measure, in pixels')
    parser.add_argument('--seed', type=int, default=0, help='the same for every recipe')
    parser.add_argument('--threads', type=int, help='torch CPU threads')
    parser.add_argument('--work-dir', default=osp.join(REPO_ROOT, 'work_dirs', 'benchmarks',
                                                       NAME),
                        help="the training runs' work dirs go in <work-dir>/<recipe>")
    out = parser.add_mutually_exclusive_group()
    out.add_argument('--out-dir', default=DEFAULT_OUT_DIR,
                     help=f'where {NAME}.json and {NAME}.png go (default: work_dirs/benchmarks)')
    out.add_argument('--update-results', action='store_true',
                     help='write benchmarks/results/ and the results section of '
                     'benchmarks/README.md')
    args = parser.parse_args(argv)
    if args.update_results:
        args.out_dir = RESULTS_DIR
    args.recipes = dict(args.recipes or RECIPES.items())
    if args.steps is not None and args.steps < 1:
        parser.error(f'--steps must be at least 1, got {args.steps}')
    return args


def schedule_options(config, steps):
    """``--cfg-options`` that make ``config`` train ``steps`` iterations: ``max_iters``, and
    every iteration-based scheduler's ``begin``/``end`` scaled by ``steps / max_iters``
    (each still at least one iteration long)."""
    cfg = Config.fromfile(osp.join(REPO_ROOT, config))
    max_iters = cfg.train_cfg.max_iters
    scale = steps / max_iters
    schedulers = []
    for scheduler in cfg.get('param_scheduler') or []:
        if scheduler.get('by_epoch', True):
            raise ValueError(f'{config}: scheduler {scheduler["type"]} is by epoch; this '
                             'benchmark scales iteration-based schedules only')
        begin = min(round(scheduler.get('begin', 0) * scale), steps - 1)
        end = min(round(scheduler.get('end', max_iters) * scale), steps)
        schedulers.append(dict(scheduler, begin=begin, end=max(end, begin + 1)))
    return {'train_cfg.max_iters': steps, 'param_scheduler': schedulers}


def train_and_measure(name, config, args):
    """Train ``config`` as tools/train.py does, then measure agreement per resolution."""
    options = {'randomness.seed': args.seed,
               # the measurement below is the evaluation; no validation pass at the end
               'val_dataloader': None, 'val_evaluator': None, 'val_cfg': None,
               'train_cfg.val_interval': 1 << 30,
               # one visualizer per run: mmengine hands a second Runner the first one's
               # (and its work dir) when they share the config's name
               'visualizer.name': f'{NAME}_{name}'}
    if args.steps is not None:
        options.update(schedule_options(config, args.steps))
    runner = build_train_runner(osp.join(REPO_ROOT, config),
                                work_dir=osp.join(args.work_dir, name), cfg_options=options)
    start = time.perf_counter()
    runner.train()
    train_s = time.perf_counter() - start
    hub = runner.message_hub
    step_s = hub.get_scalar('train/time').data[0]  # IterTimerHook's, per step
    distiller = runner.model
    scored_in = {teacher: distiller.partitions[i].describe()
                 for teacher, (i, _) in scored_partitions(distiller).items()}
    start = time.perf_counter()
    curves = agreement_curves(runner.test, distiller, args.resolutions)
    eval_s = time.perf_counter() - start
    return dict(
        config=config, steps=runner.iter, train_seconds=train_s,
        seconds_per_step=float(np.median(step_s)), eval_seconds=eval_s,
        final_loss=float(hub.get_scalar('train/loss').current()), scored_in=scored_in,
        teachers={teacher: {metric: dict(values=[curve[r] for r in args.resolutions],
                                         **curve_summary(curve, metric))
                            for metric, curve in by_metric.items()}
                  for teacher, by_metric in curves.items()})


def compare(results, baseline, candidate):
    """Per teacher and metric: does ``candidate`` vary less across the resolutions than
    ``baseline`` (smaller range), and is its worst resolution better?"""
    rows = {}
    for teacher, by_metric in results[candidate]['teachers'].items():
        for metric, ours in by_metric.items():
            theirs = results[baseline]['teachers'].get(teacher, {}).get(metric)
            if theirs is None:
                continue
            better = ((lambda a, b: a > b) if HIGHER_IS_BETTER[metric] else
                      (lambda a, b: a < b))
            rows.setdefault(teacher, {})[metric] = dict(
                range=ours['range'], baseline_range=theirs['range'],
                varies_less=ours['range'] < theirs['range'],
                worst=ours['worst'], baseline_worst=theirs['worst'],
                worst_is_better=better(ours['worst'], theirs['worst']))
    return dict(baseline=baseline, candidate=candidate, teachers=rows)


def readme_section(result, figure):
    """Markdown of ``result`` (this script's JSON) for benchmarks/README.md."""
    recipes = result['recipes']
    resolutions = result['resolutions']
    lines = [
        BEGIN, '',
        f"Written by `python benchmarks/bench_mode_switch.py --update-results` "
        f"({result['seconds'] / 60:.1f} min; `results/{NAME}.json`). Machine: "
        f"`{result['machine']['cpu']}`, {result['machine']['torch_threads']} torch threads; "
        f"load average {result['load_average_before'][0]:.1f} before, "
        f"{result['load_average'][0]:.1f} after. Seed {result['seed']}, "
        + ', '.join(f"{name} {r['steps']} steps ({r['seconds_per_step']:.2f} s/step, final "
                    f"loss {r['final_loss']:.3f})" for name, r in recipes.items())
        + " (each recipe's own sum of loss terms: v2.5-style ones count every teacher "
        'in both partitions).',
        '', f'![teacher agreement against student resolution]({figure})', '',
        '| teacher | metric | recipe | ' + ' | '.join(f'{r} px' for r in resolutions)
        + ' | worst | range |',
        '|---|---|---|' + '---:|' * (len(resolutions) + 2),
    ]
    teachers = list(dict.fromkeys(t for r in recipes.values() for t in r['teachers']))
    for teacher in teachers:
        for metric in AGREEMENT_METRICS:
            for name, run in recipes.items():
                row = run['teachers'].get(teacher, {}).get(metric)
                if row is None:
                    continue
                lines.append(
                    f'| {teacher} | {metric} | {name} | '
                    + ' | '.join(f'{value:.4f}' for value in row['values'])
                    + f" | {row['worst']:.4f} ({row['worst_resolution']} px) | "
                    f"{row['range']:.4f} |")
    comparison = result.get('comparison')
    if comparison:
        checks = [(t, m, c) for t, by_metric in comparison['teachers'].items()
                  for m, c in by_metric.items()]
        less = sum(c['varies_less'] for *_, c in checks)
        worst = sum(c['worst_is_better'] for *_, c in checks)
        lines += ['', f"{comparison['candidate']} against {comparison['baseline']}, over "
                  f'{len(checks)} teacher metrics: varies less across the resolutions in '
                  f'{less}, has the better worst resolution in {worst}.']
        for teacher, metric, c in checks:
            if not (c['varies_less'] and c['worst_is_better']):
                lines.append(f"- not shown by {teacher} {metric}: range {c['range']:.4f} vs "
                             f"{c['baseline_range']:.4f}, worst {c['worst']:.4f} vs "
                             f"{c['baseline_worst']:.4f}")
    lines += ['', END]
    return '\n'.join(lines)


def update_readme(section, path=README):
    """Replace the text between the markers of ``path`` by ``section`` (markers included)."""
    with open(path) as f:
        text = f.read()
    pattern = re.compile(re.escape(BEGIN) + '.*?' + re.escape(END), re.S)
    if not pattern.search(text):
        raise ValueError(f'{path} has no results section to rewrite: put the lines\n{BEGIN}\n'
                         f'{END}\nwhere the results belong')
    with open(path, 'w') as f:
        f.write(pattern.sub(lambda _: section, text))


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    os.makedirs(args.out_dir, exist_ok=True)
    load_before = os.getloadavg()  # other jobs on the machine show here
    start = time.perf_counter()
    recipes = {}
    for name, config in args.recipes.items():
        recipes[name] = train_and_measure(name, config, args)
        print(f"{name}: {recipes[name]['steps']} steps in {recipes[name]['train_seconds']:.0f}"
              f" s, measured in {recipes[name]['eval_seconds']:.0f} s")
    result = dict(benchmark=NAME, seed=args.seed, steps=args.steps,
                  resolutions=list(args.resolutions), seconds=time.perf_counter() - start,
                  load_average_before=load_before, load_average=os.getloadavg(),
                  machine=machine_info(), recipes=recipes)
    if {'v2.1', 'v2.5'} <= set(recipes):
        result['comparison'] = compare(recipes, 'v2.1', 'v2.5')
    json_path = osp.join(args.out_dir, f'{NAME}.json')
    with open(json_path, 'w') as f:
        json.dump(result, f, indent=2)
    figure = osp.join(args.out_dir, f'{NAME}.png')
    plot_agreement_curves(
        {name: {teacher: {metric: dict(zip(args.resolutions, row['values']))
                          for metric, row in by_metric.items()}
                for teacher, by_metric in run['teachers'].items()}
         for name, run in recipes.items()},
        figure, title='teacher agreement against student resolution, after ' + ', '.join(
            f"{name}: {run['steps']} steps" for name, run in recipes.items()))
    if args.update_results:
        update_readme(readme_section(result, f'results/{NAME}.png'))
    print(f'{json_path}, {figure} ({result["seconds"]:.0f} s)')
    return result


if __name__ == '__main__':
    main()
