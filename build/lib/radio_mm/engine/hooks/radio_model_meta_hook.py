"""Store the student's full config in distillation checkpoints.

``radio_mm.apis.radio_model(checkpoint)`` rebuilds the student (backbone, adaptors, input
conditioner) from ``meta['radio_model']`` without the training config.
"""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from radio_mm.formats.radio_checkpoint import META_KEY
from radio_mm.registry import HOOKS


@HOOKS.register_module()
class RADIOModelMetaHook(Hook):

    def before_save_checkpoint(self, runner, checkpoint):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        student_cfg = getattr(model, 'student_cfg', None)
        if student_cfg is not None:
            checkpoint.setdefault('meta', {})[META_KEY] = plain(student_cfg)


def plain(value):
    """ConfigDicts/tuples -> dicts/lists, so the meta loads under weights_only=True."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value
