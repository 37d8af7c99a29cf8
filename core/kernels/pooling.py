"""Pooling kernels on (N, C, H, W) arrays; every parallel iteration owns one (n, c) plane.

Max pooling returns, with its output, the flat index ``h * W + w`` of each maximum in its
input plane (PyTorch's ``return_indices`` convention); the backward scatters through it.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._threads import adaptive


@adaptive
@njit(cache=True, parallel=True)
def max_pool2d(x, kh_size, kw_size, sh, sw, ph, pw, dh, dw, out_h, out_w):
    n_size, c_size, h_size, w_size = x.shape
    out = np.empty((n_size, c_size, out_h, out_w), dtype=x.dtype)
    idx = np.empty((n_size, c_size, out_h, out_w), dtype=np.int64)
    for nc in prange(n_size * c_size):
        n = nc // c_size
        c = nc % c_size
        for oh in range(out_h):
            for ow in range(out_w):
                best = -np.inf
                best_i = -1
                for kh in range(kh_size):
                    h = oh * sh - ph + kh * dh
                    if h < 0 or h >= h_size:
                        continue
                    for kw in range(kw_size):
                        w = ow * sw - pw + kw * dw
                        if w < 0 or w >= w_size:
                            continue
                        v = x[n, c, h, w]
                        if v > best or best_i < 0 or np.isnan(v):  # as PyTorch: the last NaN wins
                            best = v
                            best_i = h * w_size + w
                out[n, c, oh, ow] = best
                idx[n, c, oh, ow] = best_i
    return out, idx


@adaptive
@njit(cache=True, parallel=True)
def max_pool2d_backward(grad, idx, h_size, w_size):
    n_size, c_size, out_h, out_w = grad.shape
    gx = np.zeros((n_size, c_size, h_size * w_size), dtype=grad.dtype)
    for nc in prange(n_size * c_size):
        n = nc // c_size
        c = nc % c_size
        for oh in range(out_h):
            for ow in range(out_w):
                i = idx[n, c, oh, ow]
                if i >= 0:
                    gx[n, c, i] += grad[n, c, oh, ow]
    return gx.reshape((n_size, c_size, h_size, w_size))


@njit(cache=True)
def _avg_window(o, stride, pad, k, size, count_include_pad):
    start = o * stride - pad
    end = min(start + k, size + pad)
    pool = end - start
    start = max(start, 0)
    end = min(end, size)
    return start, end, pool if count_include_pad else end - start


@adaptive
@njit(cache=True, parallel=True)
def avg_pool2d(x, kh_size, kw_size, sh, sw, ph, pw, out_h, out_w, count_include_pad, divisor_override):
    n_size, c_size, h_size, w_size = x.shape
    out = np.empty((n_size, c_size, out_h, out_w), dtype=x.dtype)
    for nc in prange(n_size * c_size):
        n = nc // c_size
        c = nc % c_size
        for oh in range(out_h):
            h0, h1, ph_count = _avg_window(oh, sh, ph, kh_size, h_size, count_include_pad)
            for ow in range(out_w):
                w0, w1, pw_count = _avg_window(ow, sw, pw, kw_size, w_size, count_include_pad)
                total = 0.0
                for h in range(h0, h1):
                    for w in range(w0, w1):
                        total += x[n, c, h, w]
                divisor = divisor_override if divisor_override > 0 else ph_count * pw_count
                out[n, c, oh, ow] = total / divisor
    return out


@adaptive
@njit(cache=True, parallel=True)
def avg_pool2d_backward(grad, h_size, w_size, kh_size, kw_size, sh, sw, ph, pw, count_include_pad,
                        divisor_override):
    n_size, c_size, out_h, out_w = grad.shape
    gx = np.zeros((n_size, c_size, h_size, w_size), dtype=grad.dtype)
    for nc in prange(n_size * c_size):
        n = nc // c_size
        c = nc % c_size
        for oh in range(out_h):
            h0, h1, ph_count = _avg_window(oh, sh, ph, kh_size, h_size, count_include_pad)
            for ow in range(out_w):
                w0, w1, pw_count = _avg_window(ow, sw, pw, kw_size, w_size, count_include_pad)
                divisor = divisor_override if divisor_override > 0 else ph_count * pw_count
                g = grad[n, c, oh, ow] / divisor
                for h in range(h0, h1):
                    for w in range(w0, w1):
                        gx[n, c, h, w] += g
    return gx


@adaptive
@njit(cache=True, parallel=True)
def adaptive_pool2d(x, out_h, out_w, use_max):
    """Adaptive average or max pooling; windows are [floor(i*H/OH), ceil((i+1)*H/OH))."""
    n_size, c_size, h_size, w_size = x.shape
    out = np.empty((n_size, c_size, out_h, out_w), dtype=x.dtype)
    idx = np.empty((n_size, c_size, out_h, out_w), dtype=np.int64)
    for nc in prange(n_size * c_size):
        n = nc // c_size
        c = nc % c_size
        for oh in range(out_h):
            h0 = (oh * h_size) // out_h
            h1 = -((-(oh + 1) * h_size) // out_h)
            for ow in range(out_w):
                w0 = (ow * w_size) // out_w
                w1 = -((-(ow + 1) * w_size) // out_w)
                if use_max:
                    best = x[n, c, h0, w0]
                    best_i = h0 * w_size + w0
                    for h in range(h0, h1):
                        for w in range(w0, w1):
                            v = x[n, c, h, w]
                            if v > best or np.isnan(v):
                                best = v
                                best_i = h * w_size + w
                    out[n, c, oh, ow] = best
                    idx[n, c, oh, ow] = best_i
                else:
                    total = 0.0
                    for h in range(h0, h1):
                        for w in range(w0, w1):
                            total += x[n, c, h, w]
                    out[n, c, oh, ow] = total / ((h1 - h0) * (w1 - w0))
                    idx[n, c, oh, ow] = 0
    return out, idx


@adaptive
@njit(cache=True, parallel=True)
def adaptive_avg_pool2d_backward(grad, h_size, w_size):
    n_size, c_size, out_h, out_w = grad.shape
    gx = np.zeros((n_size, c_size, h_size, w_size), dtype=grad.dtype)
    for nc in prange(n_size * c_size):
        n = nc // c_size
        c = nc % c_size
        for oh in range(out_h):
            h0 = (oh * h_size) // out_h
            h1 = -((-(oh + 1) * h_size) // out_h)
            for ow in range(out_w):
                w0 = (ow * w_size) // out_w
                w1 = -((-(ow + 1) * w_size) // out_w)
                g = grad[n, c, oh, ow] / ((h1 - h0) * (w1 - w0))
                for h in range(h0, h1):
                    for w in range(w0, w1):
                        gx[n, c, h, w] += g
    return gx
