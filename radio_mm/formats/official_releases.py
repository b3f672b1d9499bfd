"""The official RADIO release names, and where their files come from.

``radio_model('c-radio_v4-h')`` works as ``torch.hub.load('NVlabs/RADIO', 'radio_model',
version='c-radio_v4-h')`` does: the file is read from the torch hub checkpoint cache
(``torch.hub.get_dir()/checkpoints/<file name of the URL>``, where
``torch.hub.load_state_dict_from_url`` keeps it) and downloaded there from the release URL
when missing. Names, URLs, resolutions and ViTDet layouts: NVlabs/RADIO `radio/common.py`
``RESOURCE_MAP`` (commit c0f3701), which has no aliases; its ``DEFAULT_VERSION`` is
``c-radio_v4-h``.
"""
import os
import os.path as osp
from typing import NamedTuple, Optional
from urllib.parse import urlparse

import torch

from radio_mm.models.backbones.radio_vit import default_global_blocks

_HF = 'https://huggingface.co/nvidia'


class Release(NamedTuple):
    """One published student.

    url: where NVIDIA serves the ``.pth.tar``.
    patch_size, max_resolution: pixels (official ``RadioResource``).
    preferred_resolution: (height, width) pixels the release was evaluated at.
    supports_vitdet: whether the release may run with ViTDet windows.
    vitdet_num_windowed / vitdet_num_global: the windowed-block layout the release was
        evaluated with (one of them set, or neither: 4 global blocks).
    """
    url: str
    patch_size: int = 16
    max_resolution: int = 2048
    preferred_resolution: tuple = (768, 768)
    supports_vitdet: bool = True
    vitdet_num_windowed: Optional[int] = None
    vitdet_num_global: Optional[int] = None


RELEASES = {
    'radio_v2.5-b': Release(f'{_HF}/RADIO/resolve/main/radio-v2.5-b_half.pth.tar?download=true',
                            vitdet_num_global=4),
    'radio_v2.5-l': Release(f'{_HF}/RADIO/resolve/main/radio-v2.5-l_half.pth.tar?download=true',
                            vitdet_num_global=4),
    'radio_v2.5-h': Release(f'{_HF}/RADIO/resolve/main/radio_v2.5-h.pth.tar?download=true',
                            vitdet_num_global=4),
    'radio_v2.5-h-norm': Release(
        f'{_HF}/RADIO/resolve/main/radio_v2.5-h-norm.pth.tar?download=true', vitdet_num_global=4),
    'radio_v2.5-g': Release(f'{_HF}/RADIO/resolve/main/radio_v2.5-g.pth.tar?download=true',
                            patch_size=14, max_resolution=1792, vitdet_num_global=8,
                            preferred_resolution=(896, 896)),
    'radio_v2.1': Release(f'{_HF}/RADIO/resolve/main/radio_v2.1_bf16.pth.tar?download=true',
                          vitdet_num_windowed=5, preferred_resolution=(432, 432)),
    'radio_v2': Release(f'{_HF}/RADIO/resolve/main/radio_v2.pth.tar?download=true',
                        vitdet_num_windowed=5, preferred_resolution=(432, 432)),
    'radio_v1': Release(f'{_HF}/RADIO/resolve/main/radio_v1.pth.tar?download=true',
                        patch_size=14, max_resolution=1050, preferred_resolution=(378, 378)),
    'e-radio_v2': Release(f'{_HF}/RADIO/resolve/main/eradio_v2.pth.tar?download=true',
                          preferred_resolution=(512, 512)),
    # C-RADIO releases are under their own license terms (NVlabs/RADIO README).
    'c-radio_v2-g': Release(f'{_HF}/C-RADIOv2-g/resolve/main/c-radio_v2-g_half.pth.tar',
                            vitdet_num_global=8),
    'c-radio_v2-vlm-h': Release(f'{_HF}/C-RADIOv2-VLM-H/resolve/main/c-radio_v2-vlm-h.pth.tar',
                                vitdet_num_global=8),
    'c-radio_v3-b': Release(
        f'{_HF}/C-RADIOv3-B/resolve/main/c-radio_v3-b_half.pth.tar?download=true',
        supports_vitdet=False, preferred_resolution=(512, 512)),
    'c-radio_v3-l': Release(
        f'{_HF}/C-RADIOv3-L/resolve/main/c-radio-v3_l_half.pth.tar?download=true',
        supports_vitdet=False, preferred_resolution=(512, 512)),
    'c-radio_v3-h': Release(
        f'{_HF}/C-RADIOv3-H/resolve/main/c-radio_v3-h_half.pth.tar?download=true',
        supports_vitdet=False, preferred_resolution=(512, 512)),
    'c-radio_v3-g': Release(
        f'{_HF}/C-RADIOv3-g/resolve/main/c-radio_v3-g_half.pth.tar?download=true',
        supports_vitdet=False, preferred_resolution=(512, 512)),
    'c-radio_v4-so400m': Release(
        f'{_HF}/C-RADIOv4-SO400M/resolve/main/c-radio_v4-so400m_half.pth.tar?download=true',
        preferred_resolution=(512, 512)),
    'c-radio_v4-h': Release(
        f'{_HF}/C-RADIOv4-H/resolve/main/c-radio_v4-h_half.pth.tar?download=true',
        preferred_resolution=(512, 512)),
}
DEFAULT_RELEASE = 'c-radio_v4-h'


def cached_release_path(name):
    """Where torch hub keeps release ``name``: ``<hub dir>/checkpoints/<URL file name>``."""
    return osp.join(torch.hub.get_dir(), 'checkpoints',
                    osp.basename(urlparse(RELEASES[name].url).path))


def checkpoint_path(checkpoint, progress=True):
    """A local file as is; a release name -> its cached file, downloaded if missing.

    Raises:
        FileNotFoundError: neither an existing file nor a release name.
        RuntimeError: the download failed (offline...); says where to place the file.
    """
    if osp.isfile(checkpoint) or checkpoint not in RELEASES:
        if not osp.isfile(checkpoint):
            raise FileNotFoundError(
                f'checkpoint {checkpoint!r} does not exist and is not an official release '
                f'name ({", ".join(RELEASES)})')
        return checkpoint
    path = cached_release_path(checkpoint)
    if osp.isfile(path):
        return path
    url = RELEASES[checkpoint].url
    os.makedirs(osp.dirname(path), exist_ok=True)
    try:
        # Writes a temporary file next to ``path`` and renames it when complete.
        torch.hub.download_url_to_file(url, path, progress=progress)
    except OSError as error:  # URLError, HTTPError and socket errors are OSErrors
        raise RuntimeError(
            f'could not download release {checkpoint!r} from {url}: {error}. Without network '
            f'access, download that URL elsewhere and place the file at {path}') from error
    return path


def vitdet_global_blocks(name, num_layers):
    """Blocks that stay global when release ``name`` runs with ViTDet windows, in the
    layout the release was evaluated with."""
    release = RELEASES[name]
    if not release.supports_vitdet:
        raise ValueError(f'release {name!r} does not support ViTDet windows (official '
                         'supports_vitdet=False); use vitdet_window_size=None')
    return default_global_blocks(num_layers, release.vitdet_num_global or 4,
                                 release.vitdet_num_windowed)
