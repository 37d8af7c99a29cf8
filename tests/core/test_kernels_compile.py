"""How Ember's ``prange`` kernels compile (``ember.kernels._threads.adaptive``): serially unless a call's
input is huge, so a fresh install waits less before its first step and forked workers can run them."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numba
import numpy as np
import pytest
from ember.kernels import _threads, pooling


def _scatter_case():
    rng = np.random.default_rng(0)
    grad = rng.standard_normal((2, 3, 8)).astype(np.float32)
    idx = rng.integers(-1, 5, (2, 3, 8))
    return grad, idx


def _scatter_reference(grad, idx, plane_size):
    out = np.zeros(grad.shape[:2] + (plane_size,), dtype=grad.dtype)
    for n in range(grad.shape[0]):
        for c in range(grad.shape[1]):
            keep = idx[n, c] >= 0
            np.add.at(out[n, c], idx[n, c][keep], grad[n, c][keep])
    return out


def test_a_small_call_compiles_and_runs_only_the_serial_kernel():
    kernel = pooling.scatter_add_planes
    grad, idx = _scatter_case()
    np.testing.assert_allclose(kernel(grad, idx, 5), _scatter_reference(grad, idx, 5), rtol=1e-6)
    assert kernel.serial.signatures
    assert not kernel.serial.targetoptions.get("parallel")
    assert kernel.parallel is None or not kernel.parallel.signatures  # nothing in this process was huge


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="one thread: the serial kernel always runs")
def test_a_huge_call_runs_the_parallel_kernel_with_the_serial_ones_result(monkeypatch):
    kernel = pooling.scatter_add_planes
    grad, idx = _scatter_case()
    serial = kernel(grad, idx, 5)
    monkeypatch.setattr(_threads, "SMALL_WORK", 1)  # every call counts as huge
    parallel = kernel(grad, idx, 5)
    assert kernel.parallel is not None and kernel.parallel.signatures
    assert kernel.parallel.targetoptions["parallel"]
    np.testing.assert_array_equal(parallel, serial)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="one thread: the serial kernel always runs")
def test_the_two_compilations_have_cache_files_of_their_own(monkeypatch):
    """numba's cache index ignores the compile options: under one name, the parallel kernel would load
    the serial one's machine code from the cache (or the other way round) and silently run it."""
    kernel = pooling.scatter_add_planes
    grad, idx = _scatter_case()
    monkeypatch.setattr(_threads, "SMALL_WORK", 1)
    kernel(grad, idx, 5)
    names = {dispatcher._cache._impl.filename_base for dispatcher in (kernel.serial, kernel.parallel)}
    assert len(names) == 2


_FORKED_STEP = """
import os
import ember
from ember import nn

model = nn.Sequential(nn.Conv2d(1, 4, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 6, 5),
                      nn.Flatten(), nn.Linear(6 * 3 * 3, 10))
x, y = ember.randn(4, 1, 14, 14), ember.tensor([1, 2, 3, 4])

def step():
    model.zero_grad()
    nn.functional.cross_entropy(model(x), y).backward()
    return float(model[0].weight.grad.abs().sum())

expected = step()
pid = os.fork()
if pid == 0:
    os._exit(0 if abs(step() - expected) < 1e-4 * expected else 3)
print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_can_train_after_its_parent_did():
    """numba's GNU OpenMP pool, once started, kills a forked child that enters a parallel region
    ("fork() called from a process already using GNU OpenMP"): Hogwild and DataLoader workers."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_FORKED_STEP)], capture_output=True, text=True, check=True
    )
    assert done.stdout.split()[-1] == "0", done.stderr
