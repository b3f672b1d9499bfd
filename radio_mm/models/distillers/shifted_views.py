"""C-RADIOv4's shift-equivariant dense loss: views shifted by whole patches, compared where
they overlap.

Ranzinger et al., "C-RADIOv4 (Tech Report)", arXiv 2601.17237, sec. 2.3 "Shift Equivariance"
(Eq. 1): teachers' features carry fixed-pattern noise, artefacts tied to the position in the
patch grid rather than to the image, and a student that sees the same pixels on the same grid
learns that noise too. So the student and every teacher see the image shifted independently,
in increments of their patch size, and the dense loss compares them only where both views
show the same content, after moving each back by its own shift: image content follows the
shift, grid-fixed noise does not, and no longer matches.

Shifts are ``round(N(0, std))`` cells per axis, times the patch size: "a quantized normal
distribution, with std=0.5, and then multiply by the patch size" (M. Ranzinger, NVlabs/RADIO
issue #181, which also confirms the independent shifts of student and teachers). The
report's body was not available here; our choices [ours]: one student shift per partition
and step (all teachers of the partition share the student's forward pass), one shift per
teacher and step (the same for every image of the batch, so overlaps are rectangles of one
size), |shift| at most a quarter of the grid (overlap >= half of each side), vacated pixels
are black.

Geometry: a view shifted by a fraction ``f`` of the image side (``cells / grid``) shows the
content at normalized position ``p`` at ``p + f``. :meth:`ShiftedViews.align` crops the
teacher's grid to the cells whose content both views show and samples the student's features
at the same content positions, the bilinear resampling the distiller does without shifts.
"""
import math
from typing import NamedTuple

import torch
import torch.nn.functional as F

from radio_mm.registry import MODELS


def translate(x, dy, dx):
    """(..., H, W) with its content moved ``dy`` rows down and ``dx`` columns right; the
    vacated rows and columns are zero."""
    out = torch.zeros_like(x)
    h, w = x.shape[-2:]
    if abs(dy) >= h or abs(dx) >= w:
        return out
    out[..., max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        x[..., max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


class Shift(NamedTuple):
    """A view's shift: ``cells`` (dy, dx) on a grid of ``grid`` (h, w) cells covering the
    image; content at normalized position p shows at p + cells / grid."""
    cells: tuple
    grid: tuple

    @property
    def fraction(self):
        return tuple(c / g for c, g in zip(self.cells, self.grid))


NO_SHIFT = Shift((0, 0), (1, 1))


def overlap_cells(n, *fractions):
    """[c0, c1): the cells of an n-cell axis (in content coordinates) that every view shifted
    by one of ``fractions`` still shows whole."""
    lo = max([0.0] + [-f for f in fractions])
    hi = min([1.0] + [1 - f for f in fractions])
    return math.ceil(lo * n - 1e-6), math.floor(hi * n + 1e-6)


@MODELS.register_module()
class ShiftedViews:
    """View generation and overlap alignment of the shift-equivariant dense loss.

    ``RADIODistiller(shifted_views=dict(type='ShiftedViews', std=0.5, teachers=[...]))``.

    Args:
        std (float): standard deviation of the normal distribution, in cells, whose rounded
            draws are the shifts (0.5 in C-RADIOv4, NVlabs/RADIO #181).
        teachers (list[str] | None): teachers whose targets come from shifted views; None for
            all. The student's view is shifted in every partition with such a teacher; the
            other teachers of that partition see the image unshifted and are compared on the
            overlap too.
        max_fraction (float): largest shift, as a fraction of the grid side [ours: 1/4].
    """

    def __init__(self, std=0.5, teachers=None, max_fraction=0.25):
        if std < 0:
            raise ValueError(f'std must be >= 0, got {std}')
        self.std = std
        self.teachers = None if teachers is None else list(teachers)
        self.max_fraction = max_fraction

    @staticmethod
    def build(cfg, teachers, teacher_cache=None):
        """The distiller's ``shifted_views`` config -> a :class:`ShiftedViews` or None,
        checked against the distiller's teacher names."""
        if not cfg:
            return None
        views = MODELS.build(cfg)
        unknown = sorted(set(views.teachers or ()) - set(teachers))
        if unknown:
            raise ValueError(f'shifted_views names unknown teachers {unknown}; teachers are '
                             f'{list(teachers)}')
        if teacher_cache:
            raise ValueError('shifted_views needs the teachers to run on shifted images, but '
                             f'their targets come from the cache {teacher_cache!r} (made from '
                             'unshifted ones); drop teacher_cache or shifted_views')
        return views

    def applies_to(self, name):
        return self.teachers is None or name in self.teachers

    @staticmethod
    def student_view(views, images, teachers, patch_size):
        """The student's (B, 3, H, W) input -> (view, :class:`Shift`), shifted by whole
        patches when ``views`` (a :class:`ShiftedViews` or None) covers one of the partition's
        ``teachers``; (images, None) otherwise."""
        if views is None or not any(views.applies_to(name) for name in teachers):
            return images, None
        return views.view(images, tuple(side // patch_size for side in images.shape[-2:]))

    @staticmethod
    def teacher_view(views, images, name, grid):
        """Teacher ``name``'s input -> (view, :class:`Shift` on its feature ``grid``):
        shifted when ``views`` covers it, unshifted (:data:`NO_SHIFT`) otherwise."""
        if not views.applies_to(name):
            return images, NO_SHIFT
        return views.view(images, grid)

    def draw(self, grid):
        """A random :class:`Shift` on a (h, w) grid: rounded N(0, std) cells per axis."""
        cells = torch.round(torch.randn(2) * self.std).long().tolist()
        limits = [int(side * self.max_fraction) for side in grid]
        return Shift(tuple(max(-m, min(m, c)) for c, m in zip(cells, limits)), tuple(grid))

    def view(self, images, grid, shift=None):
        """(B, 3, H, W) images -> (view, :class:`Shift`): the images translated by a shift
        drawn on ``grid`` (h, w), the cells the network will see them on. When H is not a
        multiple of h the shift is rounded to whole pixels."""
        shift = shift or self.draw(grid)
        h, w = images.shape[-2:]
        dy, dx = (round(c * side / g) for c, side, g in zip(shift.cells, (h, w), grid))
        return translate(images, dy, dx), shift

    @staticmethod
    def align(features, shift, target, target_shift):
        """The student's (B, C, H', W') ``features`` of a view shifted by ``shift`` and the
        teacher's (B, C', h, w) ``target`` of a view shifted by ``target_shift`` (on the
        target's own grid) -> both on the target grid, cropped to the cells that show the
        same content in both views: ((B, C, h', w'), (B, C', h', w')).
        """
        h, w = target.shape[-2:]
        fractions = list(zip(shift.fraction, target_shift.fraction))
        (y0, y1), (x0, x1) = (overlap_cells(n, *f) for n, f in zip((h, w), fractions))
        if y1 <= y0 or x1 <= x0:
            raise ValueError(f'views shifted by {shift} and {target_shift} do not overlap')
        ty, tx = (round(f * n) for f, n in zip(target_shift.fraction, (h, w)))
        cropped = target[..., y0 + ty:y1 + ty, x0 + tx:x1 + tx]
        # content cell c's centre (c + 0.5) / n, seen at + shift in the student's view;
        # grid_sample's [-1, 1] with align_corners=False is F.interpolate's convention
        ys = 2 * ((torch.arange(y0, y1, device=features.device) + 0.5) / h
                  + shift.fraction[0]) - 1
        xs = 2 * ((torch.arange(x0, x1, device=features.device) + 0.5) / w
                  + shift.fraction[1]) - 1
        grid = torch.stack(torch.meshgrid(xs, ys, indexing='xy'), dim=-1)
        grid = grid.to(features.dtype).expand(features.shape[0], -1, -1, -1)
        sampled = F.grid_sample(features, grid, mode='bilinear', padding_mode='border',
                                align_corners=False)
        return sampled, cropped
