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
"""

from __future__ import annotations

import os
import types

import numba
import numpy as np

SMALL_WORK = int(os.environ.get("EMBER_PARALLEL_WORK", str(1 << 26)))  # elements below which one thread runs


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
