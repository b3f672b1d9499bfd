"""Count and report images the datasets had to skip (corrupt or unreadable files)."""
from mmengine.hooks import Hook

from radio_mm.registry import HOOKS


@HOOKS.register_module()
class SkippedImagesHook(Hook):
    """Collects the ``skipped`` paths that datasets attach to samples, logs the number of
    distinct skipped files as ``skipped_images``, and lists them when training ends."""

    # Before LoggerHook (BELOW_NORMAL): the line logged for an iteration counts the images
    # skipped to fill that iteration's batch, not one log line later.
    priority = 'NORMAL'

    def __init__(self, max_listed=20):
        self.max_listed = max_listed
        self.paths = {}  # insertion-ordered set: a file skipped twice counts once

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        for sample in (data_batch or {}).get('data_samples') or []:
            skipped = getattr(sample, 'metainfo', {}).get('skipped', ())
            self.paths.update(dict.fromkeys(skipped))
        runner.message_hub.update_scalar('train/skipped_images', len(self.paths))

    def after_train(self, runner):
        if not self.paths:
            return
        listed = ', '.join(list(self.paths)[:self.max_listed])
        more = f' and {len(self.paths) - self.max_listed} more' if len(
            self.paths) > self.max_listed else ''
        runner.logger.warning(f'skipped {len(self.paths)} unreadable images: {listed}{more}')
