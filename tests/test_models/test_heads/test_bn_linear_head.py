import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import DefaultScope
from mmengine.structures import PixelData
from mmseg.registry import MODELS as MMSEG_MODELS
from mmseg.structures import SegDataSample

from radio_mm.models.heads import BNLinearHead

NUM_CLASSES = 5


@pytest.fixture(autouse=True)
def mmseg_scope():
    # The head builds its loss through mmseg's registry, which follows the default scope;
    # earlier tests in the session may have left another scope current.
    with DefaultScope.overwrite_default_scope('mmseg'):
        yield


def _head(**kwargs):
    cfg = dict(in_channels=[16, 8], in_index=[0, 1], input_transform='resize_concat',
               num_classes=NUM_CLASSES)
    cfg.update(kwargs)
    head = BNLinearHead(**cfg)
    head.init_weights()
    return head


def _maps():
    torch.manual_seed(0)
    return (torch.randn(2, 16, 8, 8), torch.randn(2, 8, 4, 4))


def test_single_map_shapes_and_derived_channels():
    head = BNLinearHead(in_channels=32, num_classes=NUM_CLASSES)
    assert head.channels == 32 and head.bn.num_features == 32
    assert head.dropout is None  # a linear probe has no dropout by default
    logits = head((torch.randn(2, 32, 6, 10), ))
    assert logits.shape == (2, NUM_CLASSES, 6, 10)


def test_resize_concat_is_bn_then_1x1_conv_on_upsampled_maps():
    head = _head().eval()
    with torch.no_grad():
        head.bn.running_mean.uniform_(-1, 1)
        head.bn.running_var.uniform_(0.5, 2)
    x0, x1 = _maps()
    # The smaller map is resized to the first map's grid before concatenation.
    joined = torch.cat([x0, F.interpolate(x1, size=(8, 8), mode='bilinear',
                                          align_corners=False)], dim=1)
    expected = head.conv_seg(F.batch_norm(joined, head.bn.running_mean, head.bn.running_var,
                                          head.bn.weight, head.bn.bias, eps=head.bn.eps))
    logits = head((x0, x1))
    assert head.bn.num_features == 24
    assert logits.shape == (2, NUM_CLASSES, 8, 8)
    torch.testing.assert_close(logits, expected)


def test_loss_and_gradients_reach_bn_and_classifier():
    head = _head().train()
    torch.manual_seed(1)
    samples = []
    for _ in range(2):
        label = torch.randint(0, NUM_CLASSES, (1, 32, 32))
        label[:, :4] = 255  # ignored pixels
        samples.append(SegDataSample(gt_sem_seg=PixelData(data=label)))
    losses = head.loss(_maps(), samples, train_cfg=dict())
    assert set(losses) == {'loss_ce', 'acc_seg'}
    # Near-uniform logits at init: the loss is close to log(num_classes).
    assert abs(losses['loss_ce'].item() - torch.log(torch.tensor(NUM_CLASSES)).item()) < 0.5
    losses['loss_ce'].backward()
    for param in (head.bn.weight, head.bn.bias, head.conv_seg.weight, head.conv_seg.bias):
        assert param.grad is not None and param.grad.abs().sum() > 0


def test_predict_resizes_to_the_padded_input():
    head = _head().eval()
    metas = [dict(img_shape=(30, 30), pad_shape=(32, 32))] * 2
    logits = head.predict(_maps(), metas, test_cfg=dict())
    assert logits.shape == (2, NUM_CLASSES, 32, 32)


def test_loads_dinov2_bnhead_weights():
    # Key names of DINOv2's (and NVlabs/RADIO's) BNHead: a SyncBatchNorm `bn`, `conv_seg`.
    official = {
        'bn.weight': torch.full((24, ), 2.0), 'bn.bias': torch.zeros(24),
        'bn.running_mean': torch.zeros(24), 'bn.running_var': torch.ones(24),
        'bn.num_batches_tracked': torch.tensor(7),
        'conv_seg.weight': torch.full((NUM_CLASSES, 24, 1, 1), 0.5),
        'conv_seg.bias': torch.zeros(NUM_CLASSES),
    }
    head = _head()
    head.load_state_dict(official, strict=True)
    assert torch.all(head.bn.weight == 2.0) and torch.all(head.conv_seg.weight == 0.5)


def test_channels_that_are_not_the_input_width_are_refused():
    with pytest.raises(ValueError, match='channels .* must equal the input channels'):
        BNLinearHead(in_channels=[16, 8], channels=16, in_index=[0, 1],
                     input_transform='resize_concat', num_classes=NUM_CLASSES)
    with pytest.raises(ValueError, match="resize_concat"):
        BNLinearHead(in_channels=[16, 8], in_index=[0, 1], input_transform='multiple_select',
                     num_classes=NUM_CLASSES)


def test_built_by_scoped_name_in_mmseg_scope():
    head = MMSEG_MODELS.build(dict(type='radio_mm.BNLinearHead', in_channels=[16], in_index=[0],
                                   input_transform='resize_concat', num_classes=3,
                                   norm_cfg=dict(type='SyncBN', requires_grad=True)))
    assert isinstance(head, BNLinearHead)
    assert isinstance(head.bn, torch.nn.SyncBatchNorm)
