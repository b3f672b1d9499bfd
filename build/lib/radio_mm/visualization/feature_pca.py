"""PCA of dense features to RGB: the AM-RADIO paper's figure 1 view of what a model "sees"."""
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw


def pca_rgb(features, quantile=0.01):
    """(C, h, w) features -> (h, w, 3) uint8: the top-3 principal components as colours.

    Each component is stretched between its ``quantile`` and ``1 - quantile`` values so a
    few outliers do not wash the picture out.
    """
    c, h, w = features.shape
    tokens = features.detach().float().reshape(c, -1).T
    tokens = tokens - tokens.mean(0, keepdim=True)
    _, _, v = torch.linalg.svd(tokens, full_matrices=False)
    proj = tokens @ v[:3].T
    if proj.shape[1] < 3:  # fewer than 3 channels: pad with zeros
        proj = F.pad(proj, (0, 3 - proj.shape[1]))
    low = torch.quantile(proj, quantile, dim=0)
    high = torch.quantile(proj, 1 - quantile, dim=0)
    proj = ((proj - low) / (high - low).clamp(min=1e-6)).clamp(0, 1)
    return (proj.reshape(h, w, 3).numpy() * 255).round().astype(np.uint8)


def feature_pca_panel(image, named_features, tile=224):
    """Image and each feature map's PCA side by side, captioned, as a PIL image.

    Args:
        image (np.ndarray): (H, W, 3) uint8 RGB.
        named_features (dict[str, Tensor]): caption -> (C, h, w) features.
        tile (int): height in pixels of each panel.
    """
    panels = [('image', Image.fromarray(image))]
    panels += [(name, Image.fromarray(pca_rgb(f))) for name, f in named_features.items()]
    caption = 16
    widths = [max(1, round(tile * p.width / p.height)) for _, p in panels]
    canvas = Image.new('RGB', (sum(widths), tile + caption), 'white')
    draw = ImageDraw.Draw(canvas)
    x = 0
    for (name, panel), width in zip(panels, widths):
        canvas.paste(panel.resize((width, tile), Image.NEAREST if name != 'image'
                                  else Image.BILINEAR), (x, caption))
        draw.text((x + 2, 2), name, fill='black')
        x += width
    return canvas
