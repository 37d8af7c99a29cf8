"""Batch-norm kernels over an (N, C, L) view: per-channel statistics, the normalisation and
its backward, each one pass per channel, parallel over channels (float64 accumulation)."""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True)
def channel_stats(x):
    """Mean and biased variance of each channel of x (N, C, L) (two-pass, float64)."""
    n_size, c_size, l_size = x.shape
    mean = np.empty(c_size, dtype=np.float64)
    var = np.empty(c_size, dtype=np.float64)
    count = n_size * l_size
    for c in prange(c_size):
        total = 0.0
        for n in range(n_size):
            for i in range(l_size):
                total += x[n, c, i]
        m = total / count
        sq = 0.0
        for n in range(n_size):
            for i in range(l_size):
                d = x[n, c, i] - m
                sq += d * d
        mean[c] = m
        var[c] = sq / count
    return mean, var


@njit(cache=True, parallel=True)
def normalize_affine(x, mean, invstd, weight, bias):
    """y = (x - mean[c]) * invstd[c] * weight[c] + bias[c] for x (N, C, L)."""
    n_size, c_size, l_size = x.shape
    y = np.empty_like(x)
    for nc in prange(n_size * c_size):
        n = nc // c_size
        c = nc % c_size
        scale = invstd[c] * weight[c]
        shift = bias[c] - mean[c] * scale
        s = x.dtype.type(scale)
        t = x.dtype.type(shift)
        for i in range(l_size):
            y[n, c, i] = x[n, c, i] * s + t
    return y


@njit(cache=True, parallel=True)
def batch_norm_backward(g, x, mean, invstd, weight, training):
    """Gradients of y = xhat * weight + bias, xhat = (x - mean) * invstd, for x (N, C, L).

    In training the batch statistics depend on x:
    gx = weight * invstd * (g - mean(g) - xhat * mean(g * xhat)); in eval gx = g * weight * invstd.
    """
    n_size, c_size, l_size = x.shape
    gx = np.empty_like(x)
    gw = np.empty(c_size, dtype=np.float64)
    gb = np.empty(c_size, dtype=np.float64)
    count = n_size * l_size
    for c in prange(c_size):
        m = mean[c]
        s = invstd[c]
        sum_g = 0.0
        sum_gx = 0.0
        for n in range(n_size):
            for i in range(l_size):
                gv = g[n, c, i]
                sum_g += gv
                sum_gx += gv * (x[n, c, i] - m)
        sum_gxhat = sum_gx * s
        gw[c] = sum_gxhat
        gb[c] = sum_g
        k = weight[c] * s
        if training:
            mg = sum_g / count
            mgx = sum_gxhat / count
            for n in range(n_size):
                for i in range(l_size):
                    xhat = (x[n, c, i] - m) * s
                    gx[n, c, i] = k * (g[n, c, i] - mg - xhat * mgx)
        else:
            for n in range(n_size):
                for i in range(l_size):
                    gx[n, c, i] = k * g[n, c, i]
    return gx, gw, gb
