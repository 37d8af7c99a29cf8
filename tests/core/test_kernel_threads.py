"""The split kernels' thread pool: pieces shared out to whichever thread is free, and numpy's OpenBLAS
workers told to sleep when idle once split calls take a share of the time (instead of spinning on the core
they need); a timeout the user set is kept."""

import os
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest
from ember.kernels import _threads

CHILD = textwrap.dedent("""
    import time
    import numpy as np
    import ember.kernels
    from ember.kernels import _blas, _threads

    blas = _blas.openblas()
    if blas.lib is None or not hasattr(blas.lib, "openblas_thread_timeout") or blas.get_threads() < 2:
        print("skip")
        raise SystemExit
    before = blas.lib.openblas_thread_timeout()
    out = np.zeros(64)

    def fill(out, start, stop):
        time.sleep(0.01)  # split calls that take the process's time
        out[start:stop] = 1

    for _ in range(70):  # 1.4 s of split calls (the first second is not counted)
        _threads._pool.run(fill, (out,), 64, 2)
    assert out.all()
    a = np.ones((512, 512), np.float32)
    idle = []
    for _ in range(3):
        a @ a  # on two threads
        start = time.process_time()
        time.sleep(0.2)
        idle.append(time.process_time() - start)
    print(before, blas.lib.openblas_thread_timeout(), blas.get_threads(), min(idle))
""")


def _child(env_timeout=None):
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_THREAD_TIMEOUT", "GOTO_THREAD_TIMEOUT")}
    env.update(OPENBLAS_NUM_THREADS="2", OMP_NUM_THREADS="2")
    if env_timeout is not None:
        env["OPENBLAS_THREAD_TIMEOUT"] = env_timeout
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=120,
                         check=False)
    assert out.returncode == 0, out.stderr
    if out.stdout.strip() == "skip":
        pytest.skip("numpy's BLAS here is not a multi-threaded OpenBLAS")
    before, after, threads, idle = out.stdout.split()
    return int(before), int(after), int(threads), float(idle)


def test_idle_blas_workers_sleep_once_split_calls_take_time_and_keep_their_thread_count():
    before, after, threads, idle = _child()
    assert before != 4  # OpenBLAS's own default until Ember's threads need the core
    assert after == 4
    assert threads == 2
    # a spinning worker burns ~0.05-0.1 s of CPU in the 0.2 s after a GEMM; a sleeping one nothing
    assert idle < 0.02


def test_a_timeout_the_user_set_is_kept():
    before, after, threads, _ = _child("20")
    assert before == after == 20
    assert threads == 2


POSTPONED = textwrap.dedent("""
    import threading
    import time
    import numpy as np
    from ember.kernels import _blas, _threads

    blas = _blas.openblas()
    if blas.lib is None or not hasattr(blas.lib, "openblas_thread_timeout") or blas.get_threads() < 2:
        print("skip")
        raise SystemExit
    stop = False

    def busy():  # a thread running Python code: it could be about to call BLAS
        while not stop:
            pass

    def fill(out, start, stop):
        time.sleep(0.01)
        out[start:stop] = 1

    thread = threading.Thread(target=busy)
    thread.start()
    for _ in range(70):
        _threads._pool.run(fill, (np.zeros(64),), 64, 2)
    during = blas.lib.openblas_thread_timeout()
    stop = True
    thread.join()
    _threads._pool.run(fill, (np.zeros(64),), 64, 2)
    print(during, blas.lib.openblas_thread_timeout())
""")


def test_the_workers_restart_only_while_no_other_thread_may_be_in_blas():
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_THREAD_TIMEOUT", "GOTO_THREAD_TIMEOUT")}
    env.update(OPENBLAS_NUM_THREADS="2", OMP_NUM_THREADS="2")
    out = subprocess.run([sys.executable, "-c", POSTPONED], env=env, capture_output=True, text=True, timeout=120,
                         check=False)
    assert out.returncode == 0, out.stderr
    if out.stdout.strip() == "skip":
        pytest.skip("numpy's BLAS here is not a multi-threaded OpenBLAS")
    during, after = map(int, out.stdout.split())
    assert during != 4  # postponed while the other thread ran
    assert after == 4  # done by the first pool call after it stopped


SPARSE = textwrap.dedent("""
    import time
    import numpy as np
    from ember.kernels import _blas, _threads

    def fill(out, start, stop):
        out[start:stop] = 1

    for _ in range(16):  # a quick split call now and then, the time spent elsewhere (GEMMs)
        _threads._pool.run(fill, (np.zeros(64),), 64, 2)
        time.sleep(0.1)
    print(_blas._done, "OPENBLAS_THREAD_TIMEOUT" in __import__("os").environ)
""")


def test_a_process_whose_time_is_not_in_split_calls_keeps_the_spinning_workers():
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_THREAD_TIMEOUT", "GOTO_THREAD_TIMEOUT")}
    out = subprocess.run([sys.executable, "-c", SPARSE], env=env, capture_output=True, text=True, timeout=120,
                         check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]


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
