"""What a RADIO model "sees": PCA pictures of its features, its adaptors' and its teachers'
side by side (the AM-RADIO paper's figure 1)."""
import torch

from radio_mm.utils.toolboxes import require_toolbox

from .feature_pca import feature_pca_panel


def to_tensor01(rgb, device='cpu'):
    """(H, W, 3) uint8 -> (1, 3, H, W) float in [0, 1]."""
    return torch.from_numpy(rgb).permute(2, 0, 1)[None].float().div(255).to(device)


def student_input(rgb, model, size):
    """Resize an (H, W, 3) image so its longer side is about ``size``, keeping the aspect, to
    the nearest size the model takes."""
    h, w = rgb.shape[:2]
    scale = size / max(h, w)
    new_h, new_w = model.get_nearest_supported_resolution(h * scale, w * scale)
    mmcv = require_toolbox('mmcv', 'resizing images')
    return mmcv.imresize(rgb, (new_w, new_h), interpolation='bicubic')


@torch.no_grad()
def radio_feature_maps(model, rgb, teachers=(), device='cpu'):
    """{caption: (C, h, w)}: the backbone's features, each adaptor's, then each teacher's.

    Args:
        model (RADIOModel): the student, with any adaptors attached.
        rgb (np.ndarray): (H, W, 3) uint8 RGB at a size ``model`` takes.
        teachers (Sequence[BaseTeacher]): teachers to show beside it (each resizes the image
            to its own resolution).
    """
    model = model.to(device).eval()
    x = to_tensor01(rgb, device)
    outputs = model(x, feature_fmt='NCHW')
    if not model.adaptors:
        outputs = dict(backbone=outputs)
    maps = {'backbone': outputs['backbone'].features[0].cpu()}
    for name in model.adaptor_names:
        maps[f'{name} adaptor'] = outputs[name].features[0].cpu()
    for teacher in teachers:
        maps[teacher_caption(teacher)] = teacher.to(device).eval()(x).features[0].cpu()
    return maps


def teacher_caption(teacher):
    """'clip teacher', or 'clip teacher (random weights)' for one built without a checkpoint,
    whose features (and the student's imitation of them) show no meaningful structure."""
    random_weights = getattr(teacher, 'pretrained', '') is None
    return f"{teacher.name} teacher{' (random weights)' if random_weights else ''}"


def feature_pca_picture(model, rgb, size=512, teachers=(), device='cpu', tile=256):
    """The image at the student's input size and every feature map's PCA, as a PIL image."""
    resized = student_input(rgb, model, size)
    maps = radio_feature_maps(model, resized, teachers, device)
    return feature_pca_panel(resized, maps, tile=tile)
