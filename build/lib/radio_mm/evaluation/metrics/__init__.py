from .box_prompt_mask_iou import BoxPromptMaskIoU  # noqa: F401
from .knn_accuracy import KNNAccuracy  # noqa: F401
from .teacher_agreement import TeacherAgreement  # noqa: F401
