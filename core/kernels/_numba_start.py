"""numba's start-up without importing ``scipy.linalg``.

The first kernel a process compiles or loads from the cache makes numba load its CPU target's registries.
One of them, ``numba.np.arraymath``, checks on import that a BLAS is there for ``np.dot`` by importing
``scipy.linalg.cython_blas``, and with it the whole of ``scipy.linalg``: ~0.18 s of CPU on every process's
first kernel (benchmarks/README.md, 2026-12-07 third session), though no Ember kernel calls BLAS inside
numba (BLAS runs through numpy, outside the kernels). :func:`start` imports that module with the check
answered by whether scipy is installed, without importing it. numba's own linear algebra is unchanged: a
kernel that calls ``np.dot`` or ``np.linalg`` runs numba's real check (``numba.np.linalg.ensure_blas``,
left as it was) and imports scipy.linalg when it is compiled.
"""

from __future__ import annotations

import importlib.util
import sys


def _scipy_installed() -> None:
    """Stands in for ``numba.np.linalg.ensure_blas`` while ``numba.np.arraymath`` imports: raises as the
    real check does when scipy is missing, and otherwise imports nothing."""
    if importlib.util.find_spec("scipy") is None:
        raise ImportError("scipy 0.16+ is required for linear algebra")


def start() -> None:
    """Imports numba and its ``numba.np.arraymath`` (which numba imports on its first compile or cache load
    anyway) without importing ``scipy.linalg``. Does nothing once that module is imported."""
    if "numba.np.arraymath" in sys.modules:
        return
    try:
        from numba.np import linalg

        check = linalg.ensure_blas
    except (ImportError, AttributeError):  # a numba laid out otherwise: its own start-up, scipy.linalg and all
        return
    if "scipy.linalg" not in sys.modules:  # (imported already: the real check costs nothing more)
        linalg.ensure_blas = _scipy_installed
    try:
        import numba.np.arraymath  # noqa: F401
    finally:
        linalg.ensure_blas = check
