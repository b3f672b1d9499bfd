"""BoxPromptMaskIoU: per-instance IoU at the original resolution, averaged in percent."""
import math

import numpy as np
import pytest
import torch
from mmdet.structures.mask import BitmapMasks, PolygonMasks
from pycocotools import mask as mask_utils

from radio_mm.evaluation.metrics import BoxPromptMaskIoU
from radio_mm.evaluation.metrics.box_prompt_mask_iou import masks_at_original_size

ORI = (60, 90)   # original image (H, W)
IMG = (40, 60)   # after resizing the longest side to 60 px: scale 2/3
SQUARE = [15., 12., 60., 12., 60., 48., 15., 48.]      # original pixels, 45 x 36
TRIANGLE = [3., 3., 12., 3., 3., 12.]                  # small (area < 32^2)


def polygons_at(scale, *polygons):
    return [[np.array(p) * scale] for p in polygons]


def annotation_masks(*polygons):
    """What pycocotools' annToMask draws for polygons at the original size."""
    return torch.from_numpy(np.stack([
        mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects([p], *ORI))) for p in polygons
    ])).bool()


def result(pred_masks, gt_masks):
    """One image as the Evaluator hands it over (DetDataSample.to_dict())."""
    return dict(img_shape=IMG, ori_shape=ORI, img_path='x.jpg',
                gt_instances=dict(masks=gt_masks), pred_instances=dict(masks=pred_masks))


def evaluate(*results):
    metric = BoxPromptMaskIoU()
    metric.process({}, list(results))
    return metric.evaluate(len(results))


def test_polygons_are_rasterized_at_the_original_size_like_coco():
    gt = PolygonMasks(polygons_at(2 / 3, SQUARE, TRIANGLE), *IMG)
    assert torch.equal(masks_at_original_size(gt, IMG, ORI), annotation_masks(SQUARE, TRIANGLE))
    with pytest.raises(TypeError, match='LoadAnnotations'):
        masks_at_original_size(np.zeros((1, *IMG)), IMG, ORI)


def test_exact_masks_score_100_and_shifted_masks_their_iou():
    truth = annotation_masks(SQUARE, TRIANGLE)
    gt = PolygonMasks(polygons_at(2 / 3, SQUARE, TRIANGLE), *IMG)
    metrics = evaluate(result(truth, gt))
    assert metrics['sam/num_instances'] == 2
    assert metrics['sam/mIoU'] == metrics['sam/mIoU_small'] == metrics['sam/mIoU_medium'] == 100
    assert math.isnan(metrics['sam/mIoU_large'])  # the square is 45 x 36 px: medium
    shifted = truth.roll(shifts=10, dims=2)  # 10 px to the right
    square_iou = (truth[0] & shifted[0]).sum() / (truth[0] | shifted[0]).sum()
    triangle_iou = (truth[1] & shifted[1]).sum() / (truth[1] | shifted[1]).sum()
    metrics = evaluate(result(shifted, gt), result(truth[:1], gt[[0]]))
    assert metrics['sam/num_instances'] == 3
    expected = 100 * (square_iou + triangle_iou + 1) / 3
    assert metrics['sam/mIoU'] == pytest.approx(expected.item(), rel=1e-6)
    assert metrics['sam/mIoU_small'] == pytest.approx(100 * triangle_iou.item(), rel=1e-6)
    assert metrics['sam/mIoU_medium'] == pytest.approx(100 * (square_iou.item() + 1) / 2)


def test_bitmap_masks_are_resized_back_from_the_resized_image():
    truth = torch.zeros(1, *ORI, dtype=torch.bool)
    truth[0, 12:48, 15:60] = True
    gt = BitmapMasks(np.zeros((1, *IMG), np.uint8), *IMG)
    gt.masks[0, 8:32, 10:40] = 1
    assert torch.equal(masks_at_original_size(gt, IMG, ORI), truth)
    assert evaluate(result(truth, gt))['sam/mIoU'] == 100.0


def test_one_prediction_per_box_is_required_and_empty_sets_are_nan():
    gt = PolygonMasks(polygons_at(2 / 3, SQUARE, TRIANGLE), *IMG)
    with pytest.raises(ValueError, match='one mask per ground-truth box'):
        evaluate(result(torch.zeros(1, *ORI, dtype=torch.bool), gt))
    empty = PolygonMasks([], *IMG)
    metrics = evaluate(result(torch.zeros(0, *ORI, dtype=torch.bool), empty))
    assert metrics['sam/num_instances'] == 0 and math.isnan(metrics['sam/mIoU'])
