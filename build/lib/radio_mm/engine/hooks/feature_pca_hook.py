"""Save a PCA picture of the student's features beside its teachers' during distillation."""
import os
import os.path as osp

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from radio_mm.registry import HOOKS
from radio_mm.utils.toolboxes import require_toolbox
from radio_mm.visualization import feature_pca_panel, radio_feature_maps


@HOOKS.register_module()
class FeaturePCAHook(Hook):
    """Every ``interval`` iterations (and after training) write
    ``work_dir/feature_pca/iter_<n>.png``: the image, the student backbone's features, each
    adaptor's features and each teacher's features, coloured by PCA
    (:func:`radio_mm.visualization.feature_maps.radio_feature_maps`).

    Teachers without a checkpoint are captioned "(random weights)".

    Args:
        image (str): image file; None takes scikit-image's astronaut photo.
        size (int): the square size the student sees.
        interval (int): iterations between pictures; 0 only after training.
        tile (int | None): height of each panel in pixels; None for ``size``, so the photo
            is shown at the size the student saw it.
    """

    priority = 'LOW'

    def __init__(self, image=None, size=224, interval=0, tile=None):
        self.image = image
        self.size = size
        self.interval = interval
        self.tile = tile or size

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if self.interval and self.every_n_train_iters(runner, self.interval):
            self.save(runner)

    def after_train(self, runner):
        self.save(runner)

    def _load_image(self):
        mmcv = require_toolbox('mmcv', 'FeaturePCAHook')
        if self.image is None:
            from skimage import data
            rgb = data.astronaut()
        else:
            rgb = mmcv.imread(self.image, channel_order='rgb')
        return mmcv.imresize(rgb, (self.size, self.size))

    def save(self, runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        rgb = self._load_image()
        device = next(model.student.parameters()).device
        was_training = model.student.training
        # cached teachers only hold the targets of their cached views, not of this image
        teachers = [t for t in model.teachers.values() if not getattr(t, 'reads_cache', False)]
        maps = radio_feature_maps(model.student, rgb, teachers, device)
        model.student.train(was_training)
        folder = osp.join(runner.work_dir, 'feature_pca')
        os.makedirs(folder, exist_ok=True)
        path = osp.join(folder, f'iter_{runner.iter}.png')
        feature_pca_panel(rgb, maps, tile=self.tile).save(path)
        runner.logger.info(f'saved feature PCA picture {path}')
