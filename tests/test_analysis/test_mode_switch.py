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


# -- agreement of a training run's teachers against student resolution -------------------
def v25_partitions():
    from radio_mm.models.distillers import Partition
    teachers = ['clip', 'sam']
    return [Partition(teachers, 0.75, [(64, 64)], name='low',
                      teacher_inputs=dict(sam=dict(mode='mosaic'))),
            Partition(teachers, 0.25, [(128, 128)], name='high')]


def test_each_teacher_is_read_from_a_partition_showing_it_whole_images():
    from types import SimpleNamespace

    from radio_mm.analysis.mode_switch import agreement_by_teacher, scored_partitions
    distiller = SimpleNamespace(partitions=v25_partitions())
    suffixes = scored_partitions(distiller)
    # SAM sees mosaics in 'low': its fixed whole-image target is the 'high' one
    assert suffixes == dict(clip=(0, '_low'), sam=(1, '_high'))
    metrics = {f'distill/{t}_{m}_{p}': float(i) for i, (t, m, p) in enumerate(
        (t, m, p) for t in ('clip', 'sam') for m in ('feature_cos', 'feature_mse')
        for p in ('low', 'high'))}
    metrics.update({'distill/clip_summary_cos_low': 0.5, 'distill/clip_summary_cos_high': 0.6})
    assert agreement_by_teacher(metrics, suffixes) == dict(
        clip=dict(feature_cos=0.0, feature_mse=2.0, summary_cos=0.5),
        sam=dict(feature_cos=5.0, feature_mse=7.0))  # no summary for SAM
    del metrics['distill/sam_feature_mse_high']
    with pytest.raises(KeyError, match='sam_feature_mse_high'):
        agreement_by_teacher(metrics, suffixes)


def test_student_resolution_is_set_for_the_evaluation_and_restored():
    from types import SimpleNamespace

    from radio_mm.analysis.mode_switch import student_eval_resolution
    distiller = SimpleNamespace(partitions=v25_partitions())
    with student_eval_resolution(distiller, (96, 96)):
        assert [p.eval_resolution for p in distiller.partitions] == [(96, 96)] * 2
    assert [p.eval_resolution for p in distiller.partitions] == [(64, 64), (128, 128)]


def test_worst_resolution_depends_on_which_way_is_better(tmp_path):
    from radio_mm.analysis.mode_switch import curve_summary, plot_agreement_curves
    mse = {224: 0.5, 512: 0.9, 1024: 0.7}
    cos = {224: 0.8, 512: 0.2, 1024: 0.6}
    assert curve_summary(mse, 'feature_mse') == dict(
        worst=0.9, worst_resolution=512, best=0.5, best_resolution=224,
        range=pytest.approx(0.4))
    assert curve_summary(cos, 'summary_cos') == dict(
        worst=0.2, worst_resolution=512, best=0.8, best_resolution=224,
        range=pytest.approx(0.6))
    curves = dict(clip=dict(feature_mse=mse, feature_cos=cos, summary_cos=cos),
                  sam=dict(feature_mse=mse, feature_cos=cos))
    plot_agreement_curves({'v2.1': curves, 'v2.5': curves}, tmp_path / 'modes.png')
    # a column per teacher (4 in wide), a row per metric (2.8 in high), at 100 dpi
    assert Image.open(tmp_path / 'modes.png').size == (2 * 400, 3 * 280)
