"""Shared test fixtures: every test starts from the same random state and backend flags; the download
tests' local server."""

from __future__ import annotations

import random
import sys

import numpy as np
import pytest


def _one_torch_thread():
    """torch on one thread once a test has loaded it: the xdist workers share the cores, and torch's idle pool
    spins (the parity tests' torch sides used twice the CPU time with it)."""
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != 1:
        torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed_everything():
    import ember

    ember.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    _one_torch_thread()
    cudnn = ember.backends.cudnn  # ported scripts set `cudnn.benchmark = True`, as PyTorch's examples do
    flags = (cudnn.deterministic, cudnn.benchmark, cudnn.enabled)
    yield
    _one_torch_thread()  # (a test that first imported torch ran with its pool; the next ones do not)
    cudnn.deterministic, cudnn.benchmark, cudnn.enabled = flags


@pytest.fixture
def no_download_backoff(monkeypatch):
    """ember.hub retries without sleeping (its backoff would only slow the download tests)."""
    from ember import hub

    monkeypatch.setattr(hub.time, "sleep", lambda seconds: None)


@pytest.fixture(scope="module")
def running_server():
    """One local HTTP server per test module (tests/http_server.py): stopping one takes ~0.5 s."""
    from tests.http_server import FileServer

    with FileServer({}) as server:
        yield server


@pytest.fixture
def serve(running_server, no_download_backoff):
    """``serve(files)``: the module's server, now serving only ``files``, its logs emptied."""
    return running_server.reset
