"""Numba kernels: arrays in, arrays out, no framework objects.

Each module here imports numba, so nothing in Ember imports them at ``import ember``
time; ops import the kernel module they need inside the function that first uses it.
Every kernel is ``@njit(cache=True)`` and compiled on first use.
"""

import os

from . import _blas, _numba_start
from ._memory import keep_large_buffers

keep_large_buffers()
_numba_start.start()  # numba without scipy.linalg, before any kernel module imports numba (_numba_start)
# numba's OpenMP workers would otherwise spin for a while after each parallel kernel, taking the CPU
# from the thread that runs the next numpy / BLAS call (slower conv steps on a busy machine; timings:
# benchmarks/README.md). Read when numba first starts its thread pool; a user's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# Likewise OpenBLAS's idle workers: they spin ~0.1 s after each product by default, through slow data batches and
# the other work between steps; from here ~6 ms (``_blas.limit_idle_spin``), a user's own setting winning.
_blas.limit_idle_spin(_blas.SPIN_TIMEOUT)
