"""Turn a config file and the usual OpenMMLab command-line flags into a ready Runner.

`tools/train.py` and `tools/test.py` are thin wrappers over these functions, so that scripts
and notebooks get exactly the behaviour of the command line.
"""
import os
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.runner import Runner

from radio_mm.engine.work_dir_lock import lock_work_dir
from radio_mm.utils import import_toolbox
from radio_mm.utils.checkpoint_checks import check_resumable

# Where each launcher tells a process its global rank (only rank 0 claims the work dir).
_RANK_VARIABLES = {'pytorch': 'RANK', 'slurm': 'SLURM_PROCID', 'mpi': 'OMPI_COMM_WORLD_RANK'}
# How each toolbox's visualization hook is told to draw every test result into a folder
# (their own defaults draw one image in 50).
_SHOW_DIR_KEYS = {
    'SegVisualizationHook': dict(draw=True, interval=1),
    'DetVisualizationHook': dict(draw=True, interval=1, test_out_dir='{show_dir}'),
    'VisualizationHook': dict(enable=True, interval=1, out_dir='{show_dir}'),
}


def add_common_args(parser):
    """The flags train.py and test.py share: overrides and the distributed launcher."""
    from mmengine.config import DictAction
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, e.g. train_cfg.max_iters=10')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser


def load_config(config, work_dir=None, cfg_options=None, launcher='none'):
    """Read ``config``, apply overrides and import the toolbox its ``default_scope`` names."""
    if not osp.isfile(config):
        raise FileNotFoundError(f'config file {config!r} does not exist')
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    cfg.launcher = launcher
    if launcher != 'none':
        use_gloo_without_cuda(cfg)
    import_toolbox(cfg.get('default_scope'))
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(config))[0])
    return cfg


def use_gloo_without_cuda(cfg):
    """NCCL needs GPUs: on a CPU-only machine distributed runs use gloo.

    mmengine's ``init_dist`` always calls ``torch.cuda.set_device``, so without CUDA the
    process group is started here (from the launcher's environment) and the Runner finds it
    already initialized.
    """
    if torch.cuda.is_available():
        return
    dist_cfg = cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
    if dist_cfg.get('backend', 'nccl') == 'nccl':
        print_log('no CUDA device: using the gloo backend instead of nccl', logger='current')
        dist_cfg['backend'] = 'gloo'
    if cfg.launcher == 'pytorch' and not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend=dist_cfg['backend'])
    # DDP of CPU modules takes no device ids (mmengine passes the local rank as one).
    wrapper = cfg.get('model_wrapper_cfg') or dict(type='MMDistributedDataParallel')
    if 'DistributedDataParallel' in wrapper.get('type', ''):
        wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper


def enable_amp(cfg):
    """Switch the optimizer wrapper to mixed precision (bf16/fp16 belongs on GPUs)."""
    optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if optim_wrapper == 'AmpOptimWrapper':
        return
    if optim_wrapper != 'OptimWrapper':
        raise ValueError(f'--amp needs optim_wrapper.type OptimWrapper or AmpOptimWrapper, '
                         f'the config has {optim_wrapper!r}')
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')


def check_train_length(cfg):
    """A schedule of no iterations or epochs is a typo: mmengine would build everything,
    train nothing and exit 0."""
    train_cfg = cfg.get('train_cfg') or {}
    for key in ('max_iters', 'max_epochs'):
        value = train_cfg.get(key)
        if value is not None and value <= 0:
            raise ValueError(f'train_cfg.{key} must be positive, got {value}; set it in the '
                             f'config or with --cfg-options train_cfg.{key}=N')


def check_config_values(cfg, mode='train'):
    """Values that would fail only once the Runner has built everything (with real teachers:
    minutes), refused first: a batch size below 1, a ``data_root`` that does not exist, a
    negative learning rate. ``mode``: 'train' checks the train dataloader and the optimizer,
    'test' the test dataloader. (Student resolutions off the patch grid are refused by
    :class:`RADIODistiller` before it builds its teachers.)"""
    problems = []
    loader_key = f'{mode}_dataloader'
    loader = cfg.get(loader_key) or {}
    batch_size = loader.get('batch_size')
    if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
        problems.append(f'{loader_key}.batch_size must be a positive integer, got '
                        f'{batch_size!r}')
    for where, root in _data_roots(loader.get('dataset') or {}, f'{loader_key}.dataset'):
        if '://' not in root and not osp.isdir(root):
            problems.append(f'{where}.data_root {root!r} does not exist (run from the folder '
                            'the config expects, or set it with --cfg-options '
                            f'{where}.data_root=PATH)')
    if mode == 'train':
        lr = ((cfg.get('optim_wrapper') or {}).get('optimizer') or {}).get('lr')
        if isinstance(lr, (int, float)) and lr < 0:
            problems.append(f'optim_wrapper.optimizer.lr must not be negative, got {lr}')
    if problems:
        raise ValueError('the config cannot run: ' + '; '.join(problems))


def _data_roots(dataset, where):
    """(config path, data_root) of a dataset config and of the datasets it wraps."""
    if isinstance(dataset, dict):
        if isinstance(dataset.get('data_root'), str):
            yield where, dataset['data_root']
        for key, value in dataset.items():
            if key in ('dataset', 'datasets'):
                yield from _data_roots(value, f'{where}.{key}')
    elif isinstance(dataset, (list, tuple)):
        for i, value in enumerate(dataset):
            yield from _data_roots(value, f'{where}[{i}]')


def check_load_from(cfg):
    """Refuse a local ``load_from`` that is truncated or fails its checksum, naming the last
    complete checkpoint beside it, before the Runner builds the model."""
    path = cfg.get('load_from')
    if path and not cfg.get('resume') and '://' not in path:
        check_resumable(path, osp.dirname(path) or '.', named_by='load_from', action='load')


def use_checkpoint_checks(cfg):
    """Compare a RADIO checkpoint's token split, heads and summary tokens with the model on
    every load (``load_from``, ``tools/test.py``), whatever runtime the config inherits."""
    hooks = [*(cfg.get('default_hooks') or {}).values(), *(cfg.get('custom_hooks') or [])]
    if any(str((h or {}).get('type', '')).endswith('RADIOCheckpointCheckHook') for h in hooks):
        return
    cfg.setdefault('default_hooks', {})['radio_checkpoint'] = dict(
        type='radio_mm.RADIOCheckpointCheckHook')


def use_resumable_checkpoints(cfg):
    """Save through :class:`ResumableCheckpointHook` (same arguments as mmengine's
    CheckpointHook), also in configs that inherit a toolbox's plain CheckpointHook."""
    hook = cfg.get('default_hooks', {}).get('checkpoint')
    if hook and hook.get('type') in ('CheckpointHook', 'mmengine.CheckpointHook'):
        hook['type'] = 'radio_mm.ResumableCheckpointHook'


def set_resume(cfg, resume):
    """``resume='auto'`` picks the latest checkpoint in work_dir; a path resumes from it."""
    if resume is None:
        return
    if resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
        return
    if not osp.exists(resume):  # a file, or a sharded checkpoint's folder
        raise FileNotFoundError(f'--resume checkpoint {resume!r} does not exist')
    cfg.resume = True
    cfg.load_from = resume


def set_show_dir(cfg, show_dir):
    """Make the config's visualization hook draw test predictions into ``show_dir``."""
    hook = cfg.get('default_hooks', {}).get('visualization')
    if hook is None:
        raise ValueError('--show-dir needs a `visualization` entry in default_hooks')
    keys = _SHOW_DIR_KEYS.get(hook['type'].split('.')[-1])
    if keys is None:
        raise ValueError(f"--show-dir does not know hook type {hook['type']!r}")
    for key, value in keys.items():
        hook[key] = value.format(show_dir=show_dir) if isinstance(value, str) else value
    if 'visualizer' in cfg:
        cfg.visualizer['save_dir'] = show_dir
    os.makedirs(show_dir, exist_ok=True)


def build_train_runner(config, work_dir=None, resume=None, amp=False, cfg_options=None,
                       launcher='none'):
    """The Runner ``tools/train.py`` runs."""
    cfg = load_config(config, work_dir, cfg_options, launcher)
    check_train_length(cfg)
    check_config_values(cfg, 'train')
    if int(os.environ.get(_RANK_VARIABLES.get(launcher, ''), 0)) == 0:
        # Before the Runner exists: it dumps the config into work_dir when built.
        lock_work_dir(cfg.work_dir)
    use_resumable_checkpoints(cfg)
    if amp:
        enable_amp(cfg)
    set_resume(cfg, resume)
    return _build_runner(cfg)


def build_test_runner(config, checkpoint, work_dir=None, show_dir=None, out=None,
                      cfg_options=None, launcher='none'):
    """The Runner ``tools/test.py`` runs: ``checkpoint`` loaded, nothing trained."""
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint {checkpoint!r} does not exist')
    cfg = load_config(config, work_dir, cfg_options, launcher)
    cfg.load_from = checkpoint
    cfg.resume = False
    check_config_values(cfg, 'test')
    if show_dir is not None:
        set_show_dir(cfg, show_dir)
    if out is not None:
        cfg.test_evaluator = _with_dump(cfg.test_evaluator, out)
    return _build_runner(cfg)


def _with_dump(evaluator, out):
    """Also dump raw predictions to ``out`` (a .pkl), as mm tools do with ``--out``."""
    if not out.endswith(('.pkl', '.pickle')):
        raise ValueError(f'--out must be a .pkl file, got {out!r}')
    metrics = evaluator if isinstance(evaluator, list) else [evaluator]
    return [*metrics, dict(type='DumpResults', out_file_path=out)]


def use_sharded_runner(cfg):
    """A sharded model (``FullyShardWrapper``) saves and resumes through
    :class:`~radio_mm.engine.sharded_runner.ShardedRunner`, whatever the config's runtime."""
    wrapper = str((cfg.get('model_wrapper_cfg') or {}).get('type', ''))
    if wrapper.split('.')[-1] != 'FullyShardWrapper':
        return
    runner_type = cfg.get('runner_type')
    if runner_type is None:
        cfg.runner_type = 'radio_mm.ShardedRunner'
    elif str(runner_type).split('.')[-1] != 'ShardedRunner':
        raise ValueError(f'FullyShardWrapper needs runner_type ShardedRunner (sharded '
                         f'checkpoints), the config sets {runner_type!r}')


def _build_runner(cfg):
    check_load_from(cfg)
    use_checkpoint_checks(cfg)
    use_sharded_runner(cfg)
    if 'runner_type' in cfg:
        from mmengine.registry import RUNNERS
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)
