"""Resuming an mmengine checkpoint with torch.load's default weights_only=True."""
import pickle

import numpy as np
import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

import radio_mm  # noqa: F401  (allow-lists the checkpoint globals)


class _Points(Dataset):

    def __len__(self):
        return 16

    def __getitem__(self, i):
        x = torch.tensor([float(i)])
        return dict(x=x, y=3 * x + 1)


class _Line(BaseModel):

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(1, 1)

    def forward(self, x, y, mode='loss'):
        pred = self.fc(x)
        if mode == 'loss':
            return dict(loss=((pred - y)**2).mean())
        return pred


def _runner(work_dir, max_iters, resume):
    return Runner(
        model=_Line(), work_dir=str(work_dir),
        train_dataloader=dict(dataset=_Points(), sampler=dict(type='DefaultSampler', shuffle=True),
                              batch_size=4, collate_fn=dict(type='default_collate')),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=1e-3)),
        param_scheduler=dict(type='LinearLR', start_factor=0.5, by_epoch=False, end=8),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=3, by_epoch=False),
                           logger=dict(type='LoggerHook', interval=1)),
        resume=resume, randomness=dict(seed=0), experiment_name=f'resume_{resume}')


def test_resume_continues_at_the_saved_iteration(tmp_path):
    first = _runner(tmp_path, max_iters=6, resume=False)
    first.train()
    ckpt = tmp_path / 'iter_6.pth'
    assert ckpt.is_file()
    # The checkpoint holds HistoryBuffers and numpy objects; this load is what used to fail.
    state = torch.load(ckpt, map_location='cpu')
    assert state['meta']['iter'] == 6

    second = _runner(tmp_path, max_iters=9, resume=True)
    second.train()
    assert second.iter == 9
    assert (tmp_path / 'iter_9.pth').is_file()
    # The message hub (loss history, scheduler state) came back from the checkpoint.
    lr = second.message_hub.get_scalar('train/lr')
    assert len(lr.data[0]) > 3


def test_unlisted_globals_are_still_refused(tmp_path):
    # weights_only stays on by default: only the allow-listed classes load.
    path = tmp_path / 'evil.pth'
    torch.save({'obj': _Points()}, path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path)


def test_pickled_getattr_only_reaches_history_buffer_methods(tmp_path):
    path = tmp_path / 'getattr.pth'
    # ndarray is allow-listed, but its methods must not be reachable through getattr.
    torch.save({'fn': np.ndarray.tofile}, path)
    with pytest.raises(pickle.UnpicklingError, match='refusing getattr'):
        torch.load(path)
