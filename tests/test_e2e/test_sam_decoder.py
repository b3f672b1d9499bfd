"""SAM with a RADIO image encoder on COCO box prompts, through the command-line tools.

On the tiny COCO fixture of test_coco_det.py (real on-disk format: 128 px JPEGs of skimage
photos, polygon masks of Otsu-threshold regions):

1. tools/model_converters/make_radio_sam.py joins a radio_mm RADIO checkpoint and a SAM
   checkpoint into a RADIOSAM checkpoint for the repository's config, shrunk (2-block
   RADIOViT, 32-channel SAM decoder, 96 px input so images are resized and masks scaled back);
2. tools/train.py fine-tunes the mask decoder from it for 2 iterations;
3. tools/test.py evaluates the result: mIoU of masks from ground-truth boxes.
"""
import math
import re
from pathlib import Path

import pytest
import torch
from coco_fixture import CLASSES, SAMPLES, write_coco
from script_loader import load_script
from tiny_models import tiny_vit
from tool_runner import run_tool

from radio_mm.models.sam import build_sam_decoder
from radio_mm.registry import MODELS

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / 'configs/sam/radio-vith_sam-decoder_coco-box-prompt.py'
IMAGE_SIZE = 96  # the fixture's 128 px images are resized to 96 px: a 6 x 6 embedding
RADIO = dict(
    type='RADIOModel',
    backbone=tiny_vit(patch_size=16, cpe_max_size=256, num_summary_tokens=2,
                      register_multiple=8),
    adaptors=dict(sam=dict(in_dims=32, feature_dims=32, hidden_dims=32, num_inner=1)))
DECODER = dict(embed_dim=32, transformer_mlp_dim=64, transformer_num_heads=2,
               iou_head_hidden_dim=32)


@pytest.fixture(scope='module')
def coco_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('coco') / 'coco'
    write_coco(root)
    return root


def _tiny_config(tmp_path, coco_root):
    config = tmp_path / 'tiny_radio_sam.py'
    loaders = '\n'.join(
        f'{loader} = dict(num_workers=0, persistent_workers=False, dataset=dict('
        f'data_root={str(coco_root) + "/"!r}, metainfo=dict(classes={CLASSES!r})))'
        for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'))
    config.write_text(f'''
_base_ = [{str(CONFIG)!r}]
model = dict(
    radio=dict(backbone=dict(arch=dict(_delete_=True, **{RADIO["backbone"]["arch"]!r}),
                             cpe_max_size=256),
               adaptors=dict(sam=dict(in_dims=32, feature_dims=32, hidden_dims=32))),
    image_size={IMAGE_SIZE},
    decoder={DECODER!r})
{loaders}
''')
    return config


def _size_options():
    size = f'({IMAGE_SIZE},{IMAGE_SIZE})'
    return [f'train_dataloader.dataset.pipeline.3.scale={size}',
            f'val_dataloader.dataset.pipeline.1.scale={size}',
            f'test_dataloader.dataset.pipeline.1.scale={size}']



def _source_checkpoints(tmp_path):
    """A radio_mm RADIO checkpoint (radio2mm.py's layout) and a segment_anything one."""
    torch.manual_seed(0)
    radio = MODELS.build(RADIO)
    radio_path = tmp_path / 'radio_tiny.pth'
    torch.save(dict(meta=dict(radio_model=RADIO), state_dict=radio.state_dict()), radio_path)
    prompt_encoder, mask_decoder = build_sam_decoder(IMAGE_SIZE, IMAGE_SIZE // 16, **DECODER)
    sam = {'image_encoder.neck.0.weight': torch.randn(32, 16, 1, 1)}
    for name, module in (('prompt_encoder', prompt_encoder), ('mask_decoder', mask_decoder)):
        sam.update({f'{name}.{k}': v for k, v in module.state_dict().items()})
    sam_path = tmp_path / 'sam_tiny.pth'
    torch.save(sam, sam_path)
    return radio, radio_path, sam, sam_path


def _mious(output):
    return {name: float(value) for name, value in
            re.findall(r'sam/(mIoU\w*): (\S+)', output)}


def test_convert_finetune_and_evaluate(coco_root, tmp_path):
    config = _tiny_config(tmp_path, coco_root)
    radio, radio_path, sam, sam_path = _source_checkpoints(tmp_path)
    start = tmp_path / 'radio_sam_tiny.pth'
    run_tool('model_converters/make_radio_sam.py', radio_path, sam_path, start, '--config', config)
    initial = torch.load(start, map_location='cpu')['state_dict']
    assert all(torch.equal(initial[f'radio.{k}'], v) for k, v in radio.state_dict().items())
    assert all(torch.equal(initial[k], v) for k, v in sam.items() if 'image_encoder' not in k)

    work_dir = tmp_path / 'work'
    output = run_tool('train.py', config, '--work-dir', work_dir, '--cfg-options',
                  f'load_from={start}', 'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
                  'default_hooks.checkpoint.interval=2', 'default_hooks.logger.interval=1',
                  *_size_options())
    losses = re.findall(r' loss_mask: (\S+)\s+loss_dice: (\S+)\s+loss_iou: (\S+)', output)
    assert len(losses) == 2, output[-3000:]
    assert all(math.isfinite(float(v)) and float(v) >= 0 for step in losses for v in step)
    trained = torch.load(work_dir / 'iter_2.pth', map_location='cpu')['state_dict']
    decoder = [k for k in initial if k.startswith('mask_decoder.')]
    assert all(torch.equal(trained[k], v) for k, v in initial.items() if k not in decoder)
    assert not all(torch.equal(trained[k], initial[k]) for k in decoder)
    val_mious = _mious(output)

    output = run_tool('test.py', config, work_dir / 'iter_2.pth', '--work-dir', tmp_path / 'test',
                  '--cfg-options', *_size_options())
    mious = _mious(output)
    assert set(mious) == {'mIoU', 'mIoU_small', 'mIoU_medium', 'mIoU_large'}, output[-3000:]
    assert 0 <= mious['mIoU'] <= 100
    count = int(re.search(r'sam/num_instances: (\d+)', output).group(1))
    assert 0 < count <= 3 * 2 * len(SAMPLES['val2017'])  # up to 3 regions per class
    # The checkpoint reloads into the same model: test.py repeats the end-of-training val.
    assert mious.keys() == val_mious.keys()
    assert all(v == val_mious[k] or math.isnan(v) and math.isnan(val_mious[k])
               for k, v in mious.items())


def test_config_gives_sams_decoder_its_embedding_and_the_distilled_student():
    from mmengine.config import Config

    from radio_mm.models.backbones.radio_vit import ARCH_SETTINGS
    from radio_mm.models.sam import SAM_DECODER_DEFAULTS

    cfg = Config.fromfile(str(CONFIG))
    assert cfg.default_scope == 'mmdet' and cfg.custom_imports.imports == ['radio_mm']
    model, radio = cfg.model, cfg.model.radio
    sam = radio.adaptors.sam
    assert sam.in_dims == ARCH_SETTINGS[radio.backbone.arch]['embed_dims']
    assert sam.feature_dims == SAM_DECODER_DEFAULTS['embed_dim']
    assert model.image_size == 1024  # SAM's 64 x 64 embedding:
    assert model.image_size // radio.backbone.patch_size * sam.get('upsample_factor', 1) == 64
    # The student configs/distill/radio_vith.py trains, with the adaptor it gets for SAM.
    distill = Config.fromfile(str(REPO / 'configs/distill/radio_vith.py')).model
    for key in ('arch', 'patch_size', 'cpe_max_size', 'num_summary_tokens', 'register_multiple'):
        assert radio.backbone[key] == distill.student.backbone[key], key
    assert sam.hidden_dims == distill.adaptor_cfg.hidden_dims
    assert sam.num_inner == distill.adaptor_cfg.num_inner
    # SAM's geometry: the longest side resized with PIL to 1024, no Pad (the model pads).
    for loader in (cfg.train_dataloader, cfg.test_dataloader):
        types = [step.type for step in loader.dataset.pipeline]
        assert 'Pad' not in types
        resize = loader.dataset.pipeline[types.index('Resize')]
        assert resize.scale == (1024, 1024) and resize.keep_ratio and resize.backend == 'pillow'
    # CocoMetric's keys gone:
    assert dict(cfg.test_evaluator) == dict(type='radio_mm.BoxPromptMaskIoU')


def test_converter_refuses_weights_that_do_not_fit(coco_root, tmp_path):
    converter = load_script('tools/model_converters/make_radio_sam.py')
    config = _tiny_config(tmp_path, coco_root)
    _, radio_path, _, sam_path = _source_checkpoints(tmp_path)
    model = converter.make_radio_sam(radio_path, sam_path, config)
    assert model.embedding_size == IMAGE_SIZE // 16
    with pytest.raises(RuntimeError, match='does not fit model.radio'):
        converter.make_radio_sam(radio_path, sam_path, config,
                                 {'model.radio.adaptors.sam.hidden_dims': 64})
    with pytest.raises(ValueError, match='emits 32 channels but the SAM decoder reads 256'):
        converter.make_radio_sam(radio_path, sam_path)  # published decoder sizes
