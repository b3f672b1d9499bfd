import io

import numpy as np
import pytest
from PIL import Image
from skimage import data


def png_bytes(array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format='PNG')
    return buffer.getvalue()


@pytest.fixture
def image_folder(tmp_path):
    """Real photos in nested folders, plus one corrupt and one truncated file."""
    root = tmp_path / 'images'
    (root / 'a' / 'b').mkdir(parents=True)
    Image.fromarray(data.astronaut()[::4, ::4]).save(root / 'astronaut.jpg')
    Image.fromarray(data.coffee()[::4, ::4]).save(root / 'a' / 'coffee.png')
    Image.fromarray(data.chelsea()[::2, ::2]).save(root / 'a' / 'b' / 'chelsea.png')
    (root / 'a' / 'broken.jpg').write_bytes(b'definitely not a jpeg')
    (root / 'a' / 'b' / 'truncated.png').write_bytes(
        png_bytes(data.rocket()[::4, ::4])[:200])
    (root / 'notes.txt').write_text('not an image')
    return root


@pytest.fixture
def encode_png():
    return png_bytes


@pytest.fixture
def rgb_arrays():
    return [np.ascontiguousarray(a[::8, ::8]) for a in
            (data.astronaut(), data.coffee(), data.chelsea(), data.rocket())]


@pytest.fixture
def camera16_png():
    """skimage's camera photo (mean 129) as a 16-bit grayscale PNG, and its 8-bit mean."""
    camera = data.camera()[::4, ::4]
    return png_bytes(camera.astype(np.uint16) * 257), camera.mean()


@pytest.fixture
def palette_png():
    """The coffee photo as a 256-colour palette PNG, and its RGB mean."""
    photo = Image.fromarray(data.coffee()[::4, ::4]).convert('P', palette=Image.ADAPTIVE)
    buffer = io.BytesIO()
    photo.save(buffer, format='PNG')
    return buffer.getvalue(), np.asarray(photo.convert('RGB')).mean()
