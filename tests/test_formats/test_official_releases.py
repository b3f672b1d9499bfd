"""Official release names: torch hub cache, download with progress, offline errors.

Downloads are served by a local HTTP server (127.0.0.1, free port, shut down after the test
or after 30 s at most) from a folder holding the tiny release-layout checkpoint of
tests/data; the release table is monkeypatched to point at it. Nothing reaches the internet.
"""
import os.path as osp
import runpy
import shutil
import socket
import sys
import threading
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
import torch

from radio_mm.apis import radio_model
from radio_mm.formats import official_releases
from radio_mm.formats.official_releases import RELEASES, Release, cached_release_path

DATA = osp.join(osp.dirname(osp.dirname(__file__)), 'data')
OFFICIAL = osp.join(DATA, 'radio_official_tiny.pth.tar')
NAME = 'c-radio_v4-h'
FILE = 'c-radio_v4-h_half.pth.tar'


class _CountingHandler(SimpleHTTPRequestHandler):

    def do_GET(self):
        self.server.requests.append(self.path)
        super().do_GET()

    def log_message(self, *args):
        pass


@contextmanager
def serve_folder(folder, timeout=30.0):
    """(base URL, list of requested paths) of an HTTP server on ``folder``."""
    server = ThreadingHTTPServer(('127.0.0.1', 0),
                                 partial(_CountingHandler, directory=str(folder)))
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, kwargs=dict(poll_interval=0.05),
                              daemon=True)
    watchdog = threading.Timer(timeout, server.shutdown)  # stops even if a test hangs
    watchdog.daemon = True
    thread.start()
    watchdog.start()
    try:
        yield f'http://127.0.0.1:{server.server_port}', server.requests
    finally:
        watchdog.cancel()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def hub_dir(tmp_path, monkeypatch):
    """An empty torch hub folder (what ``torch.hub.set_dir`` sets)."""
    path = tmp_path / 'hub'
    monkeypatch.setattr(torch.hub, '_hub_dir', str(path))
    return path


def _point_release_at(monkeypatch, url, **layout):
    monkeypatch.setitem(RELEASES, NAME, Release(url, **layout))


def test_cache_file_names_follow_torch_hub():
    # load_state_dict_from_url names the cached file after the URL path, without the query.
    assert osp.basename(cached_release_path(NAME)) == FILE
    assert osp.basename(cached_release_path('c-radio_v3-l')) == 'c-radio-v3_l_half.pth.tar'
    assert official_releases.DEFAULT_RELEASE in RELEASES and len(RELEASES) == 17
    assert all(r.url.startswith('https://huggingface.co/nvidia/') for r in RELEASES.values())


def test_release_name_downloads_once_with_progress_then_uses_the_cache(
        tmp_path, hub_dir, monkeypatch, capfd):
    served = tmp_path / 'served'
    served.mkdir()
    shutil.copy(OFFICIAL, served / FILE)
    x = torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        expected = radio_model(OFFICIAL, adaptor_names='clip')(x)
    with serve_folder(served) as (base, requests):
        _point_release_at(monkeypatch, f'{base}/{FILE}?download=true')
        model = radio_model(NAME, adaptor_names='clip')
        assert requests == [f'/{FILE}?download=true']
        assert '100%' in capfd.readouterr().err  # torch.hub's progress bar
        assert (hub_dir / 'checkpoints' / FILE).is_file()
        with torch.no_grad():
            outputs = model(x)
        for name in ('backbone', 'clip'):
            assert torch.equal(outputs[name].features, expected[name].features)
        radio_model(NAME)
        assert len(requests) == 1  # the second load reads the cache


def test_release_name_takes_the_release_vitdet_layout(hub_dir, monkeypatch):
    (hub_dir / 'checkpoints').mkdir(parents=True)
    shutil.copy(OFFICIAL, hub_dir / 'checkpoints' / FILE)  # already cached: no server
    # v2/v2.1 layout: periods of 5 windowed blocks + 1 global (the tiny model has 8 blocks).
    _point_release_at(monkeypatch, f'http://127.0.0.1:9/{FILE}', vitdet_num_windowed=5)
    assert radio_model(NAME, vitdet_window_size=2).backbone.global_blocks == {5, 7}
    # A local file gets the official default layout (4 global blocks).
    assert radio_model(OFFICIAL, vitdet_window_size=2).backbone.global_blocks == {1, 3, 5, 7}
    _point_release_at(monkeypatch, f'http://127.0.0.1:9/{FILE}', supports_vitdet=False)
    with pytest.raises(ValueError, match='does not support ViTDet'):
        radio_model(NAME, vitdet_window_size=2)


def test_offline_error_names_the_url_and_where_to_put_the_file(hub_dir, monkeypatch):
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    url = f'http://127.0.0.1:{port}/{FILE}'
    _point_release_at(monkeypatch, url)
    with pytest.raises(RuntimeError) as error:
        radio_model(NAME)
    assert url in str(error.value)
    assert str(hub_dir / 'checkpoints' / FILE) in str(error.value)
    assert not (hub_dir / 'checkpoints' / FILE).exists()  # nothing half-written left


def test_unknown_names_list_the_releases():
    with pytest.raises(FileNotFoundError, match="'c-radio_v9' does not exist.*c-radio_v4-h"):
        radio_model('c-radio_v9')


def test_converter_takes_a_release_name(tmp_path, hub_dir, repo_root, monkeypatch, capsys):
    (hub_dir / 'checkpoints').mkdir(parents=True)
    shutil.copy(OFFICIAL, hub_dir / 'checkpoints' / FILE)
    dst = tmp_path / 'converted.pth'
    # The script itself, run in this process (a fresh interpreter costs seconds of imports).
    monkeypatch.setattr(sys, 'argv', ['radio2mm.py', NAME, str(dst)])
    runpy.run_path(osp.join(repo_root, 'tools/model_converters/radio2mm.py'),
                   run_name='__main__')
    assert f'saved {dst}' in capsys.readouterr().out
    assert torch.load(dst)['meta']['source'] == FILE
