import csv
import math

import pytest
from PIL import Image

from radio_mm.analysis import (
    adaptor_teacher_errors,
    load_images,
    mean_by_resolution,
    plot_errors,
    write_csv,
)

RESOLUTIONS = [64, 96, 128]


def test_one_row_per_image_and_resolution(tmp_path, tiny_radio, tiny_clip):
    images = load_images('samples', limit=2)
    rows = adaptor_teacher_errors(tiny_radio, 'clip', tiny_clip, images, RESOLUTIONS)
    write_csv(rows, tmp_path / 'clip.csv')
    with open(tmp_path / 'clip.csv') as f:
        table = list(csv.DictReader(f))
    assert [(r['image'], int(r['resolution'])) for r in table] == [
        (name, res) for name, _ in images for res in RESOLUTIONS]
    for row in table:
        assert 0 <= float(row['cosine_error']) <= 2 and float(row['mse']) > 0
    # Each student resolution really produced different features.
    assert len({row['mse'] for row in table}) == len(table)
    means = mean_by_resolution(rows)
    assert list(means) == RESOLUTIONS
    assert means[64][0] == pytest.approx((rows[0].cosine_error + rows[3].cosine_error) / 2)
    plot_errors(rows, tmp_path / 'clip.png')
    assert Image.open(tmp_path / 'clip.png').size[0] > 0


def test_sam_targets_skip_the_padding(tiny_radio, tiny_sam, tmp_path):
    image = load_images('samples', limit=1)
    rows = adaptor_teacher_errors(tiny_radio, 'sam', tiny_sam, image, [64])
    assert len(rows) == 1 and math.isfinite(rows[0].mse)


def test_mismatched_teacher_and_bad_resolution(tiny_radio, tiny_sam):
    image = load_images('samples', limit=1)
    with pytest.raises(ValueError, match='gives 40 channels but the teacher gives 20'):
        adaptor_teacher_errors(tiny_radio, 'clip', tiny_sam, image, [64])
    with pytest.raises(ValueError, match=r'not multiples of 16.*\[96\]'):
        adaptor_teacher_errors(tiny_radio, 'clip', tiny_sam, image, [100])
    with pytest.raises(KeyError, match="no adaptor 'dino_v2'"):
        adaptor_teacher_errors(tiny_radio, 'dino_v2', tiny_sam, image, [64])
