"""Numba kernels: arrays in, arrays out, no framework objects.

Each module here imports numba, so nothing in Ember imports them at ``import ember``
time; ops import the kernel module they need inside the function that first uses it.
Every kernel is ``@njit(cache=True)`` and compiled on first use.
"""

from ._memory import keep_large_buffers

keep_large_buffers()
