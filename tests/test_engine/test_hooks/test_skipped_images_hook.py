"""Skipped images show up in the log line of the iteration that skipped them."""
import numpy as np
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from PIL import Image

import radio_mm  # noqa: F401  (registers the dataset, transform and hook)


class _Brightness(BaseModel):

    def __init__(self):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.ones(()))

    def forward(self, inputs, data_samples=None, mode='loss'):
        mean = torch.stack([i.float().mean() for i in inputs]).mean()
        return dict(loss=self.scale * mean / 255)


def test_the_log_line_of_an_iteration_counts_its_skips(tmp_path):
    images = tmp_path / 'images'
    images.mkdir()
    photo = Image.fromarray(np.full((32, 32, 3), 128, np.uint8))
    photo.save(images / '0.png')
    (images / '1.jpg').write_bytes(b'not a jpeg')
    (images / '2.png').write_bytes(b'not a png')
    photo.save(images / '3.png')
    runner = Runner(
        model=_Brightness(), work_dir=str(tmp_path / 'run'),
        train_dataloader=dict(
            dataset=dict(type='radio_mm.UnlabeledImageDataset', data_root=str(images),
                         pipeline=[dict(type='PackImageInputs')]),
            sampler=dict(type='DefaultSampler', shuffle=False), batch_size=1,
            collate_fn=dict(type='pseudo_collate')),
        train_cfg=dict(by_epoch=False, max_iters=3),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.0)),
        default_hooks=dict(logger=dict(type='LoggerHook', interval=1), checkpoint=None),
        custom_hooks=[dict(type='radio_mm.SkippedImagesHook')], experiment_name='skips')
    runner.train()
    log = next((tmp_path / 'run').rglob('*.log')).read_text()
    lines = [line for line in log.splitlines() if '(train)' in line]
    # Iteration 2 skipped 1.jpg and 2.png to reach 3.png: its own line says so (the count
    # used to appear one line later, after LoggerHook had already written this one).
    assert 'skipped_images: 0' in lines[0]
    assert 'skipped_images: 2' in lines[1]
