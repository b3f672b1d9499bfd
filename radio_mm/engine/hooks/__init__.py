from .radio_model_meta_hook import RADIOModelMetaHook
from .skipped_images_hook import SkippedImagesHook

__all__ = ['RADIOModelMetaHook', 'SkippedImagesHook']
from .feature_pca_hook import FeaturePCAHook  # noqa: E402

__all__ += ['FeaturePCAHook']
from .knn_bank_hook import KNNBankHook  # noqa: E402, F401
