"""RADIOSamPredictor and RADIOSAM.predict against segment_anything's SamPredictor.

A real (tiny) segment_anything ``Sam`` is the reference. RADIOSAM loads its prompt encoder and
mask decoder from the Sam's checkpoint; with RADIOSAM's image embedding replaced by the Sam
image encoder's, both the predictor and the mmdet dataset path must give SamPredictor's
answers, which shows that the prompt and mask pipeline around RADIO is SAM's.
"""
import copy
from functools import partial

import numpy as np
import pytest
import torch
from mmcv.transforms import Compose
from segment_anything import SamPredictor
from segment_anything.modeling import (
    ImageEncoderViT,
    MaskDecoder,
    PromptEncoder,
    Sam,
    TwoWayTransformer,
)
from skimage import data

from radio_mm.apis import RADIOSamPredictor
from radio_mm.models.sam import RADIOSAM

SIZE, DIM = 128, 32  # input side and embedding width: an 8 x 8 embedding
RADIO = dict(
    type='RADIOModel',
    backbone=dict(type='RADIOViT', arch=dict(embed_dims=32, num_layers=2, num_heads=2),
                  cpe_max_size=256, num_summary_tokens=1),
    adaptors=dict(sam=dict(in_dims=32, feature_dims=DIM, hidden_dims=32)))
DECODER = dict(embed_dim=DIM, transformer_mlp_dim=64, transformer_num_heads=2,
               iou_head_hidden_dim=32)


@pytest.fixture(scope='module')
def sam():
    """segment_anything's Sam as build_sam assembles it, at toy widths."""
    torch.manual_seed(0)
    model = Sam(
        image_encoder=ImageEncoderViT(
            img_size=SIZE, patch_size=16, embed_dim=32, depth=2, num_heads=2, mlp_ratio=4,
            out_chans=DIM, qkv_bias=True, norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
            use_rel_pos=True, window_size=4, global_attn_indexes=(1, )),
        prompt_encoder=PromptEncoder(embed_dim=DIM, image_embedding_size=(8, 8),
                                     input_image_size=(SIZE, SIZE), mask_in_chans=16),
        mask_decoder=MaskDecoder(
            num_multimask_outputs=3, transformer_dim=DIM, iou_head_depth=3,
            iou_head_hidden_dim=32,
            transformer=TwoWayTransformer(depth=2, embedding_dim=DIM, mlp_dim=64,
                                          num_heads=2)))
    return model.eval()


@pytest.fixture(scope='module')
def sam_checkpoint(sam, tmp_path_factory):
    path = tmp_path_factory.mktemp('sam') / 'sam_tiny.pth'
    torch.save(sam.state_dict(), path)  # the published layout: image_encoder.* included
    return str(path)


def radio_sam(sam_checkpoint, sam=None):
    """RADIOSAM with the reference decoder; with ``sam``, its embedding is SAM's own."""
    torch.manual_seed(0)
    model = RADIOSAM(radio=copy.deepcopy(RADIO), sam_pretrained=sam_checkpoint,
                     image_size=SIZE, decoder=DECODER)
    if sam is not None:
        def sam_embedding(images01, image_hws):
            (h, w), = image_hws
            pixels = (images01[:, :, :h, :w] * 255).round()  # back to SAM's 0-255 input
            return sam.image_encoder(sam.preprocess(pixels))
        model.image_embedding = sam_embedding
    return model


@pytest.fixture(scope='module')
def chelsea():
    return data.chelsea()  # (300, 451, 3) uint8: a wide image, padded at the bottom


def test_predictor_runs_on_real_images_at_their_size(sam_checkpoint, chelsea):
    predictor = RADIOSamPredictor(radio_sam(sam_checkpoint))
    for image in (chelsea, np.ascontiguousarray(chelsea.transpose(1, 0, 2)), data.coffee()):
        predictor.set_image(image)
        assert predictor.get_image_embedding().shape == (1, DIM, 8, 8)
        masks, scores, low_res = predictor.predict(point_coords=np.array([[200, 150]]),
                                                   point_labels=np.array([1]))
        assert masks.shape == (3, *image.shape[:2]) and masks.dtype == bool
        assert scores.shape == (3, ) and low_res.shape == (3, 32, 32)
        logits, _, _ = predictor.predict(box=np.array([20, 30, 250, 200]),
                                         multimask_output=False, return_logits=True)
        assert logits.shape == (1, *image.shape[:2]) and logits.dtype == np.float32
    boxes = predictor.transform.apply_boxes_torch(
        torch.tensor([[0., 0, 100, 100], [50, 50, 300, 250]]), predictor.original_size)
    masks, scores, low_res = predictor.predict_torch(None, None, boxes=boxes,
                                                     multimask_output=False)
    assert masks.shape == (2, 1, *data.coffee().shape[:2]) and scores.shape == (2, 1)


def test_bad_images_and_order_are_explained(sam_checkpoint, chelsea):
    predictor = RADIOSamPredictor(radio_sam(sam_checkpoint))
    with pytest.raises(RuntimeError, match='set_image'):
        predictor.predict(box=np.array([0, 0, 10, 10]))
    with pytest.raises(TypeError, match='uint8'):
        predictor.set_image(chelsea / 255.)
    with pytest.raises(ValueError, match=r'\(H, W, 3\)'):
        predictor.set_image(chelsea[..., 0])
    with pytest.raises(ValueError, match='longest side 128'):
        predictor.set_torch_image(torch.zeros(1, 3, 64, 64), (64, 64))


def test_predictor_reproduces_sam_predictor_given_sams_embedding(sam, sam_checkpoint, chelsea):
    ours = RADIOSamPredictor(radio_sam(sam_checkpoint, sam))
    reference = SamPredictor(sam)
    ours.set_image(chelsea)
    reference.set_image(chelsea)
    assert torch.equal(ours.get_image_embedding(), reference.get_image_embedding())
    prompts = [
        dict(point_coords=np.array([[200, 150]]), point_labels=np.array([1])),
        dict(point_coords=np.array([[200, 150], [30, 40]]), point_labels=np.array([1, 0]),
             box=np.array([100, 60, 400, 290]), multimask_output=False),
        dict(box=np.array([10, 20, 440, 280]), multimask_output=False, return_logits=True),
    ]
    _, _, previous = reference.predict(**prompts[0])
    prompts.append(dict(prompts[0], mask_input=previous[:1]))
    for prompt in prompts:
        for got, expected in zip(ours.predict(**prompt), reference.predict(**prompt)):
            assert got.shape == expected.shape and got.dtype == expected.dtype
            assert np.allclose(got, expected, atol=1e-5), prompt


def test_dataset_path_reproduces_sam_predictor(sam, sam_checkpoint, chelsea, tmp_path):
    """mmdet's Resize (PIL, as ResizeLongestSide) + RADIOSAM.predict on ground-truth boxes
    == SamPredictor.predict(box=...) on the original image."""
    model = radio_sam(sam_checkpoint, sam).eval()
    boxes = np.array([[100., 60., 400., 290.], [10., 20., 200., 150.], [0., 0., 451., 300.]])
    pipeline = Compose([
        dict(type='mmdet.Resize', scale=(SIZE, SIZE), keep_ratio=True, backend='pillow',
             interpolation='bilinear'),
        dict(type='mmdet.PackDetInputs'),
    ])
    packed = pipeline(dict(
        img=np.ascontiguousarray(chelsea[..., ::-1]), img_shape=chelsea.shape[:2],
        ori_shape=chelsea.shape[:2], gt_bboxes=boxes.astype(np.float32),
        gt_bboxes_labels=np.zeros(3, dtype=np.int64), gt_ignore_flags=np.zeros(3, bool)))
    batch = model.data_preprocessor(dict(inputs=[packed['inputs']],
                                         data_samples=[packed['data_samples']]))
    with torch.no_grad():
        pred = model.predict(batch['inputs'], batch['data_samples'])[0].pred_instances
    reference = SamPredictor(sam)
    reference.set_image(chelsea)
    assert pred.masks.shape == (3, *chelsea.shape[:2])
    assert torch.allclose(pred.bboxes, torch.from_numpy(boxes).float(), atol=1e-3)
    for box, mask, score in zip(boxes, pred.masks, pred.scores):
        masks, scores, _ = reference.predict(box=box, multimask_output=False)
        assert np.array_equal(mask.numpy(), masks[0])
        assert np.isclose(score.item(), scores[0], atol=1e-5)
