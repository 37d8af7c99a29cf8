"""numpy's OpenBLAS, reached through ctypes: its thread count, how long its idle workers spin, and its workers
running pieces of Ember's optimizer updates (``run_on_workers``, at the end).

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


# --- Ember's kernels on OpenBLAS's worker threads ---------------------------------------------------------------
#
# ``blas_level1_thread`` cuts a range into one contiguous piece per thread, runs the first on the calling thread and
# the others on OpenBLAS's workers (which are spinning right after a product), and calls a C function for each
# piece with OpenBLAS's legacy signature ``(m, n, k, alpha, a, lda, b, ldb, c, ldc, sb)``: ``m`` is the piece's
# length and ``a`` its start scaled by the element size of the routine's precision. Ember passes a numba
# ``cfunc`` (no GIL, no Python) and its context as ``c``. The pieces are OpenBLAS's own static split, the caller
# first, as in its products: an update of a weight then runs each half on the core whose cache holds it.

PIECE_SIGNATURE = "int32(int64, int64, int64, float64, int64, int64, voidptr, int64, CPointer(int64), int64, voidptr)"

_PROBE = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_long, ctypes.c_long, ctypes.c_long, ctypes.c_double, ctypes.c_long,
                          ctypes.c_long, ctypes.c_void_p, ctypes.c_long, ctypes.c_void_p, ctypes.c_long,
                          ctypes.c_void_p)


class _Level1:
    """``blas_level1_thread`` as found (``function`` None when unusable), the ``mode`` it is called with (a real
    double-precision routine: the alpha it passes on is ignored) and ``shift`` (the log2 by which it scales a
    piece's start into ``a``)."""

    function = None
    mode = shift = 0
    probed = False
    alpha = ctypes.c_double(0.0)


def _level1():
    """Finds ``blas_level1_thread`` and checks, with a probe over a range of 4 on two threads, that it calls
    back as described above (the precision's mode constant changed in OpenBLAS 0.3.2x); None if it does not."""
    if _Level1.probed:
        return _Level1.function
    blas = openblas()
    if blas.lib is not None and blas.get_threads() < 2:
        return None  # (probed later, when there are two threads)
    _Level1.probed = True
    function = getattr(blas.lib, "blas_level1_thread", None) if blas.lib is not None else None
    if function is None:
        return None
    function.restype = ctypes.c_int
    function.argtypes = [ctypes.c_int, ctypes.c_long, ctypes.c_long, ctypes.c_long, ctypes.c_void_p,
                         ctypes.c_void_p, ctypes.c_long, ctypes.c_void_p, ctypes.c_long, ctypes.c_void_p,
                         ctypes.c_long, ctypes.c_void_p, ctypes.c_int]
    seen = []
    probe = _PROBE(lambda m, n, k, alpha, a, *rest: seen.append((m, a, threading.get_ident())) or 0)
    for mode in (0x3, 0x1):  # BLAS_DOUBLE since OpenBLAS 0.3.2x, and before
        seen.clear()
        function(mode, 4, 0, 0, ctypes.addressof(_Level1.alpha), None, 1, None, 1, None, 1,
                 ctypes.cast(probe, ctypes.c_void_p), 2)
        seen.sort()
        if len(seen) == 2 and seen[0] == (2, 0, threading.get_ident()) and seen[1][0] == 2 \
                and seen[1][1] in (8, 16, 32) and seen[1][2] != threading.get_ident():
            _Level1.function, _Level1.mode, _Level1.shift = function, mode, seen[1][1].bit_length() - 2
            return function
    return None


def run_on_workers(piece: int, context, total: int, threads: int) -> bool:
    """Runs the ``cfunc`` at address ``piece`` (signature ``PIECE_SIGNATURE``) over ``range(total)`` in
    ``threads`` contiguous pieces, the first on this thread and the others on numpy's OpenBLAS workers; the
    piece starts at ``a >> context[0]`` and is ``m`` long. ``context`` is a C-contiguous int64 array whose first
    element this function sets. False, with nothing run, where that cannot be done (another BLAS, fewer OpenBLAS
    threads than ``threads`` at the moment: within ``one_blas_thread``, or set by the user)."""
    function = _level1()
    if function is None or openblas().get_threads() < threads:
        return False
    context[0] = _Level1.shift
    function(_Level1.mode, total, 0, 0, ctypes.addressof(_Level1.alpha), None, 1, None, 1, context.ctypes.data, 1,
             piece, threads)
    return True
