import torch
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmengine.registry import MODELS as ROOT_MODELS
from mmengine.registry import DefaultScope

from radio_mm.models.utils import LN2d


def test_ln2d_normalizes_each_pixel_over_channels():
    torch.manual_seed(0)
    norm = LN2d(8)
    norm.weight.data.uniform_(0.5, 1.5)
    norm.bias.data.normal_()
    x = torch.randn(2, 8, 5, 7) * 3 + 1
    expected = F.layer_norm(x.permute(0, 2, 3, 1), (8, ), norm.weight, norm.bias, 1e-6)
    torch.testing.assert_close(norm(x), expected.permute(0, 3, 1, 2))
    # The ViTDet project's formula: biased variance over dim 1.
    mean = x.mean(1, keepdim=True)
    var = (x - mean).pow(2).mean(1, keepdim=True)
    manual = norm.weight[:, None, None] * (x - mean) / torch.sqrt(var + 1e-6) + \
        norm.bias[:, None, None]
    torch.testing.assert_close(norm(x), manual, rtol=1e-4, atol=1e-5)
    assert norm.eps == 1e-6 and norm.weight.shape == (8, )


def test_ln2d_resolves_in_each_scope_without_collision():
    import mmdet.utils
    import mmpretrain.utils
    import mmseg.utils
    from mmpretrain.registry import MODELS as PRETRAIN_MODELS

    for toolbox in (mmdet, mmpretrain, mmseg):
        toolbox.utils.register_all_modules(init_default_scope=False)
    # Ours is radio_mm's only (not the root's); mmpretrain keeps its own in its scope.
    assert ROOT_MODELS.get('LN2d') is not LN2d
    assert PRETRAIN_MODELS.module_dict['LN2d'] is not LN2d
    for scope, name in [('mmdet', 'radio_mm.LN2d'), ('mmseg', 'radio_mm.LN2d'),
                        ('mmpretrain', 'radio_mm.LN2d'), ('radio_mm', 'LN2d')]:
        with DefaultScope.overwrite_default_scope(scope):
            name, layer = build_norm_layer(dict(type=name, requires_grad=False), 16)
        assert type(layer) is LN2d, scope
        # mmcv's default eps, and the project's layer name (checkpoint keys).
        assert name == 'norm_layer' and layer.eps == 1e-5
        assert not layer.weight.requires_grad
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        _, layer = build_norm_layer(dict(type='LN2d'), 16)
    assert type(layer) is PRETRAIN_MODELS.module_dict['LN2d']
