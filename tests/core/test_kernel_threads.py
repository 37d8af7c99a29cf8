"""The split kernels' thread pool: pieces shared out to whichever thread is free, and numpy's OpenBLAS
workers told to spin briefly once the kernels load and to sleep at once from the first heavy split call
(instead of spinning on the core the pool needs); a timeout the user set is kept, and the restart waits until
no other thread may be inside BLAS."""

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
    import subprocess
    import sys
    import time
    import numpy as np

    def idle_cpu():  # CPU time the process burns in the 0.2 s after a product on two threads
        a = np.ones((512, 512), np.float32)
        idle = []
        for _ in range(3):
            a @ a
            start = time.process_time()
            time.sleep(0.2)
            idle.append(time.process_time() - start)
        return min(idle)

    import importlib.util
    import ember
    # _blas's file on its own: importing ember.kernels would already shorten the spin
    spec = importlib.util.spec_from_file_location("blas_alone", ember.__path__[0] + "/kernels/_blas.py")
    alone = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(alone)
    blas = alone.openblas()
    if blas.lib is None or not hasattr(blas.lib, "openblas_thread_timeout") or blas.get_threads() < 2:
        print("skip")
        raise SystemExit
    before = blas.lib.openblas_thread_timeout()
    spinning = idle_cpu()
    import ember.kernels
    from ember.kernels import _blas
    loaded = blas.lib.openblas_thread_timeout()
    brief = idle_cpu()
    # a child process started now inherits the timeout, which is Ember's, not the user's: a heavy split call
    # there lowers it too, without a restart before
    child = subprocess.run([sys.executable, "-c", "import ember.kernels; from ember.kernels import _blas; "
                            "print(_blas._floor, _blas.limit_idle_spin(_blas.IDLE_TIMEOUT))"],
                           capture_output=True, text=True, check=True).stdout.split()
    _blas.limit_idle_spin(_blas.IDLE_TIMEOUT)  # a heavy split call's
    print(before, spinning, loaded, brief, blas.lib.openblas_thread_timeout(), blas.get_threads(), *child)
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
    first = _blas.limit_idle_spin(_blas.IDLE_TIMEOUT)
    during = blas.lib.openblas_thread_timeout()
    stop = True
    thread.join()
    second = _blas.limit_idle_spin(_blas.IDLE_TIMEOUT)
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


def test_idle_blas_workers_spin_briefly_then_sleep_and_keep_their_thread_count():
    before, _, loaded, brief, after, threads, child_start, child_lowered = _child(CHILD)
    assert int(before) == 0  # OpenBLAS's own default: 2^28 cycles
    # a worker spinning ~0.1 s (before) burns ~0.05-0.1 s of CPU in the 0.2 s after a GEMM on a quiet machine;
    # one that sleeps after ~6 ms (once the kernels have loaded) a few ms
    assert int(loaded) == _blas.SPIN_TIMEOUT == 24 and float(brief) < 0.02
    assert int(after) == 4  # from the first heavy split call
    assert int(threads) == 2
    assert child_start == str(_blas.SPIN_TIMEOUT) and child_lowered == "True"  # a child starts with its parent's timeout


def test_a_timeout_the_user_set_is_kept():
    before, _, loaded, _, after, threads, child_start, child_lowered = _child(CHILD, "28")
    assert int(before) == int(loaded) == int(after) == 28
    assert int(threads) == 2
    assert child_start == "0" and child_lowered == "False"


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
    monkeypatch.setattr(_blas, "limit_idle_spin", calls.append)
    kernel = _threads.Split(_fill, 100, {})
    light, heavy = np.zeros(100 * (_threads.HEAVY - 1)), np.zeros(100 * _threads.HEAVY)
    kernel(light.size, light)  # split, but light: an MLP's ReLU
    assert calls == []
    kernel(heavy.size, heavy)
    assert calls == [_blas.IDLE_TIMEOUT]
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
