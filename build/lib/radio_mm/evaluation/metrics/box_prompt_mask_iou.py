"""Mean IoU of masks segmented from ground-truth box prompts: AM-RADIO's "SAM COCO" number.

Protocol (NVlabs/RADIO README at commit ccfa261, "Segmentation metrics"; RADIO-ViT-H/16
76.23, SAM-H/16 77.18): every ground-truth instance is segmented from its ground-truth box,
its mask IoU with the ground truth is taken at the original image resolution, and mIoU is the
mean over all instances, in percent. COCO's area ranges (original pixels: small < 32^2,
medium < 96^2, large above) give the per-size means.

Ground truth comes with the predictions (``gt_instances.masks`` at the resized image, as the
model saw it). mmdet ``PolygonMasks`` (``LoadAnnotations(poly2mask=False)``) scale back exactly
and are rasterized at the original size, as pycocotools ``annToMask`` does; ``BitmapMasks``
are resized back with nearest neighbours, which loses detail at the mask edges.
"""
import math
from typing import Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric

from radio_mm.registry import METRICS
from radio_mm.structures import mask_iou
from radio_mm.utils.toolboxes import require_toolbox

# pycocotools COCOeval.Params: areaRng for 'small', 'medium', 'large'
COCO_AREA_RANGES = dict(small=(0, 32**2), medium=(32**2, 96**2), large=(96**2, math.inf))


def masks_at_original_size(masks, img_shape, ori_shape):
    """mmdet instance masks drawn on the resized image -> (N, H, W) bool at ``ori_shape``."""
    require_toolbox('mmdet', 'BoxPromptMaskIoU')
    from mmdet.structures.mask import BitmapMasks, PolygonMasks
    h, w = img_shape[:2]
    if isinstance(masks, PolygonMasks):
        masks = PolygonMasks(masks.masks, h, w).resize(ori_shape[:2])
    elif isinstance(masks, BitmapMasks):
        masks = masks.crop(np.array([0, 0, w, h])).resize(ori_shape[:2])
    else:
        raise TypeError(f'gt_instances.masks must be mmdet PolygonMasks or BitmapMasks, got '
                        f'{type(masks).__name__}: load them with LoadAnnotations(with_mask=True)')
    return torch.from_numpy(masks.to_ndarray()).bool()


@METRICS.register_module()
class BoxPromptMaskIoU(BaseMetric):
    """Instance-averaged mask IoU (percent) of ``pred_instances.masks`` against
    ``gt_instances.masks``, paired by position (one prediction per ground-truth box).

    Outputs ``{prefix}/mIoU``, ``{prefix}/mIoU_<range>`` for each of ``area_ranges`` (NaN
    when the range holds no instance) and ``{prefix}/num_instances``. Instances whose mask is
    empty at the original resolution (degenerate polygons) have no IoU and are not counted.

    Args:
        area_ranges (dict[str, tuple[float, float]]): name -> [low, high) ground-truth area in
            original pixels.
    """

    default_prefix = 'sam'

    def __init__(self, area_ranges=COCO_AREA_RANGES, collect_device='cpu', prefix=None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.area_ranges = dict(area_ranges)

    def process(self, data_batch, data_samples: Sequence[dict]):
        """Keep (IoU, ground-truth area) per instance: (N, 2) per image."""
        for sample in data_samples:
            pred = sample['pred_instances']['masks'].detach().cpu().bool()
            gt = masks_at_original_size(sample['gt_instances']['masks'], sample['img_shape'],
                                        sample['ori_shape'])
            if pred.shape != gt.shape:
                raise ValueError(
                    f"image {sample.get('img_path', '')}: {tuple(pred.shape)} predicted masks "
                    f'for {tuple(gt.shape)} ground-truth masks; the model must predict one mask '
                    'per ground-truth box at the original resolution (RADIOSAM.predict)')
            areas = gt.flatten(1).sum(1)
            valid = areas > 0
            ious = mask_iou(pred[valid], gt[valid])
            self.results.append(np.stack([ious.numpy(), areas[valid].numpy()], axis=1))

    def compute_metrics(self, results):
        stats = np.concatenate(results) if results else np.zeros((0, 2))
        ious, areas = stats[:, 0], stats[:, 1]
        metrics = dict(mIoU=_percent_mean(ious))
        for name, (low, high) in self.area_ranges.items():
            metrics[f'mIoU_{name}'] = _percent_mean(ious[(areas >= low) & (areas < high)])
        metrics['num_instances'] = len(ious)
        return metrics


def _percent_mean(values):
    return float(100 * values.mean()) if len(values) else float('nan')
