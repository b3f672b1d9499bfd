"""Shrink shipped configs into CPU smoke runs and run them: the runner and its command line.

The rules that shrink a config are in ``shrink_rules.py`` (one per toolbox), the data and
checkpoints they point at are written by ``shrink_fixtures.py``. Only sizes change: widths
and depths of the student and the teachers, image sides, data paths (to generated fixtures
of the same format, read by the same dataset class), iteration counts and the iterations at
which milestones, schedulers and hooks fire. Config
types, pipelines, dataset classes, partitions and schedules stay as shipped. Teachers load
tiny random-init checkpoints written in the published layout, so the weight-loading path is
the one users run.

Run as a script, it shrinks and runs several configs in one process (the mmseg/mmdet imports
are paid once), through ``radio_mm.apis.run_config`` as ``tools/train.py`` and
``tools/test.py`` do, and writes one result per config to a JSON file::

    python tests/test_configs/config_shrinker.py --work-dir DIR --out results.json CONFIG...
"""
import argparse
import json
import os
import os.path as osp
import sys
import traceback
from pathlib import Path

# Run as a script: the shrinker's modules beside this file, tiny_models in tests/.
for _folder in (Path(__file__).resolve().parents[1], Path(__file__).resolve().parent):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

from shrink_fixtures import Fixtures, tiny_model_checkpoint  # noqa: E402
from shrink_rules import ITERS, shrink  # noqa: E402,F401  (ITERS: the runs' length)


# -- running ------------------------------------------------------------------------------
def run_config(path, work_root, fixtures):
    """Shrink ``path``, train it as tools/train.py does, then test it where it can."""
    from mmengine.config import Config

    from radio_mm.apis import build_test_runner, build_train_runner
    name = osp.splitext(osp.basename(path))[0]
    folder = osp.join(work_root, name)
    os.makedirs(folder, exist_ok=True)
    cfg = shrink(Config.fromfile(path), fixtures, folder)
    if cfg.get('load_from'):  # fine-tuning from a whole-model checkpoint (RADIO + SAM)
        cfg.load_from = tiny_model_checkpoint(cfg, folder)
    shrunk = osp.join(folder, f'{name}.py')
    cfg.dump(shrunk)
    result = dict(name=name, milestones=sorted({
        start for p in cfg.model.get('partitions') or [] for start, _ in p['milestones']}))
    if cfg.get('train_dataloader'):
        work_dir = osp.join(folder, 'work')
        runner = build_train_runner(shrunk, work_dir=work_dir)
        runner.train()
        result.update(iters=runner.iter, max_iters=runner.max_iters)
        checkpoint = osp.join(work_dir, 'last_checkpoint')
        checkpoint = open(checkpoint).read().strip()
    else:  # evaluation-only configs test a checkpoint of their own model
        checkpoint = tiny_model_checkpoint(cfg, folder)
    if cfg.get('test_dataloader'):
        metrics = build_test_runner(shrunk, checkpoint, work_dir=osp.join(folder, 'test')).test()
        result['test'] = {k: float(v) for k, v in metrics.items()}
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('configs', nargs='+')
    parser.add_argument('--work-dir', required=True)
    parser.add_argument('--out', required=True)
    args = parser.parse_args()
    import torch
    torch.set_num_threads(1)
    fixtures = Fixtures(args.work_dir)
    results = {}
    for path in args.configs:
        try:
            results[path] = run_config(path, args.work_dir, fixtures)
        except Exception:  # noqa: BLE001  (reported per config by the test)
            results[path] = dict(error=traceback.format_exc())
        with open(args.out, 'w') as f:
            json.dump(results, f)
    return 0


if __name__ == '__main__':
    sys.exit(main())
