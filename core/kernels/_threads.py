"""Runs a parallel kernel on one thread when its input is small.

Waking numba's worker threads costs ~10-20 us on an idle machine and far more on a loaded one
(measured: 370 us instead of 30 us for a tiny im2col with 2 threads while other processes ran),
so small inputs, such as gradcheck's or a batch of one, run on the calling thread only.
"""

from __future__ import annotations

import numba

SMALL_WORK = 1 << 16  # elements touched below which one thread is faster


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
    import numpy as np

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
