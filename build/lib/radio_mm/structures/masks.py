"""Operations on masks that models and metrics share."""


def mask_iou(pred, target):
    """IoU of boolean masks (N, ...) and (N, ...) -> (N,); 0 where both are empty."""
    pred, target = pred.flatten(1), target.flatten(1)
    intersection = (pred & target).sum(1).float()
    union = (pred | target).sum(1).float()
    return intersection / union.clamp(min=1)
