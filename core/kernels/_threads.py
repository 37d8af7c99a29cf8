"""Runs a parallel kernel on one thread unless its input is very large.

Waking numba's worker threads costs more than a small kernel's work, far more on a loaded machine.
Worse, numba's pool and OpenBLAS's pool fight over the cores: with both pools using every core a
training step is several times slower than with numba's kernels on one thread and BLAS keeping the
cores (``python -m benchmarks resnet8 lenet``; timings: benchmarks/README.md). So kernels run on the
calling thread unless an array exceeds ``SMALL_WORK`` elements (set ``EMBER_PARALLEL_WORK`` to lower
it on many-core machines).
"""

from __future__ import annotations

import os

import numba
import numpy as np

SMALL_WORK = int(os.environ.get("EMBER_PARALLEL_WORK", 1 << 26))  # elements below which one thread runs


def call(kernel, work: int, *args):
    if work >= SMALL_WORK:
        return kernel(*args)
    threads = numba.get_num_threads()
    if threads == 1:
        return kernel(*args)
    numba.set_num_threads(1)
    try:
        return kernel(*args)
    finally:
        numba.set_num_threads(threads)


def adaptive(kernel):
    """Wraps a ``parallel=True`` kernel so that it runs single-threaded when its largest array is small."""
    def run(*args):
        work = 0
        for a in args:
            if isinstance(a, np.ndarray) and a.size > work:
                work = a.size
        return call(kernel, work, *args)

    run.__name__ = getattr(kernel, "__name__", "kernel")
    run.__doc__ = kernel.__doc__
    run.kernel = kernel
    return run
