"""numpy's OpenBLAS workers sleep when idle once Ember's kernels load, instead of spinning on the core the
kernels' own threads need; a timeout the user set is kept."""

import os
import subprocess
import sys
import textwrap

import pytest

CHILD = textwrap.dedent("""
    import time
    import numpy as np
    import ember.kernels
    from ember.kernels import _blas

    blas = _blas.openblas()
    if blas.lib is None or not hasattr(blas.lib, "openblas_thread_timeout") or blas.get_threads() < 2:
        print("skip")
        raise SystemExit
    a = np.ones((512, 512), np.float32)
    idle = []
    for _ in range(3):
        a @ a  # on two threads
        start = time.process_time()
        time.sleep(0.2)
        idle.append(time.process_time() - start)
    print(blas.lib.openblas_thread_timeout(), blas.get_threads(), min(idle))
""")


def _child(env_timeout=None):
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_THREAD_TIMEOUT", "GOTO_THREAD_TIMEOUT")}
    env.update(OPENBLAS_NUM_THREADS="2", OMP_NUM_THREADS="2")
    if env_timeout is not None:
        env["OPENBLAS_THREAD_TIMEOUT"] = env_timeout
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    if out.stdout.strip() == "skip":
        pytest.skip("numpy's BLAS here is not a multi-threaded OpenBLAS")
    timeout, threads, idle = out.stdout.split()
    return int(timeout), int(threads), float(idle)


def test_idle_blas_workers_sleep_and_keep_their_thread_count():
    timeout, threads, idle = _child()
    assert timeout == 4
    assert threads == 2
    # a spinning worker burns ~0.05-0.1 s of CPU in the 0.2 s after a GEMM; a sleeping one nothing
    assert idle < 0.02


def test_a_timeout_the_user_set_is_kept():
    timeout, threads, _ = _child("20")
    assert timeout == 20
    assert threads == 2
