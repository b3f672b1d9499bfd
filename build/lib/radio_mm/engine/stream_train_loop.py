"""An iteration-based train loop for endless streams (:class:`WebDatasetImages`).

mmengine's ``IterBasedTrainLoop`` treats the whole run as one epoch and, on resume, replays
the dataloader for every finished iteration: for a stream that means decoding
``iter x batch`` images again before the first step. This loop restarts the stream at the
resumed iteration instead (see ``WebDatasetImages`` for what that means for the sample
order) and declares the run's ``max_iters`` batches as the stream's length, which is what
mmengine's scheduler builder and logger ask ``len(dataloader)`` for.
"""
from mmengine.logging import print_log
from mmengine.runner import IterBasedTrainLoop
from mmengine.runner.loops import _InfiniteDataloaderIterator

from radio_mm.registry import LOOPS


class _AlreadyConsumed:
    """Answers the replay of ``skip`` batches without reading any, then the real iterator."""

    def __init__(self, iterator, skip):
        self.iterator = iterator
        self.skip = skip

    def __iter__(self):
        return self

    def __next__(self):
        if self.skip > 0:
            self.skip -= 1
            return None
        return next(self.iterator)


@LOOPS.register_module()
class StreamTrainLoop(IterBasedTrainLoop):
    """``IterBasedTrainLoop`` whose dataset is a stream with ``restart_at`` and ``set_length``.

    Args: as ``IterBasedTrainLoop`` (runner, dataloader, max_iters, val_begin, val_interval,
        dynamic_intervals).
    """

    def __init__(self, runner, dataloader, max_iters, **kwargs):
        if isinstance(dataloader, dict):  # built here: the stream is set before workers start
            dataloader = runner.build_dataloader(
                dataloader, seed=runner.seed,
                diff_rank_seed=runner._randomness_cfg.get('diff_rank_seed', False))
        dataset = dataloader.dataset
        if not (hasattr(dataset, 'restart_at') and hasattr(dataset, 'set_length')):
            raise TypeError(f'StreamTrainLoop needs a stream dataset (WebDatasetImages), got '
                            f'{type(dataset).__name__}; use IterBasedTrainLoop for it')
        dataset.set_length(int(max_iters) * dataloader.batch_size)
        dataset.restart_at(0, seed=runner.seed)
        super().__init__(runner, dataloader, max_iters, **kwargs)

    def run(self):
        if self._iter > 0:  # resumed: the checkpoint was loaded after __init__
            print_log(f'restarting the data stream at iteration {self._iter} with a new shard '
                      "order; mmengine's 'Advance dataloader' replay below reads no data",
                      logger='current')
            self.dataloader.dataset.restart_at(self._iter, seed=self.runner.seed)
            self.dataloader_iterator = _AlreadyConsumed(
                _InfiniteDataloaderIterator(self.dataloader), self._iter)
        return super().run()
