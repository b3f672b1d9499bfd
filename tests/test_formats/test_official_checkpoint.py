"""Every release family loads through radio_model() and gives the official outputs.

Checkpoints come from `release_checkpoints.py` (real student architectures at tiny sizes, in
the release key layout); the reference is computed there from the timm blocks and plain
maths, without radio_mm.
"""
import pytest
import torch
from release_checkpoints import FAMILIES, build_release, reference_forward, reference_tokens

from radio_mm.apis import radio_model
from radio_mm.formats.radio_checkpoint import read_radio_checkpoint
from radio_mm.registry import MODELS


def assert_close(ours, theirs):
    assert ours.shape == theirs.shape
    assert ((ours - theirs).abs().max() / theirs.abs().max()).item() <= 1e-4


@pytest.fixture(scope='module')
def images():
    return torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))


def save_release(tmp_path, family):
    release, student = build_release(family)
    path = tmp_path / f'{family}.pth.tar'
    torch.save(release, path)
    return str(path), release, student


@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_release_family_matches_reference(tmp_path, family, images):
    path, release, student = save_release(tmp_path, family)
    names = [t['name'] for t in release['args'].teachers]
    model = radio_model(path, adaptor_names=names)
    patch = model.patch_size
    x = images if patch == 16 else torch.nn.functional.interpolate(images, size=4 * patch)
    with torch.no_grad():
        ours = model(x)
        reference = reference_forward(release, student, x, names)
    assert set(ours) == {'backbone', *names}
    for name, (summary, features) in reference.items():
        if summary is not None:
            assert_close(ours[name].summary, summary)
        assert_close(ours[name].features, features)

    # The backbone of an mm config loads the same release through init_cfg.
    backbone = MODELS.build(dict(_backbone_cfg(release),
                                 init_cfg=dict(type='Pretrained', checkpoint=path)))
    backbone.init_weights()
    for key, value in model.backbone.state_dict().items():
        assert torch.equal(backbone.state_dict()[key], value), key


def _backbone_cfg(release):
    from radio_mm.formats.official_checkpoint import backbone_cfg_from_checkpoint
    return backbone_cfg_from_checkpoint(release['args'], release['state_dict'])


def test_family_options_are_read_from_the_weights():
    cfg = {family: _backbone_cfg(build_release(family)[0]) for family in
           ('radio_v1', 'c-radio_v3-b', 'c-radio_v4-so400m', 'mlpnorm-h', 'radio_v2.5-h-norm')}
    assert cfg['radio_v1']['patch_size'] == 14 and cfg['radio_v1']['num_registers'] == 0
    assert cfg['c-radio_v3-b']['init_values'] is not None  # LayerScale
    assert cfg['c-radio_v3-b']['num_registers'] == 5  # register_multiple=8 over 3 teachers
    so400m = cfg['c-radio_v4-so400m']['arch']
    assert int(so400m['embed_dims'] * so400m['mlp_ratio']) == int(48 * 4304 / 1152)
    assert cfg['mlpnorm-h']['mlp_norm'] and not cfg['c-radio_v3-b']['mlp_norm']
    assert cfg['radio_v2.5-h-norm']['final_norm']


def test_unknown_release_keys_raise(tmp_path):
    release, _ = build_release('radio_v2.5-b')
    release['state_dict']['_summary_whitener.weight'] = torch.zeros(3)
    path = tmp_path / 'odd.pth.tar'
    torch.save(release, path)
    with pytest.raises(KeyError, match='_summary_whitener.weight'):
        radio_model(str(path))
    # An unknown student weight is named too (not dropped by the load).
    release['state_dict'].pop('_summary_whitener.weight')
    release['state_dict']['base_model.blocks.0.attn.q_norm.weight'] = torch.ones(16)
    torch.save(release, path)
    with pytest.raises(KeyError, match='q_norm'):
        radio_model(str(path))


def test_feature_normalizer_is_applied_not_dropped(tmp_path, images):
    """The v2.5 failure of the issue: features must be whitened, adaptors read them so."""
    path, release, student = save_release(tmp_path, 'radio_v2.5-b')
    model = radio_model(path)
    with torch.no_grad():
        features = model(images).features
        raw = reference_tokens(release, student, images)[-1][:, 8:]
    assert not torch.allclose(features, raw, rtol=0.1)
    state = release['state_dict']
    assert_close(features, (raw - state['_feature_normalizer.mean']) @
                 state['_feature_normalizer.tx'].T)


def reference_intermediates(release, student, images, indices, aggregation, scheme):
    """forward_intermediates written out from radio/forward_intermediates.py's definition."""
    state = release['state_dict']
    blocks = reference_tokens(release, student, images)
    num_prefix = state['base_model.patch_generator.cls_token.token'].shape[0]
    alphas = state['_intermediate_feature_normalizer.alphas']
    means = state['_intermediate_feature_normalizer.means']
    rotation = state['_intermediate_feature_normalizer.rotation']

    def whiten(i, rot):
        patches = blocks[i][:, num_prefix:]
        if scheme == 'none':
            return patches, 1.0
        return (patches - means[i]) @ rotation[rot].T, alphas[i]

    outputs, start = [], 0
    for take in indices:
        if aggregation == 'sparse':
            y, alpha = whiten(take, take)
            patches = alpha * y
        else:
            group = [whiten(i, take) for i in range(start, take + 1)]
            if scheme == 'post-alpha':
                patches = (sum(a for _, a in group) / len(group)) * \
                    sum(y for y, _ in group) / len(group)
            else:
                patches = sum(a * y for y, a in group) / len(group)
            start = take + 1
        outputs.append(patches)
    return outputs


@pytest.mark.parametrize('aggregation,scheme', [('sparse', 'post-alpha'), ('dense', 'post-alpha'),
                                                ('dense', 'pre-alpha'), ('sparse', 'none')])
def test_forward_intermediates_match_reference(tmp_path, images, aggregation, scheme):
    path, release, student = save_release(tmp_path, 'c-radio_v3-b')
    model = radio_model(path)
    with torch.no_grad():
        final, ours = model.forward_intermediates(
            images, indices=[0, -1], output_fmt='NLC', aggregation=aggregation,
            norm_alpha_scheme=scheme, return_prefix_tokens=True)
        reference = reference_intermediates(release, student, images, [0, 2], aggregation,
                                            scheme)
        plain = model(images)
    assert len(ours) == 2
    for out, ref in zip(ours, reference):
        assert_close(out.features, ref)
    # Summary: the summary teachers' tokens of that block (clip, dino_v2; not sam).
    tokens = reference_tokens(release, student, images)[0]
    assert_close(ours[0].summary, tokens[:, [0, 1]].flatten(1))
    assert_close(final.features, plain.features)
    assert_close(final.summary, plain.summary)


def test_forward_intermediates_formats_and_errors(tmp_path, images):
    path, _, _ = save_release(tmp_path, 'radio_v2.1')
    model = radio_model(path, adaptor_names='clip')
    with torch.no_grad():
        maps = model.forward_intermediates(images, indices=2, intermediates_only=True)
        final, _ = model.forward_intermediates(images, indices=1, stop_early=True)
    assert [m.shape for m in maps] == [(2, 32, 4, 4)] * 2
    assert set(final) == {'backbone', 'clip'} and final['backbone'].features.dim() == 4
    with pytest.raises(ValueError, match='aggregation'):
        model.forward_intermediates(images, aggregation='mean')
    with pytest.raises(ValueError, match='out of range'):
        model.forward_intermediates(images, indices=[5])


def test_converted_release_keeps_normalizers_and_v1_heads(tmp_path, images):
    """radio2mm's conversion of a release loads back with the same outputs."""
    for family in ('c-radio_v3-b', 'radio_v1'):
        path, release, _ = save_release(tmp_path, family)
        converted = read_radio_checkpoint(path).to_checkpoint()
        assert converted['meta']['unused_release_keys'] == (
            ['base_model.reg_token'] if family == 'c-radio_v3-b' else [])
        torch.save(converted, tmp_path / 'converted.pth')
        names = [t['name'] for t in release['args'].teachers]
        x = images if family == 'c-radio_v3-b' else torch.rand(1, 3, 56, 56)
        with torch.no_grad():
            ours = radio_model(str(tmp_path / 'converted.pth'), adaptor_names=names)(x)
            official = radio_model(path, adaptor_names=names)(x)
        for name in official:
            assert torch.equal(ours[name].features, official[name].features)


def test_forward_intermediates_refuses_eradio():
    from radio_mm.models import RADIOModel
    model = RADIOModel(backbone=dict(type='ERADIO', arch='xxxtiny')).eval()
    with pytest.raises(NotImplementedError, match='ViT student'):
        model.forward_intermediates(torch.rand(1, 3, 64, 64))


def test_attention_head_release_loads_and_equals_reference(tmp_path, images):
    """C-RADIOv4 (`spatial_mlp_version='attn'`): used to refuse the whole file."""
    path, release, student = save_release(tmp_path, 'c-radio_v4-h')
    model = radio_model(path, adaptor_names=['siglip2-g', 'sam3'])
    assert type(model.adaptors['sam3'].feature_mlp).__name__ == 'AttnFDHead'
    with torch.no_grad():
        ours = model(images)
        nchw = model(images, feature_fmt='NCHW')
    reference = reference_forward(release, student, images, ['siglip2-g', 'sam3'])
    for name in ('siglip2-g', 'sam3'):
        assert_close(ours[name].features, reference[name][1])
        assert_close(ours[name].summary, reference[name][0])
    assert nchw['sam3'].features.shape == (2, 32, 8, 8)  # fd_upsample_factor=2


def test_backbone_loads_whatever_the_heads(tmp_path, images):
    """A head radio_mm cannot build leaves the student loadable; asking for it names it."""
    release, student = build_release('c-radio_v4-h')
    state = release['state_dict']
    for key in [k for k in state if k.startswith('_feature_projections.1.')]:
        state[key.replace('.1.', '.1.future_head.', 1)] = state.pop(key)
    path = tmp_path / 'future.pth.tar'
    torch.save(release, path)
    model = radio_model(str(path), adaptor_names=[])
    with torch.no_grad():
        assert_close(model(images).features, reference_forward(release, student, images)[
            'backbone'][1])
    assert set(radio_model(str(path), adaptor_names=['sam3']).adaptors) == {'sam3'}
    with pytest.raises(ValueError, match="cannot build adaptor 'dino_v3'"):
        radio_model(str(path), adaptor_names=['dino_v3'])
    backbone = MODELS.build(dict(_backbone_cfg(release),
                                 init_cfg=dict(type='Pretrained', checkpoint=str(path))))
    backbone.init_weights()
    for key, value in model.backbone.state_dict().items():
        assert torch.equal(backbone.state_dict()[key], value), key
    # A release that declares attention heads but holds MLP weights is refused, by name.
    release, _ = build_release('radio_v2.5-b')
    release['args'].teachers[0] = dict(release['args'].teachers[0], spatial_mlp_version='attn')
    torch.save(release, path)
    with pytest.raises(ValueError, match="declares a 'attn' feature head"):
        radio_model(str(path), adaptor_names=['clip'])


def test_mm_backbone_applies_the_release_normalizers(tmp_path, images):
    """The official downstream path whitens (mmseg/radio.py runs the hub model); used to be
    1.31 off. Last block: radio_model()'s features; others: forward_intermediates'."""
    from radio_mm.apis.student_configs import student_configs
    path, release, _ = save_release(tmp_path, 'c-radio_v4-h')
    model = radio_model(path)
    with torch.no_grad():
        final = model(images, feature_fmt='NCHW').features
        block1 = model.forward_intermediates(images, indices=[1], intermediates_only=True)[0]
        conditioned = model.input_conditioner(images)  # an mm data_preprocessor's job
    printed = student_configs(read_radio_checkpoint(path).model_cfg, path)['backbone']
    assert printed['feature_normalizer'] is True
    auto = dict(_backbone_cfg(release), init_cfg=dict(type='Pretrained', checkpoint=path))
    for cfg in (printed, auto):
        backbone = MODELS.build(dict(cfg, out_indices=(1, 2))).eval()
        backbone.init_weights()
        with torch.no_grad():
            maps = backbone(conditioned)
        assert_close(maps[1], final)
        assert_close(maps[0], block1)
    # load_from of a whole trained model (no Pretrained init) brings them along too.
    trained = {f'backbone.{k}': v for k, v in backbone.state_dict().items()}
    fresh = MODELS.build(dict(_backbone_cfg(release), out_indices=(1, 2))).eval()
    from mmengine.runner.checkpoint import _load_checkpoint_to_model
    _load_checkpoint_to_model(torch.nn.ModuleDict(dict(backbone=fresh)), trained, strict=True)
    with torch.no_grad():
        assert_close(fresh(conditioned)[1], final)
    # feature_normalizer=False: the raw features, not silently.
    raw = MODELS.build(dict(auto, out_indices=(2, ), feature_normalizer=False,
                            intermediate_normalizer=False)).eval()
    raw.init_weights()
    with torch.no_grad():
        assert not torch.allclose(raw(conditioned)[0], final, rtol=0.1)
    with pytest.raises(RuntimeError, match='feature_normalizer'):
        strict = MODELS.build(dict(_backbone_cfg(release), feature_normalizer=True,
                                   init_cfg=dict(type='Pretrained', checkpoint=path)))
        release['state_dict'] = {k: v for k, v in release['state_dict'].items()
                                 if not k.startswith('_feature_normalizer.')}
        torch.save(release, tmp_path / 'plain.pth.tar')
        strict.init_cfg['checkpoint'] = str(tmp_path / 'plain.pth.tar')
        strict.init_weights()


def test_students_radio_mm_does_not_build_are_refused_by_name(tmp_path):
    """Used to load and be 0.59 off (scaled_ln, now built), or fail with a raw size
    mismatch (SwiGLU)."""
    path = tmp_path / 'student.pth.tar'
    release, _ = build_release('c-radio_v2-g')
    release['args'].model_kwargs['fancy_norm'] = True
    torch.save(release, path)
    with pytest.raises(ValueError, match=r"model_kwargs \['fancy_norm'\]"):
        radio_model(str(path))
    release['args'].model_kwargs.pop('fancy_norm')
    release['args'].model = 'vit_large_dyt_patch16_224'
    torch.save(release, path)
    with pytest.raises(ValueError, match='vit_large_dyt_patch16_224.*DyT'):
        radio_model(str(path))
    release['args'].model = 'vit_giant_patch16_224'
    release['args'].spectral_reparam = True
    release['state_dict_ema'] = release.pop('state_dict')
    torch.save(release, path)
    radio_model(str(path))  # hubconf's EMA weights are plain
    with pytest.raises(ValueError, match='spectral_reparam'):
        read_radio_checkpoint(dict(release, state_dict=release['state_dict_ema'],
                                   state_dict_ema=None), use_ema=False)
    # timm's DINOv2 giant packs SwiGLU into fc1.
    import timm
    swiglu = timm.create_model('vit_giant_patch14_reg4_dinov2', pretrained=False, embed_dim=32,
                               depth=1, num_heads=2, num_classes=0)
    state = {f'base_model.{k}': v for k, v in swiglu.state_dict().items()
             if k.startswith('blocks.')}
    state.update({k: v for k, v in release['state_dict_ema'].items()
                  if k.startswith('base_model.patch_generator')})
    release = dict(args=release['args'], state_dict=state)
    release['args'].model = 'vit_giant_patch14_reg4_dinov2'
    release['args'].spectral_reparam = False
    release['args'].model_kwargs = dict(embed_dim=32, depth=1, num_heads=2)
    torch.save(release, path)
    with pytest.raises(ValueError, match='vit_giant_patch14_reg4_dinov2.*SwiGLU'):
        radio_model(str(path))


def test_scaled_ln_is_part_of_the_architecture(tmp_path):
    release, _ = build_release('scaled-ln-g')
    path = tmp_path / 'g.pth.tar'
    torch.save(release, path)
    cfg = _backbone_cfg(release)
    assert cfg['scaled_ln'] is True
    plain = MODELS.build(dict(cfg, scaled_ln=False, init_cfg=dict(type='Pretrained',
                                                                  checkpoint=str(path))))
    with pytest.raises(ValueError, match='scaled_ln=True in the checkpoint but False'):
        plain.init_weights()


def test_release_dtype_is_followed_with_an_override(tmp_path, images):
    """hubconf casts the student to args.dtype (bf16 releases run in bf16); radio_mm used to
    ignore it (1.27e-2 off)."""
    release, student = build_release('radio_v2.5-b')
    release['args'].dtype = torch.bfloat16
    path = tmp_path / 'bf16.pth.tar'
    torch.save(release, path)
    model = radio_model(str(path), adaptor_names=['clip'])
    with torch.no_grad():
        ours = model(images)
        full = radio_model(str(path), adaptor_names=['clip'], dtype=torch.float32)(images)
    assert ours['backbone'].features.dtype == torch.bfloat16
    assert ours['clip'].features.dtype == torch.float32  # heads stay float32
    # The reference, run in bf16 the same way: student, normalizer and conditioned input.
    low = dict(release, state_dict={
        k: v if k.startswith(('input_conditioner.', '_heads.', '_feature_projections.'))
        else v.to(torch.bfloat16) for k, v in release['state_dict'].items()})
    with torch.no_grad():
        exact = reference_forward(release, student, images)
        reference = reference_forward(low, student.to(torch.bfloat16), images)
    error = ((ours['backbone'].features.float() - reference['backbone'][1].float()).abs().max()
             / reference['backbone'][1].float().abs().max())
    assert error <= 2e-2
    assert full['backbone'].features.dtype == torch.float32
    assert_close(full['backbone'].features, exact['backbone'][1])
    assert read_radio_checkpoint(str(path)).to_checkpoint()['meta']['dtype'] == 'bfloat16'
