"""What every teacher promises the distiller: shapes, freezing, checkpoints, errors, dtypes."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

from radio_mm.models.teachers import TeacherOutput
from radio_mm.registry import MODELS

KINDS = ['clip', 'dino_v2', 'sam', 'siglip2', 'dino_v3', 'sam2']
# (summary (B, C) or None, features (B, C, h, w)) for the batch of two photos
EXPECTED_SHAPES = {
    'clip': ((2, 32), (2, 64, 4, 4)),
    'dino_v2': ((2, 64), (2, 64, 4, 4)),
    'sam': (None, (2, 256, 8, 8)),
    'siglip2': ((2, 64), (2, 64, 4, 4)),
    'dino_v3': ((2, 64), (2, 64, 4, 4)),
    'sam2': (None, (2, 64, 4, 4)),  # Hiera's last stage (before the neck)
}


def _save_encoder(teacher, path):
    state = {k: v.contiguous() for k, v in teacher.encoder.state_dict().items()}
    if str(path).endswith('.safetensors'):
        save_file(state, str(path))
    else:
        torch.save(state, path)
    return str(path)


@pytest.mark.parametrize('kind', KINDS)
def test_outputs_match_the_declared_geometry(kind, make_teacher, photos):
    teacher = make_teacher(kind)
    out = teacher(photos)
    summary_shape, feature_shape = EXPECTED_SHAPES[kind]
    assert isinstance(out, TeacherOutput)
    assert out.features.shape == feature_shape
    assert out.features.shape[1:] == (teacher.feature_dim, *teacher.feature_hw)
    assert out.features.dtype == torch.float32 and torch.isfinite(out.features).all()
    if summary_shape is None:
        assert out.summary is None and teacher.summary_dim is None
    else:
        assert out.summary.shape == summary_shape == (2, teacher.summary_dim)
    assert teacher.preprocess(photos).shape == (2, 3, *teacher.input_size)


@pytest.mark.parametrize('kind', KINDS)
def test_teacher_stays_frozen_and_in_eval(kind, make_teacher, photos):
    teacher = make_teacher(kind)
    before = teacher(photos).features
    assert not any(p.requires_grad for p in teacher.parameters())
    parent = nn.ModuleDict(dict(teacher=teacher, student=nn.Linear(2, 2)))
    parent.train()  # what the runner does to the whole distiller every epoch
    assert parent['student'].training
    assert not any(m.training for m in teacher.modules())
    out = teacher(photos.clone().requires_grad_())
    assert out.features.grad_fn is None
    teacher.init_weights()  # the runner calls this after building; it must not redraw weights
    assert torch.equal(teacher(photos).features, before)


@pytest.mark.parametrize('suffix', ['.pth', '.safetensors'])
@pytest.mark.parametrize('kind', KINDS)
def test_checkpoint_of_same_config_reproduces_outputs(kind, suffix, make_teacher, photos,
                                                      tmp_path):
    source = make_teacher(kind)
    with torch.no_grad():  # weights that no random initialization reproduces
        for param in source.encoder.parameters():
            param.add_(0.05 * torch.randn_like(param))
    path = _save_encoder(source, tmp_path / f'teacher{suffix}')
    other = make_teacher(kind)
    loaded = make_teacher(kind, pretrained=path)
    expected = source(photos)
    assert not torch.allclose(other(photos).features, expected.features)
    assert torch.equal(loaded(photos).features, expected.features)
    if expected.summary is not None:
        assert torch.equal(loaded(photos).summary, expected.summary)


@pytest.mark.parametrize('kind', KINDS)
def test_missing_checkpoint_names_file_teacher_and_remedy(kind, make_teacher, tmp_path):
    path = str(tmp_path / 'not_downloaded.pth')
    with pytest.raises(FileNotFoundError) as err:
        make_teacher(kind, pretrained=path)
    message = str(err.value)
    assert path in message and f"'{kind}'" in message and 'Teacher' in message
    assert 'tools/fetch_teachers.py' in message


@pytest.mark.parametrize('kind', KINDS)
def test_unrelated_checkpoint_is_rejected(kind, make_teacher, tmp_path):
    path = str(tmp_path / 'resnet.pth')
    torch.save({'conv1.weight': torch.zeros(8, 3, 7, 7), 'fc.bias': torch.zeros(10)}, path)
    with pytest.raises(RuntimeError, match='not a checkpoint of this architecture') as err:
        make_teacher(kind, pretrained=path)
    assert path in str(err.value) and 'weights missing' in str(err.value)


@pytest.mark.parametrize('kind', KINDS)
def test_checkpoint_of_another_size_is_rejected(kind, make_teacher, tmp_path):
    wider = {'clip': dict(model_cfg=dict(embed_dim=32, vision_cfg=dict(
        image_size=64, patch_size=16, width=96, layers=2, head_width=32))),
             'dino_v2': dict(arch_kwargs=dict(embed_dim=96, depth=2, num_heads=2)),
             'sam': dict(arch=dict(embed_dim=96, depth=2, num_heads=2, global_attn_indexes=(1, ),
                                   window_size=4)),
             'siglip2': dict(trunk_kwargs=dict(embed_dim=96, depth=2, num_heads=2, img_size=64)),
             'dino_v3': dict(arch_kwargs=dict(embed_dim=96, depth=2, num_heads=2)),
             'sam2': dict(encoder_overrides=dict(
                 trunk=dict(embed_dim=8, num_heads=1, stages=[1, 1, 2, 1], global_att_blocks=[3],
                            window_spec=[4, 4, 4, 2], window_pos_embed_bkg_spatial_size=[2, 2]),
                 neck=dict(d_model=32, backbone_channel_list=[64, 32, 16, 8],
                           position_encoding=dict(num_pos_feats=32))))}[kind]
    path = _save_encoder(make_teacher(kind, **wider), tmp_path / 'wider.pth')
    with pytest.raises(RuntimeError, match='different configuration') as err:
        make_teacher(kind, pretrained=path)
    assert path in str(err.value) and 'size mismatch' in str(err.value)


def test_unreadable_checkpoint_is_rejected(make_teacher, tmp_path):
    path = tmp_path / 'index.html'
    path.write_text('<html>404 Not Found</html>')
    with pytest.raises(RuntimeError, match='cannot be read as a checkpoint') as err:
        make_teacher('sam', pretrained=str(path))
    assert str(path) in str(err.value)


@pytest.mark.parametrize('kind', KINDS)
def test_random_weights_warn(kind, tiny_cfgs):
    with pytest.warns(UserWarning, match='random weights'):
        MODELS.build(tiny_cfgs[kind])


@pytest.mark.parametrize('kind', KINDS)
def test_bf16_autocast_returns_float32_close_to_fp32(kind, make_teacher, photos, tmp_path):
    fp32 = make_teacher(kind)
    bf16 = make_teacher(kind, dtype='bf16', pretrained=_save_encoder(fp32, tmp_path / 'w.pth'))
    exact, approx = fp32(photos), bf16(photos)
    assert approx.features.dtype == torch.float32
    similarity = F.cosine_similarity(approx.features.flatten(1), exact.features.flatten(1))
    assert (similarity > 0.98).all()
    assert not torch.equal(approx.features, exact.features)  # autocast did run in bf16


@pytest.mark.parametrize('kind', ['clip', 'dino_v2', 'siglip2', 'dino_v3', 'sam2'])
def test_preprocess_stretches_to_input_size_and_normalizes_on_unit_scale(kind, make_teacher):
    teacher = make_teacher(kind)
    gray = torch.full((1, 3, 30, 90), 0.5)
    x = teacher.preprocess(gray)
    expected = (0.5 - torch.tensor(teacher.mean)) / torch.tensor(teacher.std)
    assert x.shape == (1, 3, *teacher.input_size)
    assert torch.allclose(x, expected.view(1, 3, 1, 1).expand_as(x), atol=1e-5)


def test_bad_images_are_rejected_with_the_fix(make_teacher, photos):
    teacher = make_teacher('clip')
    with pytest.raises(TypeError, match='/ 255'):
        teacher((photos * 255).to(torch.uint8))
    with pytest.raises(ValueError, match=r'in \[0, 1\]'):
        teacher(photos * 255)
    with pytest.raises(ValueError, match=r'\(B, 3, H, W\)'):
        teacher(photos[:, :1])


def test_unknown_dtype_is_rejected(make_teacher):
    with pytest.raises(ValueError, match='bf16'):
        make_teacher('dino_v2', dtype='int8')


@pytest.mark.parametrize('kind', KINDS)
def test_random_weights_are_the_same_in_every_build(kind, make_teacher, photos):
    """A teacher without a checkpoint is drawn from its name: tools that rebuild the demo's
    teachers from its config compare the student with the teachers it learned from."""
    torch.manual_seed(1)
    first = make_teacher(kind)
    after_first = torch.rand(1)
    torch.manual_seed(2)
    second = make_teacher(kind)
    renamed = make_teacher(kind, name='other')
    assert torch.equal(first(photos).features, second(photos).features)
    assert not torch.allclose(renamed(photos).features, first(photos).features)
    torch.manual_seed(1)
    assert torch.equal(torch.rand(1), after_first)  # the global RNG stream is left alone
