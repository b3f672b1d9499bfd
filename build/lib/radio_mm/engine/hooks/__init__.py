from .feature_pca_hook import FeaturePCAHook
from .knn_bank_hook import KNNBankHook
from .radio_checkpoint_check_hook import RADIOCheckpointCheckHook
from .radio_model_meta_hook import RADIOModelMetaHook
from .resumable_checkpoint_hook import ResumableCheckpointHook
from .skipped_images_hook import SkippedImagesHook
from .student_ema_hook import StudentEMAHook

__all__ = ['FeaturePCAHook', 'KNNBankHook', 'RADIOCheckpointCheckHook', 'RADIOModelMetaHook',
           'ResumableCheckpointHook', 'SkippedImagesHook', 'StudentEMAHook']
