"""Process-wide settings with PyTorch's names: threads, deterministic algorithms, matmul precision,
and the deprecated ``set_default_tensor_type``.

Threads: ``set_num_threads(n)`` limits the BLAS library numpy calls (through threadpoolctl, when it is
installed) and numba's parallel kernels.
"""

from __future__ import annotations

import math
import numbers
import os
import sys
import warnings

from . import _dtype, _format
from ._legacy import _LegacyTensorType, legacy_type_from_name

_state = {"threads": None, "interop_threads": None, "deterministic": False, "warn_only": False,
          "matmul_precision": "highest"}
_blas_limiter = None  # threadpoolctl's limiter, kept so the limit holds
compile_in_place = None  # nn.Module.compile's work, in ember.compiler (a layer above): ember/__init__.py sets it


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def get_num_threads() -> int:
    """The number of threads used for intra-op parallelism (BLAS, numba kernels)."""
    return _state["threads"] or _cpu_count()


def set_num_threads(int: int) -> None:
    """Sets the threads BLAS (numpy's matmul) and numba's parallel kernels use.

    Example:
        >>> import ember
        >>> ember.set_num_threads(ember.get_num_threads())  # e.g. 1 when running one process per core
    """
    global _blas_limiter
    n = int
    if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n <= 0:
        raise RuntimeError("set_num_threads expects a positive integer")
    _state["threads"] = n
    try:
        import threadpoolctl  # lazy: scans the loaded libraries
    except ImportError:
        threadpoolctl = None
    if threadpoolctl is not None:
        _blas_limiter = threadpoolctl.threadpool_limits(limits=n, user_api="blas")
    import numba  # lazy: heavy; the threads must be set on numba itself

    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))


def get_num_interop_threads() -> int:
    """The number of threads for inter-op parallelism (Ember runs ops one after another)."""
    return _state["interop_threads"] or _cpu_count()


def set_num_interop_threads(int: int) -> None:
    """Recorded for ``get_num_interop_threads``; Ember runs ops one after another."""
    n = int
    if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n <= 0:
        raise RuntimeError("set_num_interop_threads expects a positive integer")
    _state["interop_threads"] = n


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Records the request; Ember's CPU kernels are deterministic already."""
    _state["deterministic"], _state["warn_only"] = bool(mode), bool(warn_only)


def are_deterministic_algorithms_enabled() -> bool:
    return _state["deterministic"]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    return _state["warn_only"]


def set_float32_matmul_precision(precision: str) -> None:
    """``"highest"``, ``"high"`` or ``"medium"``; recorded (Ember's float32 matmul is always full
    precision)."""
    if precision not in ("highest", "high", "medium"):
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current "
                      "set_float32_matmul_precision call has no effect.", stacklevel=2)
        return
    _state["matmul_precision"] = precision


def get_float32_matmul_precision() -> str:
    return _state["matmul_precision"]


def set_default_tensor_type(t) -> None:
    """Deprecated in PyTorch (use ``set_default_dtype``): ``ember.DoubleTensor`` or ``"torch.DoubleTensor"``
    sets the default float dtype."""
    warnings.warn("ember.set_default_tensor_type() is deprecated, as in PyTorch 2.1; please use "
                  "ember.set_default_dtype() and ember.set_default_device() instead.", UserWarning,
                  stacklevel=2)
    legacy = t if isinstance(t, _LegacyTensorType) else legacy_type_from_name(t)
    _dtype.set_default_dtype(legacy.dtype)


_PRINT_PROFILES = {"default": (4, 1000, 3, 80), "short": (2, 1000, 2, 80), "full": (4, sys.maxsize, 3, 80)}


def set_printoptions(precision: int | None = None, threshold: int | None = None, edgeitems: int | None = None,
                     linewidth: int | None = None, profile: str | None = None,
                     sci_mode: bool | None = None) -> None:
    """How tensors print, as ``torch.set_printoptions``: digits after the point, the element count past which
    only ``edgeitems`` per edge are shown, the line width, a ``profile`` ("default", "short", "full") setting
    all four, and ``sci_mode`` (True / False forces scientific notation on or off; None chooses).

    Example:
        >>> import ember
        >>> ember.set_printoptions(precision=2)
        >>> ember.tensor([0.12345, 1.0])
        tensor([0.12, 1.00])
        >>> ember.set_printoptions(profile="default")
    """
    if profile is not None:
        if profile not in _PRINT_PROFILES:
            raise ValueError(f"profile must be one of {', '.join(_PRINT_PROFILES)}, got {profile!r}")
        _format.PRECISION, _format.THRESHOLD, _format.EDGEITEMS, _format.LINEWIDTH = _PRINT_PROFILES[profile]
    if precision is not None:
        _format.PRECISION = int(precision)
    if threshold is not None:
        _format.THRESHOLD = min(int(threshold), sys.maxsize) if threshold != math.inf else sys.maxsize
    if edgeitems is not None:
        _format.EDGEITEMS = int(edgeitems)
    if linewidth is not None:
        _format.LINEWIDTH = int(linewidth)
    _format.SCI_MODE = sci_mode  # torch resets it to None unless given
