"""The split kernels' thread pool: pieces shared out to whichever thread is free, and numpy's OpenBLAS
workers told to sleep when idle from the first heavy split call (instead of spinning on the core the pool
needs); a timeout the user set is kept, and the restart waits until no other thread may be inside BLAS."""

import os
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest
from ember.kernels import _blas, _threads

CHILD = textwrap.dedent("""
    import time
    import numpy as np
    import ember.kernels
    from ember.kernels import _blas

    blas = _blas.openblas()
    if blas.lib is None or not hasattr(blas.lib, "openblas_thread_timeout") or blas.get_threads() < 2:
        print("skip")
        raise SystemExit
    before = blas.lib.openblas_thread_timeout()
    _blas.sleep_idle_workers()
    a = np.ones((512, 512), np.float32)
    idle = []
    for _ in range(3):
        a @ a  # on two threads
        start = time.process_time()
        time.sleep(0.2)
        idle.append(time.process_time() - start)
    print(before, blas.lib.openblas_thread_timeout(), blas.get_threads(), min(idle))
""")

POSTPONED = textwrap.dedent("""
    import threading
    from ember.kernels import _blas

    blas = _blas.openblas()
    if blas.lib is None or not hasattr(blas.lib, "openblas_thread_timeout") or blas.get_threads() < 2:
        print("skip")
        raise SystemExit
    stop = False

    def busy():  # a thread running Python code: it could be about to call BLAS
        while not stop:
            pass

    thread = threading.Thread(target=busy)
    thread.start()
    first = _blas.sleep_idle_workers()
    during = blas.lib.openblas_thread_timeout()
    stop = True
    thread.join()
    second = _blas.sleep_idle_workers()
    print(first, during, second, blas.lib.openblas_thread_timeout())
""")


def _child(script, env_timeout=None):
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_THREAD_TIMEOUT", "GOTO_THREAD_TIMEOUT")}
    env.update(OPENBLAS_NUM_THREADS="2", OMP_NUM_THREADS="2")
    if env_timeout is not None:
        env["OPENBLAS_THREAD_TIMEOUT"] = env_timeout
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120,
                         check=False)
    assert out.returncode == 0, out.stderr
    if out.stdout.strip() == "skip":
        pytest.skip("numpy's BLAS here is not a multi-threaded OpenBLAS")
    return out.stdout.split()


def test_idle_blas_workers_sleep_and_keep_their_thread_count():
    before, after, threads, idle = _child(CHILD)
    assert int(before) != 4  # OpenBLAS's own default
    assert int(after) == 4
    assert int(threads) == 2
    # a spinning worker burns ~0.05-0.1 s of CPU in the 0.2 s after a GEMM; a sleeping one nothing
    assert float(idle) < 0.02


def test_a_timeout_the_user_set_is_kept():
    before, after, threads, _ = _child(CHILD, "20")
    assert int(before) == int(after) == 20
    assert int(threads) == 2


def test_the_workers_restart_only_while_no_other_thread_may_be_in_blas():
    first, during, second, after = _child(POSTPONED)
    assert first == "False" and int(during) != 4  # postponed while the other thread ran Python code
    assert second == "True" and int(after) == 4  # done once it had stopped


def _fill(out, start, stop):
    for i in range(start, stop):
        out[i] = i


def test_only_a_heavy_split_call_puts_the_blas_workers_to_sleep(monkeypatch):
    import numba

    monkeypatch.setattr(numba, "get_num_threads", lambda: 2)  # the pool's threads are Python threads
    calls = []
    monkeypatch.setattr(_blas, "_done", False)
    monkeypatch.setattr(_blas, "sleep_idle_workers", lambda: calls.append(1))
    kernel = _threads.Split(_fill, 100, {})
    light, heavy = np.zeros(100 * (_threads.HEAVY - 1)), np.zeros(100 * _threads.HEAVY)
    kernel(light.size, light)  # split, but light: an MLP's ReLU
    assert calls == []
    kernel(heavy.size, heavy)
    assert calls == [1]
    np.testing.assert_array_equal(heavy, np.arange(heavy.size))


def test_the_caller_runs_the_pieces_of_a_worker_that_is_busy_elsewhere():
    ran = {}

    def piece(out, start, stop):
        mine = threading.current_thread() is threading.main_thread()
        if not mine:
            time.sleep(0.3)  # a worker whose core is taken
        out[start:stop] = start
        ran[start] = mine

    pool, out = _threads._Pool(), np.full(64, -1)
    pool.run(piece, (out,), 64, 2)  # four pieces of 16
    assert sorted(ran) == [0, 16, 32, 48]
    np.testing.assert_array_equal(out, np.repeat([0, 16, 32, 48], 16))
    assert sum(ran.values()) >= 3  # the caller did not wait for the worker's first piece to take the rest
    pool.run(piece, (out,), 64, 2)  # and the pool runs on
    assert sorted(ran) == [0, 16, 32, 48]
