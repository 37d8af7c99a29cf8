"""Batch-norm kernels over an (N, C, L) view: per-channel statistics, the normalisation and
its backward, each one pass per channel, parallel over channels (float64 accumulation)."""

from __future__ import annotations

import numpy as np

from ._threads import split

# elements from which batch norm runs on every thread (see _threads.Split): the statistics and the
# normalisation do a few operations per element, the backward about four times as many
_LIGHT_WORK, _WORK = 1 << 19, 1 << 18


def channel_stats(x):
    """Mean and biased variance of each channel of x (N, C, L) (two-pass, float64)."""
    mean = np.empty(x.shape[1], dtype=np.float64)
    var = np.empty(x.shape[1], dtype=np.float64)
    _channel_stats(x.shape[1], x, mean, var)
    return mean, var


@split(_LIGHT_WORK, fastmath=True)
def _channel_stats(x, mean, var, start, stop):
    n_size, _, l_size = x.shape
    count = n_size * l_size
    for c in range(start, stop):
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


def normalize_affine(x, mean, invstd, weight, bias):
    """y = (x - mean[c]) * invstd[c] * weight[c] + bias[c] for x (N, C, L)."""
    y = np.empty(x.shape, x.dtype)  # (a plain array: x may be a read-only meta array)
    _normalize_affine(x.shape[0] * x.shape[1], x, mean, invstd, weight, bias, y)
    return y


@split(_LIGHT_WORK, fastmath=True)
def _normalize_affine(x, mean, invstd, weight, bias, y, start, stop):
    c_size, l_size = x.shape[1:]
    for nc in range(start, stop):
        n = nc // c_size
        c = nc % c_size
        scale = invstd[c] * weight[c]
        shift = bias[c] - mean[c] * scale
        s = x.dtype.type(scale)
        t = x.dtype.type(shift)
        for i in range(l_size):
            y[n, c, i] = x[n, c, i] * s + t


def normalize_affine_relu(x, mean, invstd, weight, bias, residual=None):
    """y = max((x - mean[c]) * invstd[c] * weight[c] + bias[c] (+ residual), 0) for x (N, C, L) in one pass: batch
    norm, the residual add and ReLU of a ResNet block (``ember.compiler``'s fused op)."""
    y = np.empty(x.shape, x.dtype)
    _normalize_affine_relu(x.shape[0] * x.shape[1], x, mean, invstd, weight, bias, residual, y)
    return y


@split(_LIGHT_WORK, fastmath=True)
def _normalize_affine_relu(x, mean, invstd, weight, bias, residual, y, start, stop):
    c_size, l_size = x.shape[1:]
    zero = x.dtype.type(0)
    for nc in range(start, stop):
        n = nc // c_size
        c = nc % c_size
        scale = invstd[c] * weight[c]
        s = x.dtype.type(scale)
        t = x.dtype.type(bias[c] - mean[c] * scale)
        for i in range(l_size):
            v = x[n, c, i] * s + t
            if residual is not None:  # (``None``: pruned when numba compiles)
                v = v + residual[n, c, i]
            y[n, c, i] = zero if v < zero else v  # noqa: FURB136 (NaN stays NaN, as np.maximum)


def batch_norm_backward(g, x, mean, invstd, weight, training):
    """Gradients of y = xhat * weight + bias, xhat = (x - mean) * invstd, for x (N, C, L).

    In training the batch statistics depend on x:
    gx = weight * invstd * (g - mean(g) - xhat * mean(g * xhat)); in eval gx = g * weight * invstd.
    """
    gx = np.empty(x.shape, x.dtype)
    gw = np.empty(x.shape[1], dtype=np.float64)
    gb = np.empty(x.shape[1], dtype=np.float64)
    _batch_norm_backward(x.shape[1], g, None, x, mean, invstd, weight, training, gx, None, gw, gb)
    return gx, gw, gb


def batch_norm_relu_backward(g, y, x, mean, invstd, weight, training, residual):
    """``batch_norm_backward`` of ``normalize_affine_relu``'s output ``y``: ``g`` masked by ``y > 0`` inside batch
    norm's two passes; returns (gx, the residual's gradient (the masked ``g``, None without a residual), gw, gb)."""
    gx = np.empty(x.shape, x.dtype)
    gr = np.empty(x.shape, x.dtype) if residual else None
    gw = np.empty(x.shape[1], dtype=np.float64)
    gb = np.empty(x.shape[1], dtype=np.float64)
    _batch_norm_backward(x.shape[1], g, y, x, mean, invstd, weight, training, gx, gr, gw, gb)
    return gx, gr, gw, gb


@split(_WORK, fastmath=True)
def _batch_norm_backward(g, y, x, mean, invstd, weight, training, gx, gr, gw, gb, start, stop):
    """Batch norm's backward of ``g``, masked by ``y > 0`` unless ``y`` is None, the masked gradient also written
    to ``gr`` unless it is None. The ``None`` checks are pruned when numba compiles each specialisation, so the
    plain backward's loops are those of a kernel without them."""
    n_size, _, l_size = x.shape
    count = n_size * l_size
    zero = g.dtype.type(0)
    for c in range(start, stop):
        m = mean[c]
        s = invstd[c]
        sum_g = 0.0
        sum_gx = 0.0
        for n in range(n_size):
            for i in range(l_size):
                gv = g[n, c, i] if y is None else (g[n, c, i] if y[n, c, i] > zero else zero)
                if gr is not None:
                    gr[n, c, i] = gv
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
                    gv = g[n, c, i] if y is None else (g[n, c, i] if y[n, c, i] > zero else zero)
                    xhat = (x[n, c, i] - m) * s
                    gx[n, c, i] = k * (gv - mg - xhat * mgx)
        else:
            for n in range(n_size):
                for i in range(l_size):
                    gv = g[n, c, i] if y is None else (g[n, c, i] if y[n, c, i] > zero else zero)
                    gx[n, c, i] = k * gv


# elements of layer norm's input from which its rows are split between the kernel threads (_threads.Split):
# below them a second thread did not pay (benchmarks/README.md, 2026-12-07, transformers on two threads)
_LAYER_NORM_WORK, _LAYER_NORM_BACKWARD_WORK = 1 << 20, 1 << 18


def layer_norm_forward(x, weight, bias, eps, affine):
    """Rows of x (M, D) normalised to zero mean / unit variance, then ``* weight + bias`` if ``affine``;
    returns ``(y, mean, invstd)`` (the statistics in float64)."""
    y = np.empty_like(x)
    mean = np.empty(x.shape[0], dtype=np.float64)
    invstd = np.empty(x.shape[0], dtype=np.float64)
    _layer_norm_forward(x.shape[0], x, weight, bias, eps, affine, y, mean, invstd)
    return y, mean, invstd


@split(_LAYER_NORM_WORK, fastmath=True)
def _layer_norm_forward(x, weight, bias, eps, affine, y, mean, invstd, start, stop):
    d_size = x.shape[1]
    for r in range(start, stop):
        total = 0.0
        for j in range(d_size):
            total += x[r, j]
        mu = total / d_size
        sq = 0.0
        for j in range(d_size):
            d = x[r, j] - mu
            sq += d * d
        s = 1.0 / np.sqrt(sq / d_size + eps)
        mean[r] = mu
        invstd[r] = s
        if affine:
            for j in range(d_size):
                y[r, j] = (x[r, j] - mu) * s * weight[j] + bias[j]
        else:
            for j in range(d_size):
                y[r, j] = (x[r, j] - mu) * s


def layer_norm_backward(g, x, mean, invstd, weight, affine, chunks):
    """gx = invstd * (gxhat - mean(gxhat) - xhat * mean(gxhat * xhat)) with gxhat = g * weight; and the
    weight / bias gradients, summed per chunk of rows (``chunks`` of them, shared between the threads),
    then across chunks."""
    m_size, d_size = x.shape
    chunks = max(1, min(chunks, m_size))
    gx = np.empty_like(x)
    partial_w = np.zeros((chunks, d_size), dtype=np.float64)
    partial_b = np.zeros((chunks, d_size), dtype=np.float64)
    _layer_norm_backward(chunks, g, x, mean, invstd, weight, affine, gx, partial_w, partial_b)
    return gx, partial_w.sum(axis=0), partial_b.sum(axis=0)


@split(_LAYER_NORM_BACKWARD_WORK, fastmath=True)
def _layer_norm_backward(g, x, mean, invstd, weight, affine, gx, partial_w, partial_b, start, stop):
    m_size, d_size = x.shape
    chunks = partial_w.shape[0]
    step = (m_size + chunks - 1) // chunks
    for k in range(start, stop):
        for r in range(k * step, min((k + 1) * step, m_size)):
            mu = mean[r]
            s = invstd[r]
            sum_g = 0.0
            sum_gx = 0.0
            for j in range(d_size):
                xhat = (x[r, j] - mu) * s
                gv = g[r, j] * weight[j] if affine else g[r, j]
                sum_g += gv
                sum_gx += gv * xhat
                partial_w[k, j] += g[r, j] * xhat
                partial_b[k, j] += g[r, j]
            mg = sum_g / d_size
            mgx = sum_gx / d_size
            for j in range(d_size):
                xhat = (x[r, j] - mu) * s
                gv = g[r, j] * weight[j] if affine else g[r, j]
                gx[r, j] = s * (gv - mg - xhat * mgx)
