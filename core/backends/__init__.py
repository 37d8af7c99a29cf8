"""``ember.backends``: PyTorch's backend switches (``cudnn``, ``cuda``, ``mps``, ...).

The flags are settable and read back what was set, so scripts that configure them run unchanged;
on the CPU they change nothing. ``is_available()`` answers honestly.

Example:
    >>> import ember
    >>> ember.backends.cudnn.benchmark = True
    >>> ember.backends.cudnn.is_available(), ember.backends.mps.is_available()
    (False, False)
"""

from __future__ import annotations

from . import cpu, cuda, cudnn, mkl, mkldnn, mps, openmp, opt_einsum  # noqa: F401
