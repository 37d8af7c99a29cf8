"""Pooling kernels on (N, C, D, H, W) arrays; every parallel iteration owns one (n, c) plane.

1-d and 2-d pooling run these 3-d kernels on views with leading spatial sizes of 1, so one kernel
serves every dimension. Max pooling returns, with its output, the flat index ``(d * H + h) * W + w``
of each maximum in its input plane (PyTorch's ``return_indices`` convention, which for a 2-d plane is
``h * W + w``); the backward scatters through it and ``max_unpool`` writes through it.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._threads import adaptive, split

_POOL_WORK = 1 << 15  # elements from which max pooling runs on every thread (see _threads.Split)


def max_pool3d(x, kd_size, kh_size, kw_size, sd, sh, sw, pd, ph, pw, dd, dh, dw, out_d, out_h, out_w):
    """The maxima of every window and their flat indices in the input plane."""
    out = np.empty(x.shape[:2] + (out_d, out_h, out_w), dtype=x.dtype)
    idx = np.empty(x.shape[:2] + (out_d, out_h, out_w), dtype=np.int64)
    _max_pool3d(x.shape[0] * x.shape[1], x, out, idx, kd_size, kh_size, kw_size, sd, sh, sw, pd, ph, pw,
                dd, dh, dw)
    return out, idx


@split(_POOL_WORK)
def _max_pool3d(x, out, idx, kd_size, kh_size, kw_size, sd, sh, sw, pd, ph, pw, dd, dh, dw, start, stop):
    c_size, d_size, h_size, w_size = x.shape[1:]
    out_d, out_h, out_w = out.shape[2:]
    for nc in range(start, stop):
        n = nc // c_size
        c = nc % c_size
        for od in range(out_d):
            for oh in range(out_h):
                for ow in range(out_w):
                    best = -np.inf
                    best_i = -1
                    for kd in range(kd_size):
                        d = od * sd - pd + kd * dd
                        if d < 0 or d >= d_size:
                            continue
                        for kh in range(kh_size):
                            h = oh * sh - ph + kh * dh
                            if h < 0 or h >= h_size:
                                continue
                            for kw in range(kw_size):
                                w = ow * sw - pw + kw * dw
                                if w < 0 or w >= w_size:
                                    continue
                                v = x[n, c, d, h, w]
                                if v > best or best_i < 0 or np.isnan(v):  # as PyTorch: the last NaN wins
                                    best = v
                                    best_i = (d * h_size + h) * w_size + w
                    out[n, c, od, oh, ow] = best
                    idx[n, c, od, oh, ow] = best_i


@adaptive()
def scatter_add_planes(grad, idx, plane_size):
    """``gx[n, c, idx[n, c, i]] += grad[n, c, i]`` over flat (N, C, L) planes: each max pooling's backward."""
    n_size, c_size, length = grad.shape
    gx = np.zeros((n_size, c_size, plane_size), dtype=grad.dtype)
    for nc in prange(n_size * c_size):
        n = nc // c_size
        c = nc % c_size
        for i in range(length):
            j = idx[n, c, i]
            if j >= 0:
                gx[n, c, j] += grad[n, c, i]
    return gx


@njit(cache=True)
def _avg_window(o, stride, pad, k, size, count_include_pad):
    start = o * stride - pad
    end = min(start + k, size + pad)
    pool = end - start
    start = max(start, 0)
    end = min(end, size)
    return start, end, pool if count_include_pad else end - start


@adaptive()
def avg_pool3d(x, kd_size, kh_size, kw_size, sd, sh, sw, pd, ph, pw, out_d, out_h, out_w, count_include_pad,
               divisor_override):
    n_size, c_size, d_size, h_size, w_size = x.shape
    out = np.empty((n_size, c_size, out_d, out_h, out_w), dtype=x.dtype)
    for nc in prange(n_size * c_size):
        n = nc // c_size
        c = nc % c_size
        for od in range(out_d):
            d0, d1, pd_count = _avg_window(od, sd, pd, kd_size, d_size, count_include_pad)
            for oh in range(out_h):
                h0, h1, ph_count = _avg_window(oh, sh, ph, kh_size, h_size, count_include_pad)
                for ow in range(out_w):
                    w0, w1, pw_count = _avg_window(ow, sw, pw, kw_size, w_size, count_include_pad)
                    total = 0.0
                    for d in range(d0, d1):
                        for h in range(h0, h1):
                            for w in range(w0, w1):
                                total += x[n, c, d, h, w]
                    divisor = divisor_override if divisor_override > 0 else pd_count * ph_count * pw_count
                    out[n, c, od, oh, ow] = total / divisor
    return out


@adaptive()
def avg_pool3d_backward(grad, d_size, h_size, w_size, kd_size, kh_size, kw_size, sd, sh, sw, pd, ph, pw,
                        count_include_pad, divisor_override):
    n_size, c_size, out_d, out_h, out_w = grad.shape
    gx = np.zeros((n_size, c_size, d_size, h_size, w_size), dtype=grad.dtype)
    for nc in prange(n_size * c_size):
        n = nc // c_size
        c = nc % c_size
        for od in range(out_d):
            d0, d1, pd_count = _avg_window(od, sd, pd, kd_size, d_size, count_include_pad)
            for oh in range(out_h):
                h0, h1, ph_count = _avg_window(oh, sh, ph, kh_size, h_size, count_include_pad)
                for ow in range(out_w):
                    w0, w1, pw_count = _avg_window(ow, sw, pw, kw_size, w_size, count_include_pad)
                    divisor = divisor_override if divisor_override > 0 else pd_count * ph_count * pw_count
                    g = grad[n, c, od, oh, ow] / divisor
                    for d in range(d0, d1):
                        for h in range(h0, h1):
                            for w in range(w0, w1):
                                gx[n, c, d, h, w] += g
    return gx


@njit(cache=True)
def _adaptive_window(o, size, out_size):
    """Adaptive pooling's window: [floor(o * size / out), ceil((o + 1) * size / out))."""
    return (o * size) // out_size, -((-(o + 1) * size) // out_size)


@adaptive()
def adaptive_pool3d(x, out_d, out_h, out_w, use_max):
    """Adaptive average or max pooling (max also returns the flat index of each maximum)."""
    n_size, c_size, d_size, h_size, w_size = x.shape
    out = np.empty((n_size, c_size, out_d, out_h, out_w), dtype=x.dtype)
    idx = np.zeros((n_size, c_size, out_d, out_h, out_w), dtype=np.int64)
    for nc in prange(n_size * c_size):
        n = nc // c_size
        c = nc % c_size
        for od in range(out_d):
            d0, d1 = _adaptive_window(od, d_size, out_d)
            for oh in range(out_h):
                h0, h1 = _adaptive_window(oh, h_size, out_h)
                for ow in range(out_w):
                    w0, w1 = _adaptive_window(ow, w_size, out_w)
                    if use_max:
                        best = x[n, c, d0, h0, w0]
                        best_i = (d0 * h_size + h0) * w_size + w0
                        for d in range(d0, d1):
                            for h in range(h0, h1):
                                for w in range(w0, w1):
                                    v = x[n, c, d, h, w]
                                    if v > best or np.isnan(v):
                                        best = v
                                        best_i = (d * h_size + h) * w_size + w
                        out[n, c, od, oh, ow] = best
                        idx[n, c, od, oh, ow] = best_i
                    else:
                        total = 0.0
                        for d in range(d0, d1):
                            for h in range(h0, h1):
                                for w in range(w0, w1):
                                    total += x[n, c, d, h, w]
                        out[n, c, od, oh, ow] = total / ((d1 - d0) * (h1 - h0) * (w1 - w0))
    return out, idx


@adaptive()
def adaptive_avg_pool3d_backward(grad, d_size, h_size, w_size):
    n_size, c_size, out_d, out_h, out_w = grad.shape
    gx = np.zeros((n_size, c_size, d_size, h_size, w_size), dtype=grad.dtype)
    for nc in prange(n_size * c_size):
        n = nc // c_size
        c = nc % c_size
        for od in range(out_d):
            d0, d1 = _adaptive_window(od, d_size, out_d)
            for oh in range(out_h):
                h0, h1 = _adaptive_window(oh, h_size, out_h)
                for ow in range(out_w):
                    w0, w1 = _adaptive_window(ow, w_size, out_w)
                    g = grad[n, c, od, oh, ow] / ((d1 - d0) * (h1 - h0) * (w1 - w0))
                    for d in range(d0, d1):
                        for h in range(h0, h1):
                            for w in range(w0, w1):
                                gx[n, c, d, h, w] += g
    return gx


@adaptive()
def fractional_max_pool3d(x, starts_d, starts_h, starts_w, kd_size, kh_size, kw_size):
    """Max over the windows ``[start, start + k)`` that each (n, c) plane drew (``starts_*``: (N, C, O))."""
    n_size, c_size, _, h_size, w_size = x.shape
    out_d, out_h, out_w = starts_d.shape[2], starts_h.shape[2], starts_w.shape[2]
    out = np.empty((n_size, c_size, out_d, out_h, out_w), dtype=x.dtype)
    idx = np.empty((n_size, c_size, out_d, out_h, out_w), dtype=np.int64)
    for nc in prange(n_size * c_size):
        n = nc // c_size
        c = nc % c_size
        for od in range(out_d):
            d0 = starts_d[n, c, od]
            for oh in range(out_h):
                h0 = starts_h[n, c, oh]
                for ow in range(out_w):
                    w0 = starts_w[n, c, ow]
                    best = -np.inf
                    best_i = (d0 * h_size + h0) * w_size + w0
                    for d in range(d0, d0 + kd_size):
                        for h in range(h0, h0 + kh_size):
                            for w in range(w0, w0 + kw_size):
                                v = x[n, c, d, h, w]
                                if v > best or np.isnan(v):
                                    best = v
                                    best_i = (d * h_size + h) * w_size + w
                    out[n, c, od, oh, ow] = best
                    idx[n, c, od, oh, ow] = best_i
    return out, idx
