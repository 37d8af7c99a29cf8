"""Softmax over the last axis of C-contiguous rows: the two reductions as numba loops, the exponential
by numpy.

numpy reduces along short contiguous rows slowly (``np.amax(z, axis=1)`` of char-LSTM's 2048 x 65
logits, and the row sums), while numba's max and sum loops vectorise (``nnan`` lets LLVM
vectorise the max; a row holding NaN still comes out all NaN, through ``x - max`` and the sum). The
exponential stays with numpy, whose SIMD exp numba cannot call. Timings: benchmarks/README.md.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._threads import split


@njit(cache=True, nogil=True, fastmath={"nnan", "reassoc"})
def _row_max(a, i):
    m = a[i, 0]
    for j in range(1, a.shape[1]):
        m = max(m, a[i, j])
    return m


@njit(cache=True, nogil=True)
def _shift_rows(a):
    for i in range(a.shape[0]):
        m = _row_max(a, i)
        for j in range(a.shape[1]):
            a[i, j] -= m


@njit(cache=True, nogil=True, fastmath={"reassoc"})
def _normalise_rows(e, log_sums):
    for i in range(e.shape[0]):
        total = e[i, 0] - e[i, 0]  # zero of e's dtype
        for j in range(e.shape[1]):
            total += e[i, j]
        inverse = 1 / total
        for j in range(e.shape[1]):
            e[i, j] *= inverse
        log_sums[i] = np.log(total)


@njit(cache=True, nogil=True)
def _shift_rows_safe(a):
    for i in range(a.shape[0]):
        m = _row_max(a, i)
        if m == -np.inf:  # nowhere to attend: exp gives 0 everywhere, normalised to 0 below
            continue
        for j in range(a.shape[1]):
            a[i, j] -= m


@njit(cache=True, nogil=True, fastmath={"reassoc"})
def _normalise_rows_safe(e):
    for i in range(e.shape[0]):
        total = e[i, 0] - e[i, 0]  # zero of e's dtype
        for j in range(e.shape[1]):
            total += e[i, j]
        inverse = 1 / total if total != 0 else total  # a row of zeros stays zeros (NaN stays NaN)
        for j in range(e.shape[1]):
            e[i, j] *= inverse


def safe_softmax_(a: np.ndarray) -> np.ndarray:
    """Softmax of the rows of C-contiguous ``a`` in place, a row whose entries are all -inf becoming zeros
    (PyTorch's safe softmax in attention; NaN rows stay NaN); returns ``a``. Runs without the GIL apart
    from numpy's exponential's call, so two threads can each take a piece."""
    rows = a.reshape(-1, a.shape[-1])
    _shift_rows_safe(rows)
    np.exp(a, out=a)
    _normalise_rows_safe(rows)
    return a


def supported(a: np.ndarray) -> bool:
    """Whether these kernels take ``a``: float32/64, C-contiguous, non-empty rows."""
    return a.dtype in (np.float32, np.float64) and a.flags.c_contiguous and a.ndim > 0 and a.shape[-1] > 0


def shift_rows(a: np.ndarray) -> np.ndarray:
    """``a -= max(a, axis=-1)`` in place; returns ``a``."""
    _shift_rows(a.reshape(-1, a.shape[-1]))
    return a


def softmax_(shifted: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Softmax of max-shifted rows (from ``shift_rows``) into ``out`` (default: in place); returns the
    log of each row's sum of exponentials, so that ``log_softmax = shifted - log_sums[..., None]``."""
    out = np.exp(shifted, out=shifted if out is None else out)
    log_sums = np.empty(out.shape[:-1], out.dtype)
    _normalise_rows(out.reshape(-1, out.shape[-1]), log_sums.reshape(-1))
    return log_sums


@split(1 << 16, fastmath={"reassoc"})
def _softmax_backward_rows(p, dp, scale, out, start, stop):
    for i in range(start, stop):
        p_row, dp_row, out_row = p[i], dp[i], out[i]
        total = p_row[0] - p_row[0]  # zero of p's dtype
        for j in range(p_row.size):
            total += dp_row[j] * p_row[j]
        for j in range(p_row.size):
            out_row[j] = p_row[j] * (dp_row[j] - total) * scale


def softmax_backward(p: np.ndarray, dp: np.ndarray, scale: float = 1.0, out: np.ndarray | None = None,
                     threads: bool = True) -> np.ndarray:
    """``scale * p * (dp - sum(dp * p, -1))``, the gradient at softmax's input from the gradient ``dp`` at its
    output ``p`` (both C-contiguous, of one shape and dtype: see ``supported``), one pass per row, into
    ``out`` (may be ``dp`` itself; default a new array). ``threads=False`` keeps it on the calling thread."""
    out = np.empty_like(p) if out is None else out
    rows = p.reshape(-1, p.shape[-1])
    args = (rows, dp.reshape(rows.shape), p.dtype.type(scale), out.reshape(rows.shape))
    if threads:
        _softmax_backward_rows(rows.shape[0], *args)
    else:
        _softmax_backward_rows.serial(*args, 0, rows.shape[0])
    return out
