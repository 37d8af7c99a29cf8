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


@pytest.fixture(params=[1, 2], ids=["1thread", "2threads"])
def kernel_threads(request):
    """The test runs once with numba (and the split kernels' pool) on one thread and once on two; the
    second is skipped where numba has a single thread."""
    import numba

    if request.param > numba.config.NUMBA_NUM_THREADS:
        pytest.skip("numba has one thread here")
    before = numba.get_num_threads()
    numba.set_num_threads(request.param)
    yield request.param
    numba.set_num_threads(before)
