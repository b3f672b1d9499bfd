"""What each teacher sees of a partition's images: whole, FeatSharp tiles, RADIOv2.5 mosaic.

The references are built by hand, tile by tile and cell by cell, from the real toy-sized
teacher architectures on real photos."""
import copy
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage import data
from test_radio_distiller import TEACHERS, build

from radio_mm.models.distillers import Partition
from radio_mm.models.distillers.partition import check_teacher_inputs
from radio_mm.models.distillers.teacher_inputs import Mosaic, TiledImage, WholeImage
from radio_mm.models.teachers.base_teacher import resize_images
from radio_mm.registry import MODELS


def teacher(name):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)  # random weights
        return MODELS.build(copy.deepcopy(next(t for t in TEACHERS if t['name'] == name)))


@pytest.fixture(scope='module')
def photos():
    images = [data.astronaut(), data.coffee(), data.chelsea()]
    return torch.cat([F.interpolate(torch.from_numpy(np.ascontiguousarray(i)).permute(2, 0, 1)
                                    [None].float() / 255, size=(100, 80), mode='bilinear',
                                    antialias=True) for i in images]).clamp(0, 1)


def test_tiles_are_the_teacher_on_each_tile_stitched_in_place(photos):
    dino = teacher('dino_v2')  # 56 px input, 14 px patches: 4 x 4 cells per tile
    out = TiledImage(tiles=2)(dino, photos, student_hw=(112, 112))
    big = resize_images(photos, (112, 112), dino.interpolation)
    assert out.features.shape == (3, dino.feature_dim, 8, 8)
    for r in range(2):
        for c in range(2):
            tile = big[:, :, r * 56:(r + 1) * 56, c * 56:(c + 1) * 56]
            expected = dino(tile).features
            torch.testing.assert_close(out.features[:, :, r * 4:(r + 1) * 4, c * 4:(c + 1) * 4],
                                       expected, rtol=1e-5, atol=1e-5)
    # the summary is the teacher's on the whole image, as FeatSharp's TileUpsampler
    torch.testing.assert_close(out.summary, dino(photos).summary)


def test_auto_tiles_follow_the_student_resolution():
    dino = teacher('dino_v2')
    tiles = TiledImage()
    assert tiles.grid(dino, (56, 56)) == (1, 1)
    assert tiles.grid(dino, (112, 168)) == (2, 3)  # per side, rounded
    assert tiles.grid(dino, (80, 80)) == (1, 1)
    with pytest.raises(ValueError, match="'auto' or an integer >= 1, got 0"):
        TiledImage(tiles=0)


def test_mosaic_cells_hold_each_image_and_its_targets(photos):
    sam = teacher('sam')  # 128 px input, 8 x 8 cells
    seen = []
    sam.register_forward_pre_hook(lambda module, args: seen.append(args[0].clone()))
    out = Mosaic(grid=2)(sam, photos, student_hw=(64, 64))
    # one 2 x 2 mosaic: photos 0, 1 on top, 2 and (to fill it) 0 again below, 64 px each
    (mosaic, ) = seen
    cells = resize_images(photos, (64, 64), sam.interpolation)
    expected = torch.zeros(1, 3, 128, 128)
    for cell, i in enumerate([0, 1, 2, 0]):
        r, c = divmod(cell, 2)
        expected[0, :, r * 64:(r + 1) * 64, c * 64:(c + 1) * 64] = cells[i]
    torch.testing.assert_close(mosaic, expected)
    # each photo's target is its own 4 x 4 cell of SAM's features on the mosaic
    features = sam(expected).features
    assert out.summary is None and out.features.shape == (3, sam.feature_dim, 4, 4)
    for i, (r, c) in enumerate([(0, 0), (0, 1), (1, 0)]):
        torch.testing.assert_close(out.features[i],
                                   features[0, :, r * 4:(r + 1) * 4, c * 4:(c + 1) * 4])


def test_mosaic_grid_auto_and_its_errors():
    sam = teacher('sam')  # 128 px, 8 x 8 cells
    assert Mosaic().grid_for(sam, (64, 64)) == 2
    assert Mosaic().grid_for(sam, (32, 32)) == 4
    assert Mosaic().grid_for(sam, (48, 48)) == 2  # 3 does not divide 8 cells
    assert Mosaic().grid_for(sam, (256, 256)) == 1
    with pytest.raises(ValueError, match=r'grid 3 does not divide the feature grid \(8, 8\)'):
        Mosaic(grid=3).check(sam)
    with pytest.raises(ValueError, match="mode= one of \\['resize', 'tile', 'mosaic'\\]"):
        Partition(['sam'], teacher_inputs=dict(sam=dict(mode='mosiac')))
    with pytest.raises(ValueError, match=r"teacher_inputs for \['clip'\]"):
        Partition(['sam'], teacher_inputs=dict(clip=dict(mode='tile')))
    with pytest.raises(TypeError, match=r"teacher_inputs\['sam'\] \(mode 'mosaic'\)"):
        Partition(['sam'], teacher_inputs=dict(sam=dict(mode='mosaic', tiles=2)))
    assert isinstance(Partition(['sam']).teacher_inputs['sam'], WholeImage)


def test_which_pixels_the_student_and_each_teacher_see(photos):
    """RADIOv2.5's low partition with SAM on mosaics, and the high partition with CLIP on
    FeatSharp tiles: the student sees each image alone at its drawn resolution."""
    model = build(partitions=[
        dict(name='low', teachers=['clip', 'dino_v2', 'sam'], batch_fraction=0.5,
             resolutions=[(64, 64)], teacher_inputs=dict(sam=dict(mode='mosaic'))),
        dict(name='high', teachers=['clip', 'dino_v2', 'sam'], batch_fraction=0.5,
             resolutions=[(128, 128)], teacher_inputs=dict(clip=dict(mode='tile')))]).train()
    images = torch.cat([photos, photos[:1]])  # 4 images: 2 per partition
    seen = {name: [] for name in ('student', 'clip', 'sam')}
    for name in ('clip', 'sam'):
        model.teachers[name].register_forward_pre_hook(
            lambda module, args, name=name: seen[name].append(args[0].clone()))
    forward_backbone = model.student.forward_backbone
    model.student.forward_backbone = lambda x: seen['student'].append(x) or forward_backbone(x)
    losses = model.loss(images)

    low, high = images[:2], images[2:]
    student_low, student_high = seen['student']
    torch.testing.assert_close(student_low, resize_images(low, (64, 64), 'bilinear'))
    torch.testing.assert_close(student_high, resize_images(high, (128, 128), 'bilinear'))
    # low: SAM (128 px) sees one 2 x 2 mosaic of the two low images at 64 px, repeated
    sam_low, sam_high = seen['sam']
    cells = resize_images(low, (64, 64), 'bilinear')
    torch.testing.assert_close(sam_low[0, :, :64, :64], cells[0])
    torch.testing.assert_close(sam_low[0, :, :64, 64:], cells[1])
    torch.testing.assert_close(sam_low[0, :, 64:, :64], cells[0])
    torch.testing.assert_close(sam_low[0, :, 64:, 64:], cells[1])
    torch.testing.assert_close(sam_high, high)  # whole images, SAM resizes them itself
    # high: CLIP (64 px) sees the whole images (its summary) and 2 x 2 tiles of each
    clip_low, clip_whole, clip_tiles = seen['clip']
    assert clip_low.shape == (2, 3, 100, 80) and clip_whole.shape == (2, 3, 100, 80)
    big = resize_images(high, (128, 128), 'bicubic')
    assert clip_tiles.shape == (8, 3, 64, 64)
    torch.testing.assert_close(clip_tiles[1], big[0, :, :64, 64:])  # image 0, top right
    torch.testing.assert_close(clip_tiles[6], big[1, :, 64:, :64])  # image 1, bottom left
    assert {'loss_sam_features_low', 'loss_clip_features_high', 'loss_clip_summary_high'} \
        <= set(losses)


def test_tiles_and_mosaics_refuse_a_teacher_cache():
    # a cache holds each teacher's targets of whole views: it cannot give tiles or mosaics
    parts = [Partition(['sam'], teacher_inputs=dict(sam=dict(mode='mosaic')))]
    with pytest.raises(ValueError, match="in 'mosaic' mode.*teacher cache"):
        check_teacher_inputs(parts, {'sam': teacher('sam')}, teacher_cache='cache_dir')
    check_teacher_inputs(parts, {'sam': teacher('sam')})  # online: fine
