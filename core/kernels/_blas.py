"""numpy's OpenBLAS, reached through ctypes: its thread count, and how long its idle workers spin.

After each multi-threaded call OpenBLAS's worker threads spin for 2^28 CPU cycles (~0.1 s) before they
sleep, by default. Ember shortens that twice, through ``limit_idle_spin``:

* When the kernels load (``ember.kernels``' import): to 2^24 cycles (``SPIN_TIMEOUT``, ~6 ms at 2.6 GHz, about
  as long as torch's OpenMP workers spin: libgomp's 300,000 ``pause`` iterations). That covers the gaps between
  the products of one step (an MLP's bias, ReLU, loss and optimizer update between its GEMMs), so the worker is
  ready for the next one: on a virtual machine whose idle vCPUs are slow to wake, waking it cost far more than
  its spin (a shorter spin, 2^20, made GEMM-bound steps up to twice as slow in such stretches). The default
  keeps the workers spinning through slow data batches and the work between epochs, on a core another thread
  may need.
* At the first heavy split kernel call (``_threads.HEAVY``): to 2^4 cycles (``IDLE_TIMEOUT``, the same as
  ``OPENBLAS_THREAD_TIMEOUT=4``): Ember's ``split`` kernels need that core between the GEMMs of a
  convolutional step, and there even a short spin took it (ResNet-18 CIFAR ran no faster on two threads
  than on one).

Timings: benchmarks/README.md (2026-12-07, third, seventh and eighth sessions). Each change sets
``OPENBLAS_THREAD_TIMEOUT``, has OpenBLAS read its environment again and restarts its threads, which read
the timeout when they start. A timeout the user set is kept; other BLAS libraries are left as they are.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading

SPIN_TIMEOUT = 24  # log2 of the cycles an idle worker spins before it sleeps, once the kernels load
IDLE_TIMEOUT = 4  # from the first heavy split call: OpenBLAS's smallest
_OURS = "_EMBER_OPENBLAS_THREAD_TIMEOUT"  # the timeout Ember set, beside OPENBLAS_THREAD_TIMEOUT (to tell it from
# the user's in a child process, which inherits both)


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


_floor = 31  # the timeout this process's workers run with, as far as this module knows (31: OpenBLAS's
# default or above); 0 once it leaves them as they are (the user's timeout, no OpenBLAS, or too many tries)
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


def limit_idle_spin(timeout: int) -> bool:
    """Makes numpy's OpenBLAS workers spin at most 2^``timeout`` cycles when idle before they sleep, unless they
    already do or ``OPENBLAS_THREAD_TIMEOUT`` was set by the user. True when the workers were restarted.

    Restarting OpenBLAS's threads while another thread runs a multi-threaded BLAS call would hang that call,
    so it happens only while every other Python thread is blocked waiting, and holding the GIL (``PyDLL``)
    so that none can start one meanwhile; otherwise a later call tries again (up to 1000 calls)."""
    global _floor, _tries
    if timeout >= _floor:
        return False
    _tries += 1
    if _tries > 1000:
        _floor = 0
    user = os.environ.get("OPENBLAS_THREAD_TIMEOUT", os.environ.get("GOTO_THREAD_TIMEOUT"))
    if user is not None and user != os.environ.get(_OURS):
        _floor = 0  # the user's
        return False
    if "numpy" not in sys.modules:
        import numpy  # noqa: F401 - loads OpenBLAS, so that it can be found

    blas = openblas()
    needed = ("openblas_read_env", "openblas_thread_timeout", "blas_thread_shutdown_")
    if blas.lib is None or not all(hasattr(blas.lib, name) for name in needed):
        _floor = 0
        return False
    current = blas.lib.openblas_thread_timeout()  # what the running workers read when they started
    if 0 < current <= timeout:  # e.g. a child process started with its parent's (Ember's) timeout
        _floor = current
        return False
    if not _others_waiting():
        return False
    lib = ctypes.PyDLL(blas.lib._name)  # its calls keep the GIL
    os.environ["OPENBLAS_THREAD_TIMEOUT"] = os.environ[_OURS] = str(timeout)  # also what child processes get
    threads = blas.get_threads()
    lib.openblas_read_env()
    if lib.openblas_thread_timeout() != timeout:
        _floor = 0
        return False
    lib.blas_thread_shutdown_()  # the next multi-threaded call starts the workers with the new timeout
    blas.set_threads(threads)
    _floor = timeout
    return True
