"""Estimate PHI-S statistics of teacher features over a distillation config's data."""
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from mmengine.utils import ProgressBar

from radio_mm.models.losses import estimate_phi_s
from radio_mm.registry import MODELS
from radio_mm.utils import import_toolbox


@torch.no_grad()
def estimate_teacher_phi_s(config, teacher_names=None, num_batches=100, tokens_per_image=64,
                           device='cpu', seed=0):
    """Run the config's teachers over ``num_batches`` of its train data.

    Returns ``{teacher name: dict(mean=(C,), transform=(C, C), num_tokens=int)}``; save each
    with ``torch.save`` and point ``phi_s=dict(<name>=dict(stats_file=...))`` at it.
    ``tokens_per_image`` random spatial tokens per image keep memory bounded.
    """
    cfg = Config.fromfile(config) if isinstance(config, str) else config
    import_toolbox(cfg.get('default_scope'))
    generator = torch.Generator().manual_seed(seed)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'radio_mm')):
        teachers = [MODELS.build(t) for t in cfg.model.teachers]
        teachers = {t.name: t.to(device) for t in teachers
                    if teacher_names is None or t.name in teacher_names}
        if teacher_names is not None and set(teacher_names) - set(teachers):
            raise ValueError(f'unknown teachers {sorted(set(teacher_names) - set(teachers))}')
        loader_cfg = cfg.train_dataloader.copy()
        loader_cfg.update(persistent_workers=False)
        loader = Runner.build_dataloader(loader_cfg, seed=seed)
    tokens = {name: [] for name in teachers}
    progress = ProgressBar(num_batches)
    for step, batch in enumerate(loader):
        if step == num_batches:
            break
        images = torch.stack(list(batch['inputs'])) if isinstance(batch['inputs'], list) \
            else batch['inputs']
        # uint8 BGR (mmcv loading) -> RGB floats in [0, 1], what teachers take.
        images = images.flip(1).float().div(255).to(device)
        for name, teacher in teachers.items():
            features = teacher(images).features.flatten(2).transpose(1, 2)  # (B, hw, C)
            pick = torch.randperm(features.shape[1], generator=generator)[:tokens_per_image]
            tokens[name].append(features[:, pick].flatten(0, 1).cpu())
        progress.update()
    stats = {}
    for name, chunks in tokens.items():
        all_tokens = torch.cat(chunks)
        mean, transform = estimate_phi_s(all_tokens)
        stats[name] = dict(mean=mean, transform=transform, num_tokens=len(all_tokens))
    return stats
