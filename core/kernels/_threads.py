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
``numba.get_num_threads() - 1`` worker threads of this module share the range, claiming its pieces in
turn (a worker that is slow to wake leaves its pieces to the caller instead of holding it up).
Nothing is compiled twice, numba's OpenMP pool is not started, and a forked child starts workers of its
own. ``EMBER_SPLIT_WORK`` (elements) gives every ``split`` kernel that threshold instead (a huge value:
one thread always). The first heavy split call (``HEAVY``) tells OpenBLAS's idle threads to sleep rather
than spin on the cores the workers need (``_blas.limit_idle_spin``). A ``split`` kernel with a C entry
(``Split.on_blas_workers``: the optimizer updates) runs on numpy's OpenBLAS workers instead, in static halves.
"""

from __future__ import annotations

import itertools
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
    **options)`` and run on ``numba.get_num_threads()`` threads (the range cut into two contiguous pieces
    per thread, which the threads claim in turn) when a call's largest array reaches ``work`` elements (set
    per kernel at about 0.1 ms of one-thread work; benchmarks/README.md, 2026-12-07), on the calling thread
    otherwise.

    The extra threads are Python threads of this module (``_pool``), not numba's OpenMP pool: the kernel
    releases the GIL, so nothing is compiled a second time with ``parallel=True`` (no longer cold
    start), and a forked child, which has no thread of its parent's, starts its own on first use."""

    def __init__(self, py_func, work, options):
        self.serial = numba.njit(cache=True, nogil=True, **options)(py_func)
        self.work = SPLIT_WORK if SPLIT_WORK is not None else work
        self.blas_work, self._blas_entry = None, None  # set by ``on_blas_workers``
        self.__name__ = py_func.__name__
        self.__qualname__ = py_func.__qualname__
        self.__doc__ = py_func.__doc__

    def __call__(self, total, *args):
        """Runs the kernel over ``range(total)``."""
        work = 0
        for a in args:
            if isinstance(a, np.ndarray) and a.size > work:
                work = a.size
        threads = min(numba.get_num_threads(), total)
        if self.blas_work is not None and work >= self.blas_work and threads > 1:
            entry = self._blas_entry(*args)
            if entry is not None and _blas.run_on_workers(*entry, total, threads):
                return None
        if work < self.work:
            threads = 1
        if threads <= 1:
            return self.serial(*args, 0, total)
        if work >= HEAVY * self.work:
            _blas.limit_idle_spin(_blas.IDLE_TIMEOUT)  # (once: returns at once after)
        return _pool.run(self.serial, args, total, threads)

    def on_blas_workers(self, work):
        """Decorator for ``entry(*args)``, which returns ``(address, context)`` for ``_blas.run_on_workers`` (the
        kernel's ``cfunc`` over raw memory, and the int64 array describing the call) or None when the call's
        arrays do not fit it. From ``work`` elements such a call runs on numpy's OpenBLAS workers, which wait
        spinning between the products of a step: handing them a piece costs less than waking this module's
        workers (hence the lower threshold), and their static halves keep each half of a weight on the core that
        read it in the forward pass's product (benchmarks/README.md, 2026-12-08)."""
        def register(entry):
            self.blas_work = SPLIT_WORK if SPLIT_WORK is not None else work
            self._blas_entry = entry
            return entry
        return register


# A split call from HEAVY times its kernel's threshold (~0.6 ms of one-thread work) makes OpenBLAS's idle workers
# sleep instead of spinning on the core the pool needs (``_blas.limit_idle_spin``). Convnets make such calls
# (ResNet-18 CIFAR, two threads: ~290 -> ~210 ms a step); models whose time is in GEMMs and whose split calls are
# light (an MLP's ReLU at 2x, a VAE's Adam at 2.4x) keep the workers spinning between GEMMs (``_blas.SPIN_TIMEOUT``),
# which saves waking them for every GEMM (MLP b512 8.6 vs 9.6 ms, VAE 5.5 vs 6.2 ms; benchmarks/README.md, 2026-12-07, third session).
HEAVY = 6


def split(work, **options):
    """Decorator: ``Split(kernel, work, options)``, e.g. ``@split(1 << 16, fastmath=True)``."""
    return lambda py_func: Split(py_func, work, options)


class _Job:
    """One call's range cut into ``chunks`` contiguous pieces, which the calling thread and the workers
    claim one at a time (``next(claims)`` is atomic under the GIL)."""

    __slots__ = ("args", "bounds", "chunks", "claims", "error", "kernel")

    def __init__(self, kernel, args, total, chunks):
        self.kernel, self.args, self.chunks = kernel, args, chunks
        self.bounds = [total * i // chunks for i in range(chunks + 1)]
        self.claims = itertools.count()
        self.error = None

    def work(self):
        """Runs pieces until none is left; an error stops this thread's share and is kept for the caller."""
        while True:
            i = next(self.claims)
            if i >= self.chunks:
                return
            try:
                self.kernel(*self.args, self.bounds[i], self.bounds[i + 1])
            except BaseException as error:  # noqa: BLE001 - raised by the calling thread
                self.error = self.error or error
                return


class _Worker:
    """A worker thread: woken through ``go`` when a job is posted; holds ``busy`` while it runs pieces."""

    def __init__(self, name):
        self.go, self.busy = threading.Lock(), threading.Lock()
        self.go.acquire()
        self.job = self.taken = None
        threading.Thread(target=self._loop, daemon=True, name=name).start()

    def _loop(self):
        while True:
            self.go.acquire()
            while True:  # the newest job; one posted while this thread slept replaces the one it missed
                job = self.taken = self.job
                with self.busy:
                    job.work()
                if self.job is job:
                    break

    def post(self, job):
        missed = self.taken is not self.job  # the previous job was never taken: the thread is still waking
        self.job = job
        if not missed:
            self.go.release()


class _Pool:
    """Worker threads that help a ``Split`` kernel's calling thread through its range.

    The range is cut into a few pieces per thread that every thread claims in turn, and the caller waits
    only for pieces a worker has started: a worker that is slow to wake (its core busy with another
    process, or with OpenBLAS's spinning thread) costs the caller nothing, it runs the pieces itself."""

    def __init__(self):
        self._workers = []
        self._busy = threading.Lock()  # one split call at a time (a second caller runs serially)

    def run(self, kernel, args, total, threads, chunks_per_thread=2):
        if not self._busy.acquire(blocking=False):
            return kernel(*args, 0, total)
        try:
            while len(self._workers) < threads - 1:
                self._workers.append(_Worker(f"ember-kernel-{len(self._workers)}"))
            job = _Job(kernel, args, total, min(total, threads * chunks_per_thread))
            helpers = self._workers[:threads - 1]
            for worker in helpers:
                worker.post(job)
            try:
                job.work()
                for worker in helpers:  # a piece a worker started: wait for it
                    worker.busy.acquire()
                    worker.busy.release()
            except BaseException:  # e.g. KeyboardInterrupt: a worker may still be running its piece
                _forget_pool()  # so later calls use new workers (these finish and wait)
                raise
            if job.error is not None:
                raise job.error
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
