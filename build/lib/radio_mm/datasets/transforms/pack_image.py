"""Pack a loaded image for the distiller: no labels, just pixels and where they came from."""
import numpy as np
import torch
from mmengine.structures import BaseDataElement

from radio_mm.registry import TRANSFORMS


@TRANSFORMS.register_module()
class PackImageInputs:
    """``results['img']`` (H, W, 3) uint8 BGR -> ``inputs`` (3, H, W) and ``data_samples``,
    a :class:`BaseDataElement` whose metainfo holds ``img_path`` (datasets add the
    ``skipped`` paths). A data element, not a dict, so collate functions keep it whole.

    A plain callable (mmcv's ``BaseTransform`` adds only ``__call__`` -> ``transform``), so
    the distiller's data pipeline does not need mmcv.
    """

    def __call__(self, results):
        return self.transform(results)

    def transform(self, results):
        img = np.ascontiguousarray(results['img'])
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        inputs = torch.from_numpy(img).permute(2, 0, 1).contiguous()
        sample = BaseDataElement(metainfo=dict(img_path=results.get('img_path'), skipped=[]))
        return dict(inputs=inputs, data_samples=sample)
