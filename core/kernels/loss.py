"""Fused softmax cross-entropy over rows of logits (M, C): one pass per row in each direction."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._threads import adaptive


@adaptive
@njit(cache=True, parallel=True)
def cross_entropy_forward(z, target, weight, ignore_index, smoothing):
    """Per-row loss ``(1 - eps) w_t (-log p_t) + eps / C * sum_c w_c (-log p_c)`` (0 for ignored rows),
    plus each row's logsumexp and target weight ``w_t`` (0 when ignored)."""
    m_size, c_size = z.shape
    loss = np.empty(m_size, dtype=np.float64)
    lse = np.empty(m_size, dtype=np.float64)
    w_t = np.empty(m_size, dtype=np.float64)
    for r in prange(m_size):
        peak = z[r, 0]
        for c in range(1, c_size):
            if z[r, c] > peak:
                peak = z[r, c]
        total = 0.0
        for c in range(c_size):
            total += np.exp(z[r, c] - peak)
        log_total = peak + np.log(total)
        lse[r] = log_total
        t = target[r]
        if t == ignore_index:
            loss[r] = 0.0
            w_t[r] = 0.0
            continue
        w_t[r] = weight[t]
        value = (1.0 - smoothing) * weight[t] * (log_total - z[r, t])
        if smoothing > 0:
            smooth = 0.0
            for c in range(c_size):
                smooth += weight[c] * (log_total - z[r, c])
            value += smoothing / c_size * smooth
        loss[r] = value
    return loss, lse, w_t


@adaptive
@njit(cache=True, parallel=True)
def cross_entropy_backward(z, lse, target, weight, w_t, scale, smoothing, total_weight, ignore_index):
    """d loss / d z = scale_r * (a_r p_j - (1 - eps) w_t [j = t] - eps / C w_j) for rows that are not ignored,
    where a_r = (1 - eps) w_t + eps / C * sum_c w_c."""
    m_size, c_size = z.shape
    gz = np.empty_like(z)
    for r in prange(m_size):
        if target[r] == ignore_index:
            for c in range(c_size):
                gz[r, c] = 0.0
            continue
        s = scale[r]
        a = ((1.0 - smoothing) * w_t[r] + smoothing / c_size * total_weight) * s
        b = smoothing / c_size * s
        for c in range(c_size):
            gz[r, c] = a * np.exp(z[r, c] - lse[r]) - b * weight[c]
        t = target[r]
        gz[r, t] -= (1.0 - smoothing) * w_t[r] * s
    return gz
