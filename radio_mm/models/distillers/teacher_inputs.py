"""What a teacher sees of a partition's images, and the targets it gives for each of them.

A partition names, per teacher, one of three modes (``Partition(teacher_inputs=...)``):

``'resize'`` (default; AM-RADIO, Ranzinger et al., 2024, sec. 3)
    The teacher sees each image whole, resized to its own input size; the student's features
    are resampled onto the teacher's grid. Right whenever the teacher's resolution is
    near the student's.

``'tile'`` (FeatSharp's tiling step; Ranzinger et al., "FeatSharp", ICML 2025, arXiv
2502.16025; NVlabs/FeatSharp ``featsharp/upsamplers.py`` ``TileUpsampler`` and
``featsharp/upsampler_modules/util.py`` ``create_tiles``)
    High-resolution targets from a low-resolution teacher: the image is resized to
    ``tiles x`` the teacher's input size, cut into that grid of non-overlapping tiles of
    exactly the input size, the teacher runs on every tile, and the tiles' feature maps
    are stitched in place: a ``(tiles * h, tiles * w)`` target. The summary comes from the
    teacher on the whole image at its input size, as in FeatSharp's ``TileUpsampler``
    (tiles have no image-level meaning). For the high-resolution partition (768-1152 px
    students) with teachers that run at 224-384 px.

``'mosaic'`` (RADIOv2.5, Heinrich et al., "RADIO Amplified", arXiv 2412.07679)
    A teacher whose input size is far above the partition's student resolutions (SAM's
    fixed 1024 px in the low-resolution partition) sees ``grid x grid`` of the partition's
    images at once, each resized to ``1/grid`` of its input side and placed row-major;
    each image's target is its own cell of the teacher's feature map. The student still
    sees every image alone, at its drawn resolution. Rather than upsampling a 256 px image
    to 1024 px (blurry, and 16x the pixels the student saw), the teacher sees each image
    at about the student's resolution, and one teacher pass serves ``grid**2`` images.
    The paper's abstract names mosaic augmentation among its contributions; its section
    was not at hand when this was written, so this layout (which teacher sees mosaics, of
    what size, who sees single images) is our reading of it, to check against the paper.

Choices nobody published are marked [ours] where they are made.
"""
import math

import torch

from ..teachers.base_teacher import TeacherOutput, resize_images

MODES = ('resize', 'tile', 'mosaic')


def build_teacher_input(cfg, teacher_name):
    """``dict(mode=..., ...)`` of ``Partition(teacher_inputs=...)`` -> a teacher input."""
    cfg = dict(cfg)
    mode = cfg.pop('mode', None)
    kinds = dict(resize=WholeImage, tile=TiledImage, mosaic=Mosaic)
    if mode not in kinds:
        raise ValueError(f'teacher_inputs[{teacher_name!r}] needs mode= one of {list(MODES)}, '
                         f'got {mode!r}')
    try:
        return kinds[mode](**cfg)
    except TypeError as err:
        raise TypeError(f'teacher_inputs[{teacher_name!r}] (mode {mode!r}): {err}') from err


def _auto_or_int(value, what):
    if value != 'auto' and not (isinstance(value, int) and value >= 1):
        raise ValueError(f"{what} must be 'auto' or an integer >= 1, got {value!r}")
    return value


class WholeImage:
    """The teacher on each image, resized to its input size (today's behaviour)."""

    mode = 'resize'
    needs_online_teacher = False

    def check(self, teacher):
        """Nothing to check: every teacher takes any image size."""

    def __call__(self, teacher, images, student_hw, data_samples=None):
        """images: (B, 3, H, W) in [0, 1] -> :class:`TeacherOutput` with the valid feature
        cells only (SAM pads non-square images)."""
        # a cached teacher reads its targets from the samples; an online one computes them
        out = (teacher(images, data_samples) if getattr(teacher, 'reads_cache', False)
               else teacher(images))
        h, w = teacher.valid_feature_hw(tuple(images.shape[-2:]))
        return TeacherOutput(out.summary, out.features[..., :h, :w])


class TiledImage:
    """FeatSharp's tiling: the teacher on a grid of tiles of the upscaled image, stitched.

    Args:
        tiles (int | 'auto'): tiles per side. ``'auto'`` [ours]: per side,
            ``max(1, round(student side / teacher input side))``, so the stitched target
            has about as many pixels per feature cell as the student's input (a 1024 px
            student and a 378 px CLIP: 3 x 3 tiles; a 512 px student: 1, i.e. ``'resize'``).
    """

    mode = 'tile'
    needs_online_teacher = True

    def __init__(self, tiles='auto'):
        self.tiles = _auto_or_int(tiles, 'tile mode tiles')

    def check(self, teacher):
        """Tiles are exactly the teacher's input size: nothing can be off-grid."""

    def grid(self, teacher, student_hw):
        """(rows, columns) of tiles for a student at ``student_hw``."""
        if self.tiles != 'auto':
            return (self.tiles, self.tiles)
        return tuple(max(1, round(s / t)) for s, t in zip(student_hw, teacher.input_size))

    def __call__(self, teacher, images, student_hw, data_samples=None):
        """images: (B, 3, H, W) in [0, 1] -> summary of the whole image (B, C) or None,
        features (B, C, rows * h, cols * w) stitched from the tiles' (h, w) maps."""
        rows, cols = self.grid(teacher, student_hw)
        th, tw = teacher.input_size
        whole = teacher(images) if teacher.summary_dim is not None else None
        if (rows, cols) == (1, 1) and whole is not None:
            return TeacherOutput(whole.summary, whole.features)
        # FeatSharp resizes bilinearly; the teacher's own interpolation is what it sees in
        # 'resize' mode, so tiles and whole images are resampled alike [ours].
        big = resize_images(images, (rows * th, cols * tw), teacher.interpolation)
        b, c = big.shape[:2]
        tiles = (big.unflatten(2, (rows, th)).unflatten(4, (cols, tw))  # B 3 r th c tw
                 .permute(0, 2, 4, 1, 3, 5).reshape(b * rows * cols, c, th, tw))
        features = teacher(tiles).features
        fh, fw = features.shape[-2:]
        stitched = (features.unflatten(0, (b, rows, cols))  # B r c C fh fw
                    .permute(0, 3, 1, 4, 2, 5).reshape(b, -1, rows * fh, cols * fw))
        return TeacherOutput(None if whole is None else whole.summary, stitched)


class Mosaic:
    """RADIOv2.5's mosaic: the teacher sees ``grid x grid`` images at once.

    Args:
        grid (int | 'auto'): images per side of a mosaic. ``'auto'`` [ours]: the largest
            ``g`` that divides the teacher's feature grid with ``input side / g`` still at
            least the student's side (SAM at 1024 px, 64 x 64 cells: a 256 px student gives
            4 x 4 mosaics of 256 px cells; 432 px gives 2 x 2 of 512 px).

    A batch that does not fill its last mosaic repeats its images, in order, in the empty
    cells [ours]: the teacher always sees photographs, and only each image's own cell
    becomes its target. A teacher with a summary (CLIP, DINOv2) gets its summary target
    from the image alone at its input size [ours]: a mosaic's summary describes no single
    image.
    """

    mode = 'mosaic'
    needs_online_teacher = True

    def __init__(self, grid='auto'):
        self.grid = _auto_or_int(grid, 'mosaic grid')

    def check(self, teacher):
        h, w = teacher.feature_hw
        if self.grid != 'auto' and (h % self.grid or w % self.grid):
            raise ValueError(f'mosaic grid {self.grid} does not divide the feature grid '
                             f'{(h, w)} of {teacher.describe()}: each image must own whole '
                             f'feature cells; use a divisor of {math.gcd(h, w)} or '
                             f"grid='auto'")

    def grid_for(self, teacher, student_hw):
        if self.grid != 'auto':
            return self.grid
        h, w = teacher.feature_hw
        fits = [g for g in range(1, math.gcd(h, w) + 1) if not h % g and not w % g
                and all(side // g >= s for side, s in zip(teacher.input_size, student_hw))]
        return max(fits, default=1)

    def __call__(self, teacher, images, student_hw, data_samples=None):
        """images: (B, 3, H, W) in [0, 1] -> summary (B, C) or None, features (B, C, h/g,
        w/g): image ``i``'s cell of mosaic ``i // g**2``, cell ``i % g**2`` row-major."""
        g = self.grid_for(teacher, student_hw)
        b = images.shape[0]
        th, tw = teacher.input_size
        per_mosaic = g * g
        count = -(-b // per_mosaic)
        order = torch.arange(count * per_mosaic, device=images.device) % b
        cells = resize_images(images, (th // g, tw // g), teacher.interpolation)[order]
        mosaics = (cells.unflatten(0, (count, g, g))  # n gr gc 3 h w
                   .permute(0, 3, 1, 4, 2, 5).reshape(count, -1, th, tw))
        features = teacher(mosaics).features
        fh, fw = features.shape[-2:]
        own = (features.unflatten(2, (g, fh // g)).unflatten(4, (g, fw // g))  # n C gr h gc w
               .permute(0, 2, 4, 1, 3, 5).reshape(count * per_mosaic, -1, fh // g, fw // g))
        summary = teacher(images).summary if teacher.summary_dim is not None else None
        return TeacherOutput(summary, own[:b])
