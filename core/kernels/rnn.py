"""LSTM time-step kernels (float32): the pointwise part of one step, forward and backward, in one pass.

The recurrent matmul stays in BLAS; these kernels replace the ten-odd numpy calls per step that
follow it. ``tanh`` is Eigen's rational approximation (clamped, a few ulp in float32), which LLVM
vectorises, and ``sigmoid(v) = 0.5 tanh(v / 2) + 0.5``. Serial on purpose: one step is ~10^4
elements, too small to share between threads.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# float32 constants keep the arithmetic (and its vectorisation) in single precision
_CLAMP = np.float32(7.90531110763549805)
_A13, _A11, _A9 = (
    np.float32(-2.76076847742355e-16),
    np.float32(2.00018790482477e-13),
    np.float32(-8.60467152213735e-11),
)
_A7, _A5, _A3 = (
    np.float32(5.12229709037114e-08),
    np.float32(1.48572235717979e-05),
    np.float32(6.37261928875436e-04),
)
_A1 = np.float32(4.89352455891786e-03)
_B6, _B4 = np.float32(1.19825839466702e-06), np.float32(1.18534705686654e-04)
_B2, _B0 = np.float32(2.26843463243900e-03), np.float32(4.89352518554385e-03)
_HALF, _ONE = np.float32(0.5), np.float32(1.0)


@njit(cache=True, fastmath=True, error_model="numpy", inline="always")
def _tanh(x):
    x = min(max(x, -_CLAMP), _CLAMP)
    x2 = x * x
    p = x2 * _A13 + _A11
    p = x2 * p + _A9
    p = x2 * p + _A7
    p = x2 * p + _A5
    p = x2 * p + _A3
    p = x2 * p + _A1
    p = x * p
    q = x2 * _B6 + _B4
    q = x2 * q + _B2
    q = x2 * q + _B0
    return p / q


@njit(cache=True, fastmath=True, error_model="numpy", inline="always")
def _sigmoid_range(pre, gx, out, lo, hi):
    for j in range(lo, hi):
        out[j] = _HALF * _tanh(_HALF * (pre[j] + gx[j])) + _HALF


@njit(cache=True, fastmath=True, error_model="numpy", inline="always")
def _tanh_range(pre, gx, out, lo, hi):
    for j in range(lo, hi):
        out[j] = _tanh(pre[j] + gx[j])


@njit(cache=True, fastmath=True, error_model="numpy")
def lstm_step_forward(pre, gx, c_prev, gates, c_out, tc_out, h_out):
    """From ``pre = h W_hhᵀ`` and the input projection ``gx`` (N, 4H): the activated gates (i, f, g, o)
    into ``gates``, the new cell into ``c_out``, ``tanh(c)`` into ``tc_out`` and ``o * tanh(c)`` into
    ``h_out``. Each inner loop has one output array, so that LLVM vectorises it (``gates`` must not be
    ``pre``)."""
    rows, four_hidden = pre.shape
    hidden = four_hidden // 4
    for n in range(rows):
        p, x, a = pre[n], gx[n], gates[n]
        _sigmoid_range(p, x, a, 0, 2 * hidden)
        _tanh_range(p, x, a, 2 * hidden, 3 * hidden)
        _sigmoid_range(p, x, a, 3 * hidden, 4 * hidden)
        c_row, cp = c_out[n], c_prev[n]
        for j in range(hidden):
            c_row[j] = a[hidden + j] * cp[j] + a[j] * a[2 * hidden + j]
        t_row = tc_out[n]
        for j in range(hidden):
            t_row[j] = _tanh(c_row[j])
        h_row = h_out[n]
        for j in range(hidden):
            h_row[j] = a[3 * hidden + j] * t_row[j]


@njit(cache=True, fastmath=True, error_model="numpy")
def lstm_step_backward(dy, dh, gates, c_prev, tc, dc, d_gates):
    """Backward of one step: from the output gradient ``dy + dh`` and the cell gradient ``dc`` (updated
    in place to the gradient w.r.t. ``c_prev``), the pre-activation gate gradients ``d_gates`` (N, 4H)."""
    rows, four_hidden = gates.shape
    hidden = four_hidden // 4
    for n in range(rows):
        for j in range(hidden):
            dh_t = dy[n, j] + dh[n, j]
            i = gates[n, j]
            f = gates[n, hidden + j]
            g = gates[n, 2 * hidden + j]
            o = gates[n, 3 * hidden + j]
            t = tc[n, j]
            dc_t = dc[n, j] + dh_t * o * (_ONE - t * t)
            d_gates[n, j] = dc_t * g * i * (_ONE - i)
            d_gates[n, hidden + j] = dc_t * c_prev[n, j] * f * (_ONE - f)
            d_gates[n, 2 * hidden + j] = dc_t * i * (_ONE - g * g)
            d_gates[n, 3 * hidden + j] = dh_t * t * o * (_ONE - o)
            dc[n, j] = dc_t * f
