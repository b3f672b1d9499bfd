"""C-RADIOv4's shifted views: view generation and overlap alignment, by hand."""
import pytest
import torch
import torch.nn.functional as F

from radio_mm.models.distillers.shifted_views import (
    NO_SHIFT,
    Shift,
    ShiftedViews,
    overlap_cells,
    translate,
)
from radio_mm.registry import MODELS


def test_translate_moves_content_and_blanks_the_vacated_cells():
    x = torch.arange(1.0, 10.0).view(1, 3, 3)
    assert translate(x, 1, -1).tolist() == [[[0, 0, 0], [2, 3, 0], [5, 6, 0]]]
    assert translate(x, 0, 0).equal(x)
    assert translate(x, 3, 0).abs().sum() == 0


def test_overlap_cells_by_hand():
    # a 4-cell axis; one view shifted +1 cell, the other -1: content cells 1 and 2 in both
    assert overlap_cells(4, 0.25, -0.25) == (1, 3)
    assert overlap_cells(4, 0.0, 0.0) == (0, 4)
    # a student shift that is not whole teacher cells (1/8) only keeps whole teacher cells
    assert overlap_cells(4, 0.125, 0.0) == (0, 3)


def test_view_shifts_images_by_whole_patches():
    images = torch.rand(2, 3, 64, 48)
    view, shift = ShiftedViews().view(images, (4, 3), Shift((1, -1), (4, 3)))
    assert shift.fraction == (0.25, -1 / 3)
    # 16 px per cell on both axes: content moves 16 px down and 16 px left
    assert view[..., 16:, :32].equal(images[..., :48, 16:])
    assert view[..., :16, :].abs().sum() == 0 and view[..., 32:].abs().sum() == 0


@pytest.mark.parametrize('scale', [1, 2])
def test_overlap_alignment_equals_cropping_the_unshifted_features(scale):
    """A shift-equivariant network's features of shifted views, aligned, are the unshifted
    features (student resampled onto the teacher grid, as without shifts) on the overlap."""
    torch.manual_seed(0)
    student, teacher = torch.randn(2, 5, 4 * scale, 4 * scale), torch.randn(2, 3, 4, 4)
    s_shift, t_shift = Shift((scale, -scale), (4 * scale, 4 * scale)), Shift((-1, 0), (4, 4))
    aligned, target = ShiftedViews.align(translate(student, scale, -scale), s_shift,
                                         translate(teacher, -1, 0), t_shift)
    # rows: student +1/4, teacher -1/4 -> content rows 1, 2; columns: student -1/4 -> 1..3
    on_teacher_grid = F.interpolate(student, size=(4, 4), mode='bilinear', align_corners=False)
    assert target.equal(teacher[..., 1:3, 1:4])
    torch.testing.assert_close(aligned, on_teacher_grid[..., 1:3, 1:4])


def test_alignment_without_shifts_is_the_distillers_bilinear_resampling():
    torch.manual_seed(0)
    student, teacher = torch.randn(1, 4, 27, 20), torch.randn(1, 2, 16, 12)
    aligned, target = ShiftedViews.align(student, NO_SHIFT, teacher, NO_SHIFT)
    assert target.equal(teacher)
    torch.testing.assert_close(aligned, F.interpolate(student, size=(16, 12), mode='bilinear',
                                                      align_corners=False))


def test_fixed_pattern_noise_no_longer_matches_after_alignment():
    """Grid-fixed noise stays put when the view shifts; content moves. Aligned, the target
    is content plus *shifted* noise, so copying the noise pattern stops paying off."""
    torch.manual_seed(0)
    content, noise = torch.randn(1, 3, 8, 8), torch.randn(1, 3, 8, 8)
    t_shift = Shift((2, 0), (8, 8))
    _, target = ShiftedViews.align(torch.zeros(1, 3, 8, 8), NO_SHIFT,
                                   translate(content, 2, 0) + noise, t_shift)
    torch.testing.assert_close(target, content[..., :6, :] + noise[..., 2:, :])


def test_draw_is_a_rounded_normal_clipped_to_a_quarter_of_the_grid():
    assert ShiftedViews(std=0).draw((8, 8)).cells == (0, 0)
    torch.manual_seed(0)
    cells = [ShiftedViews(std=100).draw((8, 6)).cells for _ in range(20)]
    assert {abs(c) for c, _ in cells} == {2} and {abs(c) for _, c in cells} == {1}
    torch.manual_seed(0)
    expected = torch.round(torch.randn(2) * 0.5).long().tolist()
    torch.manual_seed(0)
    assert list(ShiftedViews(std=0.5).draw((16, 16)).cells) == expected


def test_build_checks_teacher_names_and_the_cache():
    assert ShiftedViews.build(None, ['clip']) is None
    views = ShiftedViews.build(dict(type='ShiftedViews', teachers=['dino']), ['clip', 'dino'])
    assert views.applies_to('dino') and not views.applies_to('clip')
    with pytest.raises(ValueError, match=r"unknown teachers \['sam'\]"):
        ShiftedViews.build(dict(type='ShiftedViews', teachers=['sam']), ['clip'])
    with pytest.raises(ValueError, match='cache'):
        ShiftedViews.build(dict(type='ShiftedViews'), ['clip'], teacher_cache='cache_dir')
    assert isinstance(MODELS.build(dict(type='ShiftedViews')), ShiftedViews)
