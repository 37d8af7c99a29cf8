"""numpy's OpenBLAS, reached through ctypes: its thread count, and its idle workers put to sleep.

After each multi-threaded call OpenBLAS's worker threads spin for 2^28 CPU cycles (~0.1 s) before they
sleep, by default: ~50 ms of a core busy after every GEMM. While only GEMMs run that keeps the worker ready
for the next one (an MLP at batch 32 runs 1.3x slower when it has to wake the worker for every GEMM). But
Ember's ``split`` kernels need that core between the GEMMs of a convolutional step, and there the spinning
worker took it: ResNet-18 CIFAR ran no faster on two threads than on one (timings: benchmarks/README.md,
2026-12-07, third session). So the first heavy split kernel call (``_threads.HEAVY``) calls
``sleep_idle_workers``: OpenBLAS's workers then sleep at once, as with ``OPENBLAS_THREAD_TIMEOUT=4`` set
before numpy loaded OpenBLAS. It sets that variable, has OpenBLAS read its environment again and restarts its threads, which
read the timeout when they start. A timeout the user set is kept; other BLAS libraries are left as they are.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading

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


_done = False
_tries = 0
# files whose functions a thread blocks in (locks, queues, sockets, pipes): a thread whose current Python
# frame is in one of them is not inside a BLAS call
_WAITING = ("threading.py", "queue.py", "selectors.py", "socket.py", "connection.py", "subprocess.py", "ssl.py")


_POOL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_threads.py")  # the split kernels' idle workers


def _others_waiting() -> bool:
    """Whether every other Python thread is blocked waiting (not, as far as can be told, inside numpy)."""
    me = threading.get_ident()
    return all(ident == me or os.path.basename(frame.f_code.co_filename) in _WAITING
               or frame.f_code.co_filename == _POOL for ident, frame in sys._current_frames().items())


def sleep_idle_workers() -> bool:
    """Makes numpy's OpenBLAS workers sleep as soon as they are idle (once per process), unless
    ``OPENBLAS_THREAD_TIMEOUT`` was set by the user. True when the workers were restarted with the short
    timeout.

    Restarting OpenBLAS's threads while another thread runs a multi-threaded BLAS call would hang that call,
    so it happens only while every other Python thread is blocked waiting, and holding the GIL (``PyDLL``)
    so that none can start one meanwhile; otherwise a later call tries again (up to 1000 calls)."""
    global _done, _tries
    if _done:
        return False
    _tries += 1
    if _tries > 1000:
        _done = True
    if "OPENBLAS_THREAD_TIMEOUT" in os.environ or "GOTO_THREAD_TIMEOUT" in os.environ:
        _done = True  # the user's (or an earlier restart's, inherited by a child process)
        return False
    if "numpy" not in sys.modules:
        import numpy  # noqa: F401 - loads OpenBLAS, so that it can be found

    blas = openblas()
    needed = ("openblas_read_env", "openblas_thread_timeout", "blas_thread_shutdown_")
    if blas.lib is None or not all(hasattr(blas.lib, name) for name in needed):
        _done = True
        return False
    if not _others_waiting():
        return False
    _done = True
    lib = ctypes.PyDLL(blas.lib._name)  # its calls keep the GIL
    os.environ["OPENBLAS_THREAD_TIMEOUT"] = IDLE_TIMEOUT  # also what child processes start with
    threads = blas.get_threads()
    lib.openblas_read_env()
    if lib.openblas_thread_timeout() != int(IDLE_TIMEOUT):
        return False
    lib.blas_thread_shutdown_()  # the next multi-threaded call starts the workers with the new timeout
    blas.set_threads(threads)
    return True
