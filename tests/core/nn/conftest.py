"""Fixtures of the nn tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def one_torch_thread():
    """torch on one thread for the test: its pool makes the small reference ops of the kernel tests several
    times slower on a busy machine (``pytestmark = [..., pytest.mark.usefixtures("one_torch_thread")]``)."""
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
