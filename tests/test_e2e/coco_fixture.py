"""A tiny COCO instance-segmentation set in the real on-disk format, from skimage photos.

``write_coco(root)`` writes ``train2017/``, ``val2017/`` (128 px JPEGs) and
``annotations/instances_{train,val}2017.json`` with two categories whose polygons trace
Otsu-threshold regions. Shared by the detection and SAM end-to-end tests.
"""
import json

import numpy as np
import skimage.data
from PIL import Image
from skimage.color import rgb2gray
from skimage.filters import threshold_otsu
from skimage.measure import approximate_polygon, find_contours, label
from skimage.transform import resize

SIZE = 128
CLASSES = ('bright', 'dark')
SAMPLES = {
    'train2017': ['astronaut', 'coffee', 'chelsea', 'rocket'],
    'val2017': ['immunohistochemistry', 'hubble_deep_field', 'astronaut'],
}
MIN_AREA = 80  # pixels; smaller threshold regions are noise, not objects
MAX_PER_CLASS = 3


def _regions(image):
    """(H, W, 3) uint8 -> [(category index, (H, W) bool mask)], the largest regions above
    (bright) and below (dark) the image's Otsu threshold."""
    gray = rgb2gray(image)
    threshold = threshold_otsu(gray)
    regions = []
    for category, mask in enumerate((gray > threshold, gray <= threshold)):
        components = label(mask, connectivity=1)
        areas = np.bincount(components.ravel())
        areas[0] = 0
        for index in np.argsort(areas)[::-1][:MAX_PER_CLASS]:
            if areas[index] >= MIN_AREA:
                regions.append((category, components == index))
    return regions


def _polygon(mask):
    """Outer contour of a mask as a COCO polygon [x0, y0, x1, y1, ...] in pixels."""
    contour = max(find_contours(np.pad(mask, 1).astype(float), 0.5), key=len)
    contour = approximate_polygon(contour - 1, tolerance=1.0)  # (row, col), unpadded
    return np.clip(contour[:, ::-1], 0, SIZE - 1).round(2).ravel().tolist()


def write_coco(root):
    (root / 'annotations').mkdir(parents=True)
    categories = [dict(id=i + 1, name=name, supercategory='region')
                  for i, name in enumerate(CLASSES)]
    next_ann_id = 1
    for split, names in SAMPLES.items():
        (root / split).mkdir()
        images, annotations = [], []
        for image_id, name in enumerate(names, start=1):
            photo = resize(getattr(skimage.data, name)(), (SIZE, SIZE), anti_aliasing=True)
            image = (photo * 255).round().astype(np.uint8)
            file_name = f'{image_id:012d}.jpg'
            Image.fromarray(image).save(root / split / file_name, quality=95)
            images.append(dict(id=image_id, file_name=file_name, height=SIZE, width=SIZE))
            for category, mask in _regions(image):
                rows, cols = np.nonzero(mask)
                x0, y0 = int(cols.min()), int(rows.min())
                annotations.append(dict(
                    id=next_ann_id, image_id=image_id, category_id=category + 1, iscrowd=0,
                    segmentation=[_polygon(mask)], area=float(mask.sum()),
                    bbox=[x0, y0, int(cols.max()) - x0 + 1, int(rows.max()) - y0 + 1]))
                next_ann_id += 1
        with open(root / 'annotations' / f'instances_{split}.json', 'w') as f:
            json.dump(dict(images=images, annotations=annotations, categories=categories), f)
