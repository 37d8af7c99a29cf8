"""Compiles a ``prange`` kernel serially, and a parallel twin only for a very large input.

Waking numba's worker threads costs more than a small kernel's work, far more on a loaded machine.
Worse, numba's pool and OpenBLAS's pool fight over the cores: with both pools using every core a
training step is several times slower than with numba's kernels on one thread and BLAS keeping the
cores (``python -m benchmarks resnet8 lenet``; timings: benchmarks/README.md). So kernels run on the
calling thread unless an array reaches ``SMALL_WORK`` elements (set ``EMBER_PARALLEL_WORK`` to lower
it on many-core machines).

Running on one thread, a kernel needs no ``parallel=True`` compilation: that takes 3-4 times as long
as the serial one (most of a fresh install's wait before its first training step) and starts numba's
OpenMP pool, after which a forked child (Hogwild, DataLoader workers) that runs a parallel kernel is
killed ("fork() called from a process already using GNU OpenMP"). ``adaptive`` therefore compiles the
serial version on first use and the parallel one only when a call's work first reaches ``SMALL_WORK``.
In a serial compilation ``prange`` is ``range``, so both run the same loop.

``split`` kernels use the second core without either cost: their outer loop takes a ``[start, stop)``
range, the GIL is released (``nogil=True``), and from a size set per kernel the caller and
``numba.get_num_threads() - 1`` worker threads of this module each run a piece of the range.
Nothing is compiled twice, numba's OpenMP pool is not started, and a forked child starts workers of its
own. ``EMBER_SPLIT_WORK`` (elements) gives every ``split`` kernel that threshold instead (a huge value:
one thread always).
"""

from __future__ import annotations

import os
import threading
import types

import numba
import numpy as np

from . import _blas

SMALL_WORK = int(os.environ.get("EMBER_PARALLEL_WORK", str(1 << 26)))  # elements below which one thread runs
# every Split kernel's threshold, when set (e.g. a huge value keeps them all on one thread)
SPLIT_WORK = int(os.environ["EMBER_SPLIT_WORK"]) if os.environ.get("EMBER_SPLIT_WORK") else None


def _twin(py_func):
    """A copy of ``py_func`` under another qualified name: numba's cache files are named by it and its
    index does not record the compile options, so the parallel compilation needs a name of its own."""
    twin = types.FunctionType(
        py_func.__code__, py_func.__globals__, py_func.__name__, py_func.__defaults__, py_func.__closure__
    )
    twin.__qualname__ = py_func.__qualname__ + "_parallel"
    twin.__doc__ = py_func.__doc__
    return twin


class Adaptive:
    """A ``prange`` kernel compiled ``njit(cache=True, **options)`` on first use (``serial``), and with
    ``parallel=True`` as well (``parallel``, None until then) on the first call whose largest array
    reaches ``SMALL_WORK`` elements."""

    def __init__(self, py_func, options):
        self.serial = numba.njit(cache=True, **options)(py_func)
        self.parallel = None
        self._options = options
        self.__name__ = py_func.__name__
        self.__qualname__ = py_func.__qualname__
        self.__doc__ = py_func.__doc__

    def __call__(self, *args):
        work = 0
        for a in args:
            if isinstance(a, np.ndarray) and a.size > work:
                work = a.size
        if work < SMALL_WORK or numba.get_num_threads() == 1:  # (asked only here: it starts the pool)
            return self.serial(*args)
        if self.parallel is None:
            self.parallel = numba.njit(cache=True, parallel=True, **self._options)(_twin(self.serial.py_func))
        return self.parallel(*args)


def adaptive(**options):
    """Decorator: ``Adaptive(kernel, options)``, e.g. ``@adaptive(fastmath=True)``."""
    return lambda py_func: Adaptive(py_func, options)


class Split:
    """A kernel whose last two arguments are a ``[start, stop)`` range of its outer loop (``range``, each
    iteration writing its own part of arrays the caller allocated), compiled ``njit(cache=True, nogil=True,
    **options)`` and run on ``numba.get_num_threads()`` threads, the range cut into one contiguous piece
    per thread, when a call's largest array reaches ``work`` elements (set per kernel at about
    0.1 ms of one-thread work; benchmarks/README.md, 2026-12-07), on the calling thread otherwise.

    The extra threads are Python threads of this module (``_pool``), not numba's OpenMP pool: the kernel
    releases the GIL, so nothing is compiled a second time with ``parallel=True`` (no longer cold
    start), and a forked child, which has no thread of its parent's, starts its own on first use."""

    def __init__(self, py_func, work, options):
        self.serial = numba.njit(cache=True, nogil=True, **options)(py_func)
        self.work = SPLIT_WORK if SPLIT_WORK is not None else work
        self.__name__ = py_func.__name__
        self.__qualname__ = py_func.__qualname__
        self.__doc__ = py_func.__doc__

    def __call__(self, total, *args):
        """Runs the kernel over ``range(total)``."""
        work = 0
        for a in args:
            if isinstance(a, np.ndarray) and a.size > work:
                work = a.size
        threads = min(numba.get_num_threads(), total) if work >= self.work else 1
        if threads <= 1:
            return self.serial(*args, 0, total)
        return _pool.run(self.serial, args, total, threads)


def split(work, **options):
    """Decorator: ``Split(kernel, work, options)``, e.g. ``@split(1 << 16, fastmath=True)``."""
    return lambda py_func: Split(py_func, work, options)


class _Pool:
    """Worker threads that each run one piece of a ``Split`` kernel's range, handed over through locks
    (a plain lock hand-over, without ``concurrent.futures``' queue and futures)."""

    def __init__(self):
        self._workers = []  # per worker: [go lock, done lock, job]
        self._busy = threading.Lock()  # one split call at a time (a second caller runs serially)

    def _worker(self, slot):
        go, done = slot[0], slot[1]
        while True:
            go.acquire()
            kernel, args, start, stop = slot[2]
            try:
                kernel(*args, start, stop)
                slot[3] = None
            except BaseException as error:  # noqa: BLE001 - handed to the calling thread
                slot[3] = error
            slot[2] = None
            done.release()

    def run(self, kernel, args, total, threads):
        if not self._busy.acquire(blocking=False):
            return kernel(*args, 0, total)
        try:
            while len(self._workers) < threads - 1:
                slot = [threading.Lock(), threading.Lock(), None, None]
                slot[0].acquire()
                slot[1].acquire()
                threading.Thread(target=self._worker, args=(slot,), daemon=True,
                                 name=f"ember-kernel-{len(self._workers)}").start()
                self._workers.append(slot)
            bounds = [total * i // threads for i in range(threads + 1)]
            for i, slot in enumerate(self._workers[:threads - 1]):
                slot[2] = (kernel, args, bounds[i + 1], bounds[i + 2])
                slot[0].release()
            error = None
            try:
                kernel(*args, bounds[0], bounds[1])
            except BaseException as mine:  # noqa: BLE001 - raised once the workers are done
                error = mine
            try:
                for slot in self._workers[:threads - 1]:
                    slot[1].acquire()
                    error = error or slot[3]
            except BaseException:  # e.g. KeyboardInterrupt: a worker may still be running its piece
                _forget_pool()  # so later calls use new workers (these finish and wait forever)
                raise
            if error is not None:
                raise error
        finally:
            self._busy.release()


_pool = _Pool()


def _forget_pool():  # a forked child has only the forking thread: its workers start anew on first use
    global _pool
    _pool = _Pool()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


SMALL_GEMM = 1 << 24  # multiply-adds (m * n * k) below which a convolution's GEMM runs on one BLAS thread


class one_blas_thread:  # used like a function: ``with one_blas_thread(m * n * k):``
    """``with one_blas_thread(m * n * k):`` runs a GEMM of fewer than ``SMALL_GEMM`` multiply-adds with
    OpenBLAS on one thread.

    A small GEMM gains less from a second thread than waking it costs, and on a busy machine a two-thread
    GEMM waits for its descheduled worker. ResNet-8's only GEMMs are its 1x1 shortcuts, and its two-thread
    step is faster with them on one BLAS thread (timings: benchmarks/README.md, 2026-12-07). Other BLAS
    libraries, or none found, leave the call as it is.
    """

    def __init__(self, work):
        self._threads = 1
        if work < SMALL_GEMM:
            blas = _blas.openblas()
            if blas.get_threads is not None:
                self._threads = blas.get_threads()

    def __enter__(self):
        if self._threads > 1:
            _blas.openblas().set_threads(1)

    def __exit__(self, *exc):
        if self._threads > 1:
            _blas.openblas().set_threads(self._threads)
