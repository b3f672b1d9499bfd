"""What the evaluation-only RADIO classifiers share: a frozen student inside mmpretrain.

They score the released features as they are (k-NN, CLIP zero-shot), so there is nothing to
train: ``forward(mode='loss')`` refuses, and weights come from ``tools/test.py``'s CHECKPOINT
(loaded with RADIOModel's key layout, see :mod:`radio_mm.formats.radio_checkpoint_keys`).
"""
from mmpretrain.models.classifiers.base import BaseClassifier

from radio_mm.registry import MODELS, registered_function

from .function_names import RADIO_MODEL_KEYS_HOOK


class FrozenRADIOClassifier(BaseClassifier):
    """Base class.

    Args:
        backbone (dict): RADIOViT / ERADIO config; it must describe the checkpoint.
        data_preprocessor (dict): mmpretrain ``ClsDataPreprocessor`` settings (RADIO's
            input conditioner: OpenAI CLIP mean/std x 255, RGB).
    """

    def __init__(self, backbone, data_preprocessor=None, init_cfg=None):
        data_preprocessor = dict(data_preprocessor or {})
        data_preprocessor.setdefault('type', 'mmpretrain.ClsDataPreprocessor')
        super().__init__(init_cfg=init_cfg, data_preprocessor=data_preprocessor)
        self.backbone = MODELS.build(backbone)
        for param in self.parameters():
            param.requires_grad = False
        self._register_load_state_dict_pre_hook(registered_function(RADIO_MODEL_KEYS_HOOK),
                                                with_module=True)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        if mode == 'tensor':
            return self.extract_feat(inputs)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        raise RuntimeError(f'{type(self).__name__} only evaluates frozen features '
                           f'(mode="tensor" or "predict", got {mode!r}); run it with '
                           'tools/test.py, not tools/train.py.')

    def predict(self, inputs, data_samples=None):
        raise NotImplementedError
