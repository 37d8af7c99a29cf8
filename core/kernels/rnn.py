"""Recurrent time-step kernels: the pointwise part of one step, forward and backward, in one pass.

The recurrent matmul stays in BLAS; these kernels replace the ten-odd numpy calls per step that
follow it. ``tanh`` is Eigen's rational approximation (clamped, a few ulp in float32), which LLVM
vectorises, and ``sigmoid(v) = 0.5 tanh(v / 2) + 0.5``. Serial on purpose: one step is ~10^4
elements, too small to share between threads.

The steps run feature-major: every per-step array is ``(features, N)``. OpenBLAS computes the
recurrent product as ``W_hh @ h`` (M = 4H, N = batch) faster than ``h @ W_hhᵀ`` (M = batch; timings:
benchmarks/README.md). ``swap_last_axes`` converts at the edges (the layer's output, its incoming
gradient and the gate gradients for the weight products).

The cell kernels (``lstm_cell_*``, ``gru_cell_*``) serve ``LSTMCell`` / ``GRUCell``, which a Python loop
calls once per time step: batch-major like the cells' arrays, float32 or float64 (float32 through the
approximations above, float64 through ``math``'s exact functions), each the whole pointwise part of
one step (forward) or its gradient (backward, the bias gradients summed in the same pass)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit, types
from numba.extending import overload

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


@njit(cache=True, fastmath=True, error_model="numpy")
def lstm_step_forward(pre, bias, c_prev, gates, c_out, tc_out, h_out):
    """One step in feature-major layout (every array is ``(features, N)``): from the gates'
    pre-activations without bias, ``pre = W_hh h + W_ih x`` (4H, N), and the summed bias (4H,), the
    activated gates (i, f, g, o) into ``gates``, the new cell into ``c_out``, ``tanh(c)`` into
    ``tc_out`` and ``o * tanh(c)`` into ``h_out``. Every inner loop runs along the batch over
    contiguous memory with one output array, so that LLVM vectorises it (``gates`` must not be
    ``pre``)."""
    four_hidden, rows = pre.shape
    hidden = four_hidden // 4
    for j in range(four_hidden):
        p, a, b = pre[j], gates[j], bias[j]
        if 2 * hidden <= j < 3 * hidden:
            for n in range(rows):
                a[n] = _tanh(p[n] + b)
        else:
            for n in range(rows):
                a[n] = _HALF * _tanh(_HALF * (p[n] + b)) + _HALF
    for j in range(hidden):
        i, f, g, o = gates[j], gates[hidden + j], gates[2 * hidden + j], gates[3 * hidden + j]
        cp, c, tc, h = c_prev[j], c_out[j], tc_out[j], h_out[j]
        for n in range(rows):
            c[n] = f[n] * cp[n] + i[n] * g[n]
        for n in range(rows):
            tc[n] = _tanh(c[n])
        for n in range(rows):
            h[n] = o[n] * tc[n]


@njit(cache=True, fastmath=True, error_model="numpy")
def lstm_step_backward(dy, dh, gates, c_prev, tc, dc, d_gates):
    """Backward of one step, feature-major like the forward: from the output gradient ``dy + dh``
    (H, N) and the cell gradient ``dc`` (updated in place to the gradient w.r.t. ``c_prev``), the
    pre-activation gate gradients ``d_gates`` (4H, N)."""
    four_hidden, rows = gates.shape
    hidden = four_hidden // 4
    for j in range(hidden):
        i_row, f_row, g_row, o_row = gates[j], gates[hidden + j], gates[2 * hidden + j], gates[3 * hidden + j]
        di, df, dg, do = d_gates[j], d_gates[hidden + j], d_gates[2 * hidden + j], d_gates[3 * hidden + j]
        dy_row, dh_row, t_row, cp_row, dc_row = dy[j], dh[j], tc[j], c_prev[j], dc[j]
        for n in range(rows):
            dh_t = dy_row[n] + dh_row[n]
            i, f, g, o, t = i_row[n], f_row[n], g_row[n], o_row[n], t_row[n]
            dc_t = dc_row[n] + dh_t * o * (_ONE - t * t)
            di[n] = dc_t * g * i * (_ONE - i)
            df[n] = dc_t * cp_row[n] * f * (_ONE - f)
            dg[n] = dc_t * i * (_ONE - g * g)
            do[n] = dh_t * t * o * (_ONE - o)
            dc_row[n] = dc_t * f


@njit(cache=True, error_model="numpy")
def add_token_columns(pre, table, tokens):
    """``pre[:, n] += table[:, tokens[n]]``: a step's input part from the projected table of an embedding
    (``EmbeddedLSTMLayer``), ``pre`` ``(G, N)``, ``table`` ``(G, V)``, ``tokens`` ``(N,)``."""
    gates, rows = pre.shape
    for j in range(gates):
        p, row = pre[j], table[j]
        for n in range(rows):
            p[n] += row[tokens[n]]


def swap_last_axes(src, dst):
    """``dst[t, b, a] = src[t, a, b]`` for 3-d arrays of any strides, faster than numpy's transposing
    copy (timings: benchmarks/README.md). The inner loop runs 16 long along the side whose rows are far
    apart, so that each of its cache lines is touched once while the other side's 16 rows stay in L1
    (16 rows 64 KB apart, as in a batch-major (N, L, H) gradient, share one L1 set)."""
    if src.strides[1] > dst.strides[1]:
        _swap_along_src(src, dst)
    else:
        _swap_along_dst(src, dst)


@njit(cache=True)
def _swap_along_dst(src, dst):
    steps, rows, cols = src.shape
    full = rows - rows % 16
    for t in range(steps):
        for a0 in range(0, full, 16):
            for b in range(cols):
                for k in range(16):
                    dst[t, b, a0 + k] = src[t, a0 + k, b]
        for a in range(full, rows):
            for b in range(cols):
                dst[t, b, a] = src[t, a, b]


@njit(cache=True)
def _swap_along_src(src, dst):
    steps, rows, cols = src.shape
    full = cols - cols % 16
    for t in range(steps):
        for b0 in range(0, full, 16):
            for a in range(rows):
                for k in range(16):
                    dst[t, b0 + k, a] = src[t, a, b0 + k]
        for b in range(full, cols):
            for a in range(rows):
                dst[t, b, a] = src[t, a, b]


# --- single cells, batch-major, float32 or float64 ------------------------------------------------
# (the constants are float32, exact in either precision, so that float32 arithmetic stays float32)
def _tanh_of(x):
    """``tanh`` in the precision of ``x`` (float32: the approximation above; float64: exact)."""
    return math.tanh(x)


def _sigmoid_of(x):
    """``sigmoid`` in the precision of ``x`` (float32: through the tanh approximation)."""
    return 1.0 / (1.0 + math.exp(-x))


@overload(_tanh_of, inline="always")
def _tanh_of_overload(x):
    if x == types.float32:
        return lambda x: _tanh(x)
    return lambda x: math.tanh(x)


@overload(_sigmoid_of, inline="always")
def _sigmoid_of_overload(x):
    if x == types.float32:
        return lambda x: _HALF * _tanh(_HALF * x) + _HALF
    return lambda x: 1.0 / (1.0 + math.exp(-x))


@njit(cache=True, fastmath=True, error_model="numpy")
def lstm_cell_forward(gates, bias, c_prev, c_out, tc_out, h_out):
    """One ``LSTMCell`` step: ``gates`` (N, 4H) holds ``x W_ihᵀ + h W_hhᵀ`` and is activated in place
    (i, f, g, o after adding ``bias``, (4H,)); the new cell goes to ``c_out``, ``tanh`` of it to ``tc_out``
    and ``o * tanh(c)`` to ``h_out`` (N, H)."""
    rows, four_hidden = gates.shape
    hidden = four_hidden // 4
    for n in range(rows):
        a = gates[n]
        for j in range(2 * hidden):
            a[j] = _sigmoid_of(a[j] + bias[j])
        for j in range(2 * hidden, 3 * hidden):
            a[j] = _tanh_of(a[j] + bias[j])
        for j in range(3 * hidden, four_hidden):
            a[j] = _sigmoid_of(a[j] + bias[j])
        cp, c, tc, h = c_prev[n], c_out[n], tc_out[n], h_out[n]
        for j in range(hidden):
            c[j] = a[hidden + j] * cp[j] + a[j] * a[2 * hidden + j]
        for j in range(hidden):
            tc[j] = _tanh_of(c[j])
        for j in range(hidden):
            h[j] = a[3 * hidden + j] * tc[j]


@njit(cache=True, fastmath=True, error_model="numpy")
def lstm_cell_backward(dh, dc_next, gates, c_prev, tc, d_gates, dc_prev, d_bias):
    """Backward of ``lstm_cell_forward``: from the gradients of ``h`` and ``c`` (N, H), the
    pre-activation gate gradients ``d_gates`` (N, 4H), the gradient of ``c_prev`` and the bias gradient
    (summed over the batch into ``d_bias``, (4H,), which it overwrites)."""
    rows, four_hidden = gates.shape
    hidden = four_hidden // 4
    d_bias[:] = 0
    for n in range(rows):
        a, d = gates[n], d_gates[n]
        dh_row, dcn_row, t_row, cp_row, dcp_row = dh[n], dc_next[n], tc[n], c_prev[n], dc_prev[n]
        for j in range(hidden):
            i, f, g, o, t = a[j], a[hidden + j], a[2 * hidden + j], a[3 * hidden + j], t_row[j]
            dc = dcn_row[j] + dh_row[j] * o * (_ONE - t * t)  # d/dx tanh = 1 - tanh^2
            d[j] = dc * g * i * (_ONE - i)  # d/dx sigmoid = s (1 - s)
            d[hidden + j] = dc * cp_row[j] * f * (_ONE - f)
            d[2 * hidden + j] = dc * i * (_ONE - g * g)
            d[3 * hidden + j] = dh_row[j] * t * o * (_ONE - o)
            dcp_row[j] = dc * f
        for j in range(four_hidden):
            d_bias[j] += d[j]


@njit(cache=True, fastmath=True, error_model="numpy")
def gru_cell_forward(gi, gh, b_ih, b_hh, h_prev, rz, n_out, ghn_out, h_out):
    """One ``GRUCell`` step from ``gi = x W_ihᵀ`` and ``gh = h W_hhᵀ`` (N, 3H, gates r, z, n) and the
    biases (3H,): ``r, z`` into ``rz`` (N, 2H), ``n`` into ``n_out``, the biased hidden part of the new
    gate ``gh_n + b_hn`` into ``ghn_out`` (the backward needs it) and ``h' = n + z (h - n)`` into
    ``h_out`` (N, H)."""
    rows, three_hidden = gi.shape
    hidden = three_hidden // 3
    for n in range(rows):
        i_row, h_row, a = gi[n], gh[n], rz[n]
        for j in range(2 * hidden):
            a[j] = _sigmoid_of(i_row[j] + b_ih[j] + h_row[j] + b_hh[j])
        hn, nn, hp, out = ghn_out[n], n_out[n], h_prev[n], h_out[n]
        for j in range(hidden):
            hn[j] = h_row[2 * hidden + j] + b_hh[2 * hidden + j]
        for j in range(hidden):
            nn[j] = _tanh_of(i_row[2 * hidden + j] + b_ih[2 * hidden + j] + a[j] * hn[j])
        for j in range(hidden):
            out[j] = nn[j] + a[hidden + j] * (hp[j] - nn[j])


@njit(cache=True, fastmath=True, error_model="numpy")
def gru_cell_backward(dh, rz, n_out, ghn, h_prev, d_gi, d_gh, dh_prev, db_ih, db_hh):
    """Backward of ``gru_cell_forward``: from the gradient of ``h'`` (N, H), the gradients of ``gi`` and
    ``gh`` (N, 3H), the direct part ``z dh`` of the gradient of ``h`` (the product through ``W_hh`` is
    added by the caller) and the bias gradients (summed over the batch, overwritten)."""
    rows, three_hidden = d_gi.shape
    hidden = three_hidden // 3
    db_ih[:] = 0
    db_hh[:] = 0
    for n in range(rows):
        a, nn, hn, hp, dy = rz[n], n_out[n], ghn[n], h_prev[n], dh[n]
        di, dg, dp = d_gi[n], d_gh[n], dh_prev[n]
        for j in range(hidden):
            r, z, v = a[j], a[hidden + j], nn[j]
            dn = dy[j] * (_ONE - z) * (_ONE - v * v)  # at n's pre-activation
            dz = dy[j] * (hp[j] - v) * z * (_ONE - z)
            dr = dn * hn[j] * r * (_ONE - r)
            di[j], dg[j] = dr, dr
            di[hidden + j], dg[hidden + j] = dz, dz
            di[2 * hidden + j], dg[2 * hidden + j] = dn, dn * r
            dp[j] = dy[j] * z
        for j in range(three_hidden):
            db_ih[j] += di[j]
            db_hh[j] += dg[j]
