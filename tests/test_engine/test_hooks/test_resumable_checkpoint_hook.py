"""Checkpoints survive a crash while saving, bad ones are named, and resumes are exact."""
import itertools

import pytest
import torch
from mmengine.fileio import LocalBackend
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

import radio_mm  # noqa: F401  (registers the hook)

_names = itertools.count()


class _Points(Dataset):

    def __len__(self):
        return 16

    def __getitem__(self, i):
        x = torch.tensor([float(i) / 16])
        return dict(x=x, y=3 * x + 1)


class _DropoutNet(BaseModel):
    """Draws from torch's generator every step (dropout), as a RADIO student does."""

    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(1, 16), torch.nn.Dropout(0.5),
                                       torch.nn.Linear(16, 1))

    def forward(self, x, y, mode='loss'):
        return dict(loss=((self.net(x) - y)**2).mean())


def _runner(work_dir, max_iters, resume=False, max_keep_ckpts=-1):
    torch.manual_seed(0)  # the model is built before the Runner seeds
    return Runner(
        model=_DropoutNet(), work_dir=str(work_dir),
        train_dataloader=dict(dataset=_Points(), sampler=dict(type='DefaultSampler', shuffle=True),
                              batch_size=4, collate_fn=dict(type='default_collate')),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        default_hooks=dict(checkpoint=dict(type='radio_mm.ResumableCheckpointHook', interval=3,
                                           by_epoch=False, max_keep_ckpts=max_keep_ckpts)),
        resume=resume, randomness=dict(seed=0), experiment_name=f'ckpt{next(_names)}')


def _last_checkpoint(work_dir):
    return (work_dir / 'last_checkpoint').read_text()


def test_a_save_failing_midway_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    put = LocalBackend.put

    def put_half_of_iter_6(self, obj, filepath):
        if 'iter_6' in str(filepath):  # the disk filled up / the job was killed mid-write
            put(self, obj[:len(obj) // 2], filepath)
            raise OSError('No space left on device')
        put(self, obj, filepath)

    monkeypatch.setattr(LocalBackend, 'put', put_half_of_iter_6)
    with pytest.raises(OSError, match='No space left') as error:
        _runner(tmp_path, max_iters=9, max_keep_ckpts=1).train()
    # torch's writer names no file; the error names the checkpoint and the free space
    assert f"could not save checkpoint {tmp_path / 'iter_6.pth'}" in str(error.value)
    assert 'MiB free in' in str(error.value)
    # mmengine deleted iter_3.pth before writing, and left a half iter_6.pth behind.
    files = sorted(p.name for p in tmp_path.iterdir() if p.is_file())
    assert [f for f in files if 'pth' in f] == ['iter_3.pth', 'iter_3.pth.sha256']
    assert _last_checkpoint(tmp_path) == str(tmp_path / 'iter_3.pth')
    assert torch.load(tmp_path / 'iter_3.pth')['meta']['iter'] == 3

    monkeypatch.setattr(LocalBackend, 'put', put)
    resumed = _runner(tmp_path, max_iters=9, resume=True, max_keep_ckpts=1)
    resumed.train()
    assert resumed.iter == 9
    assert sorted(p.name for p in tmp_path.glob('*.pth*')) == ['iter_9.pth', 'iter_9.pth.sha256']


@pytest.mark.parametrize('damage', ['empty', 'truncated', 'empty pointer'])
def test_resuming_from_a_damaged_checkpoint_names_the_last_good_one(tmp_path, damage):
    _runner(tmp_path, max_iters=6).train()
    latest = tmp_path / 'iter_6.pth'
    if damage == 'empty':
        latest.write_bytes(b'')
        expected = "iter_6.pth'.*empty \\(0 bytes\\)"
    elif damage == 'truncated':
        latest.write_bytes(latest.read_bytes()[:1000])
        expected = "iter_6.pth'.*truncated"
    else:
        (tmp_path / 'last_checkpoint').write_text('')
        expected = 'named by .*last_checkpoint.*no checkpoint is named'
    with pytest.raises(RuntimeError, match=expected) as error:
        _runner(tmp_path, max_iters=9, resume=True).train()
    good = tmp_path / ('iter_3.pth' if damage != 'empty pointer' else 'iter_6.pth')
    assert f'--resume {good}' in str(error.value)


def test_a_resumed_run_repeats_the_uninterrupted_one(tmp_path):
    straight = _runner(tmp_path / 'straight', max_iters=6)
    straight.train()
    _runner(tmp_path / 'stopped', max_iters=3).train()
    resumed = _runner(tmp_path / 'stopped', max_iters=6, resume=True)
    resumed.train()
    # Same dropout masks after the resume: bit-equal weights and losses.
    for (name, a), b in zip(straight.model.state_dict().items(),
                            resumed.model.state_dict().values()):
        assert torch.equal(a, b), name
    losses = [r.message_hub.get_scalar('train/loss').data[0][-3:] for r in (straight, resumed)]
    assert (losses[0] == losses[1]).all()


def _zero_tensor_bytes(path, count=4):
    """Zero the first ``count`` bytes of every tensor of a torch zip checkpoint (bit rot:
    the zip directory stays intact, and torch reads the file without complaint)."""
    import struct
    import zipfile
    with zipfile.ZipFile(path) as archive:
        offsets = [i.header_offset for i in archive.infolist() if '/data/' in i.filename]
    data = bytearray(path.read_bytes())
    for offset in offsets:
        name_len, extra_len = struct.unpack('<HH', data[offset + 26:offset + 30])
        start = offset + 30 + name_len + extra_len
        data[start:start + count] = bytes(count)
    path.write_bytes(bytes(data))


def test_a_bit_rotted_checkpoint_is_refused_naming_the_last_good_one(tmp_path):
    _runner(tmp_path, max_iters=6).train()
    latest = tmp_path / 'iter_6.pth'
    assert (tmp_path / 'iter_6.pth.sha256').is_file()
    before = torch.load(latest)['state_dict']
    _zero_tensor_bytes(latest)
    after = torch.load(latest)['state_dict']  # loads: torch reads no checksum
    assert any(not torch.equal(before[k], after[k]) for k in before)
    with pytest.raises(RuntimeError, match="iter_6.pth'.*SHA-256.*damaged") as error:
        _runner(tmp_path, max_iters=9, resume=True).train()
    assert f"--resume {tmp_path / 'iter_3.pth'}" in str(error.value)


class _Fails(_DropoutNet):
    """The same weights, but the first step fails (e.g. out of memory)."""

    def forward(self, x, y, mode='loss'):
        raise RuntimeError('the first step failed')


def test_a_failed_resume_deletes_no_checkpoint(tmp_path):
    _runner(tmp_path, max_iters=15, max_keep_ckpts=3).train()
    kept = ['iter_12.pth', 'iter_15.pth', 'iter_9.pth']
    assert sorted(p.name for p in tmp_path.glob('*.pth')) == kept
    runner = _runner(tmp_path, max_iters=21, resume=True, max_keep_ckpts=1)
    runner.model.__class__ = _Fails
    with pytest.raises(RuntimeError, match='the first step failed'):
        runner.train()
    # mmengine's before_train trimmed the list to 1 at once: iter_9 and iter_12 were gone
    assert sorted(p.name for p in tmp_path.glob('*.pth')) == kept

    resumed = _runner(tmp_path, max_iters=18, resume=True, max_keep_ckpts=1)
    resumed.train()  # once a checkpoint is saved, the keep limit applies
    assert sorted(p.name for p in tmp_path.glob('*.pth*')) == ['iter_18.pth',
                                                                'iter_18.pth.sha256']


class _Wider(_DropoutNet):

    def __init__(self):
        super().__init__()
        self.net[0] = torch.nn.Linear(1, 32)
        self.net[2] = torch.nn.Linear(32, 1)
        self.extra = torch.nn.Linear(1, 1)


def test_resuming_another_model_is_refused_naming_its_keys(tmp_path):
    _runner(tmp_path, max_iters=9, max_keep_ckpts=3).train()
    runner = _runner(tmp_path, max_iters=12, resume=True, max_keep_ckpts=1)
    runner.model = _Wider()
    with pytest.raises(RuntimeError, match=r"another model's weights.*missing in the "
                       r"checkpoint \(2\): \['extra.bias', 'extra.weight'\].*other shapes.*"
                       r'net.0.weight \(16, 1\) in the checkpoint, \(32, 1\) in the model'):
        runner.train()
    assert sorted(p.name for p in tmp_path.glob('*.pth')) == ['iter_3.pth', 'iter_6.pth',
                                                              'iter_9.pth']


def test_a_kill_between_saving_and_deleting_leaks_no_checkpoint(tmp_path, monkeypatch):
    from radio_mm.engine.hooks import resumable_checkpoint_hook as hook_module
    write = hook_module.write_text_atomically

    class Killed(BaseException):
        pass

    def killed_after_pointing_at_iter_12(path, text):
        write(path, text)
        if text.endswith('iter_12.pth'):  # SIGKILL before the oldest is deleted
            raise Killed

    monkeypatch.setattr(hook_module, 'write_text_atomically', killed_after_pointing_at_iter_12)
    with pytest.raises(Killed):
        _runner(tmp_path, max_iters=15, max_keep_ckpts=3).train()
    assert sorted(p.name for p in tmp_path.glob('*.pth')) == [
        'iter_12.pth', 'iter_3.pth', 'iter_6.pth', 'iter_9.pth']
    monkeypatch.setattr(hook_module, 'write_text_atomically', write)
    _runner(tmp_path, max_iters=15, resume=True, max_keep_ckpts=3).train()
    # mmengine's list (from iter_12's message hub) forgot iter_3: four were left
    assert sorted(p.name for p in tmp_path.glob('*.pth')) == ['iter_12.pth', 'iter_15.pth',
                                                              'iter_9.pth']
