import numpy as np
from skimage import data

from radio_mm.analysis import feature_pca_picture, radio_feature_maps
from radio_mm.visualization.feature_maps import student_input

CAPTION = 16  # feature_pca_panel's caption strip


def test_maps_of_backbone_adaptors_and_teachers(tiny_radio, tiny_clip, tiny_sam):
    rgb = student_input(data.chelsea(), tiny_radio, 128)  # 300 x 451 -> 80 x 128
    assert rgb.shape == (80, 128, 3)
    maps = radio_feature_maps(tiny_radio, rgb, [tiny_clip, tiny_sam])
    # the tiny teachers have no checkpoint, and the captions say so
    assert list(maps) == ['backbone', 'clip adaptor', 'sam adaptor',
                          'clip teacher (random weights)', 'sam teacher (random weights)']
    assert maps['backbone'].shape == (32, 5, 8)
    assert maps['clip adaptor'].shape == (40, 5, 8)
    assert maps['sam adaptor'].shape == (20, 10, 16)  # 2x upsampling head
    assert maps['clip teacher (random weights)'].shape == (40, 4, 4)
    assert maps['sam teacher (random weights)'].shape == (20, 8, 8)


def test_picture_has_one_captioned_panel_per_map(tiny_radio, tiny_clip):
    tile = 64
    picture = feature_pca_picture(tiny_radio, data.astronaut(), size=128, teachers=[tiny_clip],
                                  tile=tile)
    # image, backbone, clip and sam adaptors (square: 8x8 tokens), clip teacher: 5 squares
    assert picture.size == (5 * tile, tile + CAPTION)
    pixels = np.asarray(picture)[CAPTION:]
    for i in range(5):
        panel = pixels[:, i * tile:(i + 1) * tile].reshape(-1, 3)
        assert len(np.unique(panel, axis=0)) > 4, f'panel {i} is (nearly) constant'
