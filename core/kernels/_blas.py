"""numpy's OpenBLAS, reached through ctypes: its thread count, and its idle workers put to sleep.

After each multi-threaded call OpenBLAS's worker threads spin for 2^28 CPU cycles (~0.1 s) before they
sleep, by default: ~50 ms of a core busy after every GEMM. While only GEMMs run that keeps the worker ready
for the next one (an MLP at batch 32 runs 1.3x slower when it has to wake the worker for every GEMM). But
Ember's ``split`` kernels need that core between the GEMMs of a convolutional step, and there the spinning
worker took it: ResNet-18 CIFAR ran no faster on two threads than on one (timings: benchmarks/README.md,
2026-12-07, third session). So the split kernels' thread pool calls ``sleep_idle_workers`` when it starts:
OpenBLAS's workers then sleep at once, as with ``OPENBLAS_THREAD_TIMEOUT=4`` set before numpy loaded
OpenBLAS. It sets that variable, has OpenBLAS read its environment again and restarts its threads, which
read the timeout when they start. A timeout the user set is kept; other BLAS libraries are left as they are.
"""

from __future__ import annotations

import ctypes
import os
import sys

IDLE_TIMEOUT = "4"  # log2 of the cycles a worker spins before it sleeps: OpenBLAS's smallest


class _OpenBLAS:
    lib = None  # the ctypes library, None when numpy's BLAS is not OpenBLAS (or not found)
    set_threads = get_threads = None
    found = False


def openblas():
    """numpy's OpenBLAS as ``_OpenBLAS`` (``lib`` None if there is none), found once in ``/proc/self/maps``."""
    if _OpenBLAS.found:
        return _OpenBLAS
    _OpenBLAS.found = True
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower() and ".so" in line}
    except OSError:  # not Linux
        return _OpenBLAS
    for path in sorted(paths, key=lambda path: ("numpy" not in path, path)):  # numpy's own first
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in ("scipy_openblas", "openblas"):
            for suffix in ("64_", ""):
                setter = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                getter = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                if setter is not None and getter is not None:
                    setter.argtypes, getter.restype = [ctypes.c_int], ctypes.c_int
                    _OpenBLAS.lib, _OpenBLAS.set_threads, _OpenBLAS.get_threads = lib, setter, getter
                    return _OpenBLAS
    return _OpenBLAS


_asked = False


def sleep_idle_workers() -> bool:
    """Makes numpy's OpenBLAS workers sleep as soon as they are idle (once per process), unless
    ``OPENBLAS_THREAD_TIMEOUT`` was set by the user. True when the workers were restarted with the short
    timeout."""
    global _asked
    if _asked:
        return False
    _asked = True
    if "OPENBLAS_THREAD_TIMEOUT" in os.environ or "GOTO_THREAD_TIMEOUT" in os.environ:
        return False
    if "numpy" not in sys.modules:
        import numpy  # noqa: F401 - loads OpenBLAS, so that it can be found

    blas = openblas()
    lib = blas.lib
    needed = ("openblas_read_env", "openblas_thread_timeout", "blas_thread_shutdown_")
    if lib is None or not all(hasattr(lib, name) for name in needed):
        return False
    os.environ["OPENBLAS_THREAD_TIMEOUT"] = IDLE_TIMEOUT  # also what child processes start with
    threads = blas.get_threads()
    lib.openblas_read_env()
    if lib.openblas_thread_timeout() != int(IDLE_TIMEOUT):
        return False
    lib.blas_thread_shutdown_()  # the next multi-threaded call starts the workers with the new timeout
    blas.set_threads(threads)
    return True
