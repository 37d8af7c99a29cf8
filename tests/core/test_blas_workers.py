"""Optimizer updates on numpy's OpenBLAS workers (``Split.on_blas_workers``, ``_blas.run_on_workers``): a large
update is cut into one contiguous piece per thread, the caller's first, and gives the one-thread kernel's
values to the bit; where OpenBLAS cannot take it (one BLAS thread) it runs as before, and a forked child runs it
too. torch's values for the same updates: tests/core/optim/test_sgd_fused.py and test_adam_fused.py (their
largest parameter takes this path)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numba
import numpy as np
import pytest
from ember.kernels import _blas, _threads, optim


@pytest.fixture
def workers(monkeypatch):
    """The calls that ran on OpenBLAS's workers (True) or were refused (False); skips where there are none."""
    if _blas.openblas().get_threads is None or _blas.openblas().get_threads() < 2 or numba.get_num_threads() < 2:
        pytest.skip("numpy's BLAS here is not OpenBLAS on two threads")
    if _blas._level1() is None:
        pytest.skip("this OpenBLAS has no blas_level1_thread that calls back as expected")
    ran, original = [], _blas.run_on_workers
    monkeypatch.setattr(_blas, "run_on_workers", lambda *args: ran.append(original(*args)) or ran[-1])
    return ran


SIZE = 300_001  # above both kernels' thresholds, odd: the pieces are 150,001 and 150,000 long


def _sgd_args(rng, dtype, first, nesterov, momentum):
    param, grad, buf = (rng.standard_normal(SIZE).astype(dtype) for _ in range(3))
    scalar = np.dtype(dtype).type
    return [param, grad, buf, first, scalar(0.01), scalar(momentum), scalar(0.7), nesterov, scalar(-0.1)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("first", "nesterov", "momentum"), [(True, False, 0.9), (False, True, 0.9),
                                                              (False, False, 0.0)])
def test_sgd_on_the_workers_gives_the_one_thread_values(workers, dtype, first, nesterov, momentum):
    args = _sgd_args(np.random.default_rng(0), dtype, first, nesterov, momentum)
    expected = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    optim.sgd_update.serial(*expected, 0, SIZE)
    optim.sgd_update(SIZE, *args)
    assert workers == [True]
    np.testing.assert_array_equal(args[0], expected[0])
    np.testing.assert_array_equal(args[2], expected[2])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_on_the_workers_gives_the_one_thread_values(workers, dtype, amsgrad):
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(SIZE).astype(dtype)] * 3 + [rng.random(SIZE).astype(dtype) for _ in range(2)]
    arrays = [a.copy() for a in arrays]
    scalar = np.dtype(dtype).type
    scalars = [scalar(s) for s in (0.1, 0.9, 0.999, 0.001, 0.99, 0.01, 0.002, 0.3, 1e-8)] + [amsgrad]
    expected = [a.copy() for a in arrays]
    optim.adam_update.serial(*expected, *scalars, 0, SIZE)
    optim.adam_update(SIZE, *arrays, *scalars)
    assert workers == [True]
    for got, want in zip(arrays, expected):
        np.testing.assert_array_equal(got, want)


def test_with_one_blas_thread_the_update_runs_as_before(workers):
    args = _sgd_args(np.random.default_rng(2), np.float32, False, False, 0.9)
    expected = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    optim.sgd_update.serial(*expected, 0, SIZE)
    with _threads.one_blas_thread(0):  # e.g. attention's pieces, which call BLAS themselves
        optim.sgd_update(SIZE, *args)
    assert workers == [False]
    np.testing.assert_array_equal(args[0], expected[0])


def test_arrays_the_pieces_cannot_describe_take_the_other_path(workers):
    args = _sgd_args(np.random.default_rng(3), np.float32, False, False, 0.9)
    args[1] = np.random.default_rng(4).standard_normal(SIZE)  # float64 gradient for float32 weights
    assert optim._sgd_entry(*args) is None
    args = _sgd_args(np.random.default_rng(3), np.float16, False, False, 0.9)
    assert optim._sgd_entry(*args) is None
    assert workers == []


_FORKED = textwrap.dedent("""
    import os
    import numpy as np
    from ember.kernels import _blas, optim

    def update():
        rng = np.random.default_rng(0)
        param, grad, buf = (rng.standard_normal(300_001).astype(np.float32) for _ in range(3))
        s = np.float32
        optim.sgd_update(param.size, param, grad, buf, False, s(0.0), s(0.9), s(1.0), False, s(-0.1))
        return float(np.abs(param).sum())

    expected = update()
    if _blas._level1() is None:
        print("skip")
        raise SystemExit
    pid = os.fork()
    if pid == 0:
        os._exit(0 if update() == expected else 3)
    print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
""")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork here")
def test_a_forked_child_runs_the_update_on_workers_of_its_own():
    env = dict(os.environ, OPENBLAS_NUM_THREADS="2", NUMBA_NUM_THREADS="2")
    out = subprocess.run([sys.executable, "-c", _FORKED], env=env, capture_output=True, text=True, timeout=120,
                         check=False)
    assert out.returncode == 0, out.stderr
    if out.stdout.strip() == "skip":
        pytest.skip("this OpenBLAS has no blas_level1_thread that calls back as expected")
    assert out.stdout.strip() == "0"


def test_updates_from_two_threads_beside_products_finish_with_the_one_thread_values(workers):
    import threading

    def run(seed, results):
        args = _sgd_args(np.random.default_rng(seed), np.float32, False, True, 0.9)
        expected = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        for _ in range(20):
            optim.sgd_update.serial(*expected, 0, SIZE)
            optim.sgd_update(SIZE, *args)
        results[seed] = np.array_equal(args[0], expected[0]) and np.array_equal(args[2], expected[2])

    def products():
        a = np.ones((256, 256), np.float32)
        for _ in range(50):
            a @ a  # OpenBLAS's workers are also asked for GEMMs meanwhile

    results = {}
    threads = [threading.Thread(target=run, args=(seed, results)) for seed in (5, 6)] + [threading.Thread(target=products)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)  # no hang
    assert results == {5: True, 6: True}
    assert True in workers
