"""ember.hub: downloads from a local HTTP server on 127.0.0.1 (tests/http_server.py)."""

from __future__ import annotations

import hashlib
import io
import socket

import ember
import numpy as np
import pytest
from ember import hub

from tests.http_server import FileServer


def _checkpoint_bytes() -> bytes:
    buffer = io.BytesIO()
    ember.save({"weight": ember.arange(6.0).reshape(2, 3), "bias": ember.ones(2)}, buffer)
    return buffer.getvalue()


DATA = _checkpoint_bytes()
SHA = hashlib.sha256(DATA).hexdigest()


@pytest.fixture
def server():
    with FileServer({f"/models/net-{SHA[:8]}.pth": DATA, "/models/bad-00000000.pth": DATA}) as s:
        yield s


@pytest.fixture(autouse=True)
def hub_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(hub, "_hub_dir", None)
    monkeypatch.setenv("EMBER_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(hub.time, "sleep", lambda seconds: None)  # no real backoff in tests
    return tmp_path / "home" / "hub"


def test_get_dir_follows_ember_home_and_set_dir(hub_dir, tmp_path):
    assert hub.get_dir() == str(hub_dir)
    hub.set_dir(tmp_path / "elsewhere")
    assert hub.get_dir() == str(tmp_path / "elsewhere")


def test_load_state_dict_from_url_downloads_once_and_checks_the_hash(server, hub_dir):
    url = server.url(f"/models/net-{SHA[:8]}.pth")
    state = hub.load_state_dict_from_url(url, check_hash=True, progress=False)
    assert state["weight"].tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert (hub_dir / "checkpoints" / f"net-{SHA[:8]}.pth").read_bytes() == DATA
    again = hub.load_state_dict_from_url(url, check_hash=True, progress=False)
    assert again["bias"].tolist() == [1.0, 1.0]
    assert len(server.requests) == 1  # the second call is a cache hit


def test_a_wrong_hash_is_refused_and_nothing_kept(server, hub_dir):
    with pytest.raises(RuntimeError, match=r'invalid hash value .*bad-00000000\.pth \(expected "00000000"'):
        hub.load_state_dict_from_url(server.url("/models/bad-00000000.pth"), check_hash=True, progress=False)
    assert not any((hub_dir / "checkpoints").iterdir())


def test_a_download_cut_midway_resumes_with_range(server, tmp_path):
    path = f"/models/net-{SHA[:8]}.pth"
    server.cut_next[path] = len(DATA) // 3
    target = tmp_path / "w.pth"
    hub.download_url_to_file(server.url(path), target, hash_prefix=SHA[:8], progress=False)
    assert target.read_bytes() == DATA
    assert server.ranges == [None, f"bytes={len(DATA) // 3}-"]
    assert not (tmp_path / "w.pth.partial").exists()


def test_a_killed_download_leaves_only_a_partial_file_which_the_next_call_resumes(server, tmp_path):
    target = tmp_path / "w.pth"
    (tmp_path / "w.pth.partial").write_bytes(DATA[:100])  # what a killed process leaves
    assert not target.exists()
    hub.download_url_to_file(server.url(f"/models/net-{SHA[:8]}.pth"), target, progress=False)
    assert target.read_bytes() == DATA and server.ranges == ["bytes=100-"]


def test_server_errors_are_retried_and_404_is_not(server, tmp_path):
    path = f"/models/net-{SHA[:8]}.pth"
    server.fail_next[path] = 2
    hub.download_url_to_file(server.url(path), tmp_path / "w.pth", progress=False)
    assert len(server.requests) == 3 and (tmp_path / "w.pth").read_bytes() == DATA
    with pytest.raises(RuntimeError, match=r"could not download http://127\.0\.0\.1:\d+/missing\.pth: HTTP 404"):
        hub.download_url_to_file(server.url("/missing.pth"), tmp_path / "m.pth", progress=False)
    assert server.requests.count("/missing.pth") == 1 and not (tmp_path / "m.pth").exists()


def test_an_unreachable_host_names_the_url(tmp_path):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/w.pth"
    with pytest.raises(RuntimeError, match=rf"could not download {url} after 4 attempts .*by hand"):
        hub.download_url_to_file(url, tmp_path / "w.pth", progress=False)


@pytest.mark.parity
def test_a_torch_file_served_over_http_loads_like_the_file_itself(tmp_path):
    torch = pytest.importorskip("torch")
    model = torch.nn.Linear(3, 2)
    torch.save(model.state_dict(), tmp_path / "linear.pth")
    data = (tmp_path / "linear.pth").read_bytes()
    name = f"/linear-{hashlib.sha256(data).hexdigest()[:10]}.pth"
    with FileServer({name: data}) as server:
        state = hub.load_state_dict_from_url(server.url(name), check_hash=True, progress=False)
    ours = ember.nn.Linear(3, 2)
    ours.load_state_dict(state)
    x = np.ones((1, 3), np.float32)
    np.testing.assert_allclose(ours(ember.from_numpy(x)).detach().numpy(),
                               model(torch.from_numpy(x)).detach().numpy(), rtol=1e-6)
