"""RADIOSAM at toy sizes: SAM-style padding, the image embedding, losses, freezing, weights."""
import copy
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmdet.structures import DetDataSample
from mmdet.structures.bbox import HorizontalBoxes
from mmdet.structures.mask import BitmapMasks, PolygonMasks
from mmengine.runner.checkpoint import load_checkpoint
from mmengine.structures import InstanceData
from skimage import data
from tiny_models import tiny_vit

from radio_mm.models.sam import RADIOSAM, build_sam_decoder

RADIO = dict(
    type='RADIOModel',
    backbone=tiny_vit(cpe_max_size=256, num_summary_tokens=1),
    adaptors=dict(sam=dict(in_dims=32, feature_dims=32, hidden_dims=32)))
DECODER = dict(embed_dim=32, transformer_mlp_dim=64, transformer_num_heads=2,
               iou_head_hidden_dim=32)
SIZE = 128  # input side: an 8 x 8 embedding, 32 x 32 low-resolution logits


def build(radio=RADIO, **kwargs):
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)  # random SAM decoder
        kwargs['decoder'] = dict(DECODER, **kwargs.get('decoder', {}))
        return RADIOSAM(**dict(dict(radio=copy.deepcopy(radio), image_size=SIZE), **kwargs))


@pytest.fixture(scope='module')
def chelsea():
    """The cat photo (300 x 451) resized as SAM does: (1, 3, 85, 128) RGB in [0, 1]."""
    image = torch.from_numpy(data.chelsea()).permute(2, 0, 1)[None].float() / 255
    return F.interpolate(image, (85, 128), mode='bilinear', antialias=True).clamp(0, 1)


def sample(ori_shape, img_shape, boxes, masks):
    """A DetDataSample as mmdet's Resize + PackDetInputs leave it (no Pad)."""
    (ori_h, ori_w), (h, w) = ori_shape, img_shape
    result = DetDataSample(metainfo=dict(ori_shape=ori_shape, img_shape=img_shape,
                                         scale_factor=(w / ori_w, h / ori_h)))
    result.gt_instances = InstanceData(
        bboxes=HorizontalBoxes(torch.tensor(boxes, dtype=torch.float32).view(-1, 4)),
        labels=torch.zeros(len(boxes), dtype=torch.long), masks=masks)
    return result


def box_masks(boxes, hw):
    """Filled boxes as BitmapMasks (N, h, w)."""
    masks = np.zeros((len(boxes), *hw), dtype=np.uint8)
    for mask, (x0, y0, x1, y1) in zip(masks, boxes):
        mask[y0:y1, x0:x1] = 1
    return BitmapMasks(masks, *hw)


def test_padding_is_radios_mean_colour_so_zero_after_normalization(chelsea):
    model = build()
    batch = F.pad(chelsea, (0, 0, 0, 20), value=0.7)  # stacked with a taller image
    padded = model.pad_to_input(batch, [(85, 128)])
    assert padded.shape == (1, 3, SIZE, SIZE)
    assert torch.equal(padded[..., :85, :], chelsea)
    normalized = model.radio.input_conditioner(padded)
    assert normalized[..., 85:, :].abs().max() < 1e-6  # as Sam.preprocess pads
    assert normalized[..., :85, :].abs().amin(dim=(0, 1, 3)).min() > 0
    with pytest.raises(ValueError, match='must fit'):
        model.pad_to_input(batch, [(85, 200)])


def test_embedding_is_the_sam_adaptor_map_of_the_padded_image(chelsea):
    model = build().eval()
    embedding = model.image_embedding(chelsea, [(85, 128)])
    assert embedding.shape == (1, 32, 8, 8)
    expected = model.radio(model.pad_to_input(chelsea, [(85, 128)]), feature_fmt='NCHW')['sam']
    assert torch.equal(embedding, expected.features)
    assert not embedding.requires_grad  # frozen RADIO runs without autograd


def test_upsampling_adaptor_is_pooled_to_sams_grid(chelsea):
    radio = copy.deepcopy(RADIO)
    radio['adaptors']['sam']['upsample_factor'] = 2
    model = build(radio).eval()
    fine = model.radio(model.pad_to_input(chelsea, [(85, 128)]), feature_fmt='NCHW')['sam']
    assert fine.features.shape[-1] == 16
    embedding = model.image_embedding(chelsea, [(85, 128)])
    assert torch.allclose(embedding, F.avg_pool2d(fine.features, 2))


def test_geometry_mismatches_are_refused():
    no_sam = dict(copy.deepcopy(RADIO), adaptors=dict(clip=RADIO['adaptors']['sam']))
    with pytest.raises(KeyError, match="adaptor_names=\\['sam'\\]"):
        build(no_sam)
    with pytest.raises(ValueError, match='decoder.embed_dim'):
        build(decoder=dict(embed_dim=64))
    with pytest.raises(ValueError, match='multiple of 16'):
        build(image_size=120)


def _sam_checkpoint(tmp_path, parts=('image_encoder', 'prompt_encoder', 'mask_decoder'),
                    decoder=DECODER):
    """A segment_anything-layout checkpoint: the tiny decoder plus an image-encoder key."""
    torch.manual_seed(1)
    prompt_encoder, mask_decoder = build_sam_decoder(SIZE, SIZE // 16, **decoder)
    state = {'image_encoder.neck.0.weight': torch.randn(32, 8, 1, 1)}
    for name, module in (('prompt_encoder', prompt_encoder), ('mask_decoder', mask_decoder)):
        if name in parts:
            state.update({f'{name}.{k}': v for k, v in module.state_dict().items()})
    path = tmp_path / f'sam_{len(parts)}_{decoder["embed_dim"]}.pth'
    torch.save(state, path)
    return str(path), state


def test_sam_pretrained_loads_the_decoder_and_explains_bad_files(tmp_path):
    path, state = _sam_checkpoint(tmp_path)
    model = build(sam_pretrained=path)
    loaded = model.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in state.items() if 'image_encoder' not in k)
    with pytest.warns(UserWarning, match='random weights'):
        RADIOSAM(radio=copy.deepcopy(RADIO), image_size=SIZE, decoder=DECODER)
    with pytest.raises(FileNotFoundError, match='sam_vit_h_4b8939.pth'):
        build(sam_pretrained=str(tmp_path / 'missing.pth'))
    encoder_only, _ = _sam_checkpoint(tmp_path, parts=('image_encoder', ))
    with pytest.raises(KeyError, match='not a full SAM checkpoint'):
        build(sam_pretrained=encoder_only)
    wider, _ = _sam_checkpoint(tmp_path, decoder=dict(DECODER, embed_dim=64))
    with pytest.raises(RuntimeError, match='does not fit the configured one'):
        build(sam_pretrained=wider)


def test_loss_trains_only_the_mask_decoder(chelsea):
    model = build().train()
    assert not model.radio.training and not model.prompt_encoder.training
    assert model.mask_decoder.training
    boxes = [[10, 5, 60, 40], [50, 30, 120, 84]]
    polygon = [[np.array([10., 5., 60., 5., 60., 40., 10., 40.])],
               [np.array([50., 30., 120., 30., 120., 84., 50., 84.])]]
    samples = [sample((300, 451), (85, 128), boxes, box_masks(boxes, (85, 128))),
               sample((300, 451), (85, 128), boxes, PolygonMasks(polygon, 85, 128)),
               sample((300, 451), (85, 128), [], box_masks([], (85, 128)))]
    losses = model.loss(chelsea.expand(3, -1, -1, -1), samples)
    assert set(losses) == {'loss_mask', 'loss_dice', 'loss_iou'}
    assert all(torch.isfinite(v) and v > 0 for v in losses.values())
    sum(losses.values()).backward()
    grads = {name for name, p in model.named_parameters() if p.grad is not None}
    assert grads and all(name.startswith('mask_decoder.') for name in grads)
    assert not any(p.requires_grad for p in model.radio.parameters())
    assert not any(p.requires_grad for p in model.prompt_encoder.parameters())


def test_mask_targets_cover_the_padded_input():
    model = build()
    targets = model.mask_targets(box_masks([[0, 0, 128, 64]], (64, 128)), (64, 128), (32, 32))
    assert targets.shape == (1, 32, 32)
    assert torch.all(targets[:, :16] == 1) and torch.all(targets[:, 16:] == 0)
    # Each cell averages 4 x 4 input pixels: a 2 x 2 object covers a quarter of one.
    quarter = model.mask_targets(box_masks([[0, 0, 2, 2]], (64, 128)), (64, 128), (32, 32))
    assert quarter[0, 0, 0] == 0.25 and quarter.sum() == 0.25


def test_nothing_to_train_is_an_error(chelsea):
    model = build(freeze_mask_decoder=True)
    boxes = [[10, 5, 60, 40]]
    with pytest.raises(RuntimeError, match='freeze_mask_decoder=False'):
        model.loss(chelsea, [sample((300, 451), (85, 128), boxes, box_masks(boxes, (85, 128)))])


def test_predict_gives_one_mask_per_box_at_the_original_size(chelsea):
    model = build().eval()
    boxes = [[10, 5, 60, 40], [50, 30, 120, 84]]
    samples = [sample((300, 451), (85, 128), boxes, box_masks(boxes, (85, 128))),
               sample((300, 451), (85, 128), [], box_masks([], (85, 128)))]
    with torch.no_grad():
        out = model.predict(chelsea.expand(2, -1, -1, -1), samples)
    pred = out[0].pred_instances
    assert pred.masks.shape == (2, 300, 451) and pred.masks.dtype == torch.bool
    assert pred.scores.shape == (2, )
    scale = torch.tensor([451 / 128, 300 / 85] * 2)
    assert torch.allclose(pred.bboxes, torch.tensor(boxes, dtype=torch.float32) * scale)
    assert out[1].pred_instances.masks.shape == (0, 300, 451)
    # Multimask: the best of the three outputs by predicted IoU.
    model.multimask_output = True
    with torch.no_grad():
        best = model.predict(chelsea, samples[:1])[0].pred_instances
        _, ious = model.decode(model.image_embedding(chelsea, [(85, 128)]),
                               boxes=torch.tensor(boxes, dtype=torch.float32),
                               multimask_output=True)
    assert torch.equal(best.scores, ious.max(dim=1).values)


def test_padded_pipelines_are_refused(chelsea):
    model = build().eval()
    padded = sample((300, 451), (128, 128), [[0, 0, 5, 5]], box_masks([[0, 0, 5, 5]], (128, 128)))
    padded.set_metainfo(dict(scale_factor=(128 / 451, 85 / 300)))
    with pytest.raises(ValueError, match='remove Pad'):
        model.predict(F.pad(chelsea, (0, 0, 0, 43)), [padded])


def test_checkpoints_must_hold_every_weight(tmp_path):
    model = build()
    full = model.state_dict()
    other = build()
    other.load_state_dict(full)
    assert all(torch.equal(v, other.state_dict()[k]) for k, v in full.items())
    # mmengine's Runner loads non-strictly; a RADIO-only file would leave the decoder random.
    radio_only = tmp_path / 'radio_only.pth'
    torch.save(dict(state_dict={k: v for k, v in full.items() if k.startswith('radio.')}),
               radio_only)
    with pytest.raises(RuntimeError, match='make_radio_sam.py'):
        load_checkpoint(other, str(radio_only), strict=False)
    wider = build(radio=dict(copy.deepcopy(RADIO), backbone=dict(
        RADIO['backbone'], arch=dict(embed_dims=64, num_layers=2, num_heads=2))))
    with pytest.raises(RuntimeError, match='of another shape'):
        wider.load_state_dict(full, strict=False)
