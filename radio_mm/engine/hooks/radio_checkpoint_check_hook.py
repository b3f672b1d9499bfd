"""Compare a RADIO student file with the model's config before ``load_from`` loads it.

``tools/test.py CONFIG CHECKPOINT`` and ``load_from`` hand mmengine a state dict, and a state
dict cannot tell 3 summary + 5 register tokens from 4 + 4, nor 12 heads from 16, nor which
summary tokens the teachers trained (the embedding a k-NN or probe must use). The file's
``meta['radio_model']`` can: mmengine calls this hook with the whole checkpoint first.
``tools/train.py`` and ``tools/test.py`` add it to every config
(:mod:`radio_mm.apis.run_config`), for classifiers (``model.backbone``) and distillers
(``model.student.backbone``) alike.
"""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from radio_mm.formats.radio_checkpoint import META_KEY, read_radio_checkpoint
from radio_mm.registry import HOOKS


@HOOKS.register_module()
class RADIOCheckpointCheckHook(Hook):
    """Refuse a RADIO checkpoint whose architecture or summary tokens differ from the
    config's (files without ``meta['radio_model']`` pass to the model's own checks)."""

    def after_load_checkpoint(self, runner, checkpoint):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        backbone = getattr(model, 'backbone', None)
        if backbone is None and getattr(model, 'student', None) is not None:
            backbone = getattr(model.student, 'backbone', None)  # RADIODistiller
        if not hasattr(backbone, 'hidden_architecture') or META_KEY not in (
                checkpoint.get('meta') or {}):
            return
        student = read_radio_checkpoint(checkpoint, source=getattr(runner, '_load_from', None))
        student.check_architecture(backbone)
        if hasattr(model, 'check_radio_checkpoint'):
            model.check_radio_checkpoint(student)
