"""Pooling kernels on (N, C, D, H, W) arrays; every parallel iteration owns one (n, c) plane.

1-d and 2-d pooling run these 3-d kernels on views with leading spatial sizes of 1, so one kernel
serves every dimension; max pooling has faster 2-d kernels of its own (``_max_pool2d``; timings:
benchmarks/README.md, fourth session). Max pooling returns, with its output, the flat index
``(d * H + h) * W + w`` of each maximum in its input plane (PyTorch's ``return_indices`` convention, which for a 2-d plane is
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
    planes = x.shape[0] * x.shape[1]
    if x.shape[2] == 1 and kd_size == 1 and out_d == 1 and pd == 0:  # 1-d and 2-d pooling
        x2, out2, idx2 = (a.reshape(planes, a.shape[3], a.shape[4]) for a in (x, out, idx))
        window = (kh_size, kw_size, sh, sw, dh, dw)
        if window == (2, 2, 2, 2, 1, 1):
            _max_pool2d_2s2(planes, x2, out2, idx2, ph, pw)
        elif window == (3, 3, 2, 2, 1, 1):
            _max_pool2d_3s2(planes, x2, out2, idx2, ph, pw)
        else:
            _max_pool2d(planes, x2, out2, idx2, kh_size, kw_size, sh, sw, ph, pw, dh, dw)
    else:
        _max_pool3d(planes, x, out, idx, kd_size, kh_size, kw_size, sd, sh, sw, pd, ph, pw, dd, dh, dw)
    return out, idx


@njit(inline="always")
def _pool2d_rows(x, out, idx, kh_size, kw_size, sh, sw, ph, pw, dh, dw, start, stop):
    """Max pooling of (planes, H, W) arrays, the body of the ``_max_pool2d*`` kernels (inlined into each, so
    that a specialised kernel's constant window and stride unroll its window loops and vectorise its column
    loop). A window wholly inside the plane indexes the input with unsigned integers: numba then drops its
    test for negative indices, which kept this loop from vectorising. Windows that cross the
    border take ``_window_max``."""
    h_size, w_size = x.shape[1], x.shape[2]
    out_h, out_w = out.shape[1], out.shape[2]
    lo = min((pw + sw - 1) // sw, out_w)  # the first column whose window starts inside the row
    hi = max(min((w_size - 1 + pw - (kw_size - 1) * dw) // sw + 1, out_w), lo)  # the first past the row
    for plane in range(start, stop):
        p = np.uint64(plane)
        for oh in range(out_h):
            h0 = oh * sh - ph
            if h0 < 0 or h0 + (kh_size - 1) * dh >= h_size:
                lo_row = hi_row = 0  # every window of this row crosses the border
            else:
                lo_row, hi_row = lo, hi
                for ow in range(lo, hi):
                    w0 = ow * sw - pw
                    best = x[p, np.uint64(h0), np.uint64(w0)]
                    best_i = h0 * w_size + w0
                    for kh in range(kh_size):
                        h = h0 + kh * dh
                        for kw in range(kw_size):
                            w = w0 + kw * dw
                            v = x[p, np.uint64(h), np.uint64(w)]
                            if v > best or np.isnan(v):  # the first maximum; as PyTorch, the last NaN
                                best = v
                                best_i = h * w_size + w
                    out[p, oh, np.uint64(ow)] = best
                    idx[p, oh, np.uint64(ow)] = best_i
            for j in range(lo_row + out_w - hi_row):  # columns 0 .. lo_row - 1, then hi_row .. out_w - 1
                ow = j if j < lo_row else hi_row + j - lo_row
                out[p, oh, ow], idx[p, oh, ow] = _window_max(x, p, h0, ow * sw - pw, kh_size, kw_size, dh, dw)


@njit(inline="always")
def _window_max(x, p, h0, w0, kh_size, kw_size, dh, dw):
    """The maximum of one window and its flat index, skipping taps outside the plane (-inf, -1 if all are)."""
    h_size, w_size = x.shape[1], x.shape[2]
    best = -np.inf
    best_i = -1
    for kh in range(kh_size):
        h = h0 + kh * dh
        if h < 0 or h >= h_size:
            continue
        for kw in range(kw_size):
            w = w0 + kw * dw
            if w < 0 or w >= w_size:
                continue
            v = x[p, h, w]
            if v > best or best_i < 0 or np.isnan(v):
                best = v
                best_i = h * w_size + w
    return best, best_i


@split(_POOL_WORK)
def _max_pool2d(x, out, idx, kh_size, kw_size, sh, sw, ph, pw, dh, dw, start, stop):
    """2-d max pooling of (planes, H, W) arrays, any window."""
    _pool2d_rows(x, out, idx, kh_size, kw_size, sh, sw, ph, pw, dh, dw, start, stop)


@split(_POOL_WORK)
def _max_pool2d_2s2(x, out, idx, ph, pw, start, stop):
    """``_max_pool2d`` of a 2x2 window at stride 2 (LeNet's, VGG's)."""
    _pool2d_rows(x, out, idx, 2, 2, 2, 2, ph, pw, 1, 1, start, stop)


@split(_POOL_WORK)
def _max_pool2d_3s2(x, out, idx, ph, pw, start, stop):
    """``_max_pool2d`` of a 3x3 window at stride 2 (the ResNet stem's)."""
    _pool2d_rows(x, out, idx, 3, 3, 2, 2, ph, pw, 1, 1, start, stop)


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


# Average pooling's window loops index a plane with unsigned integers: a window's bounds are run-time values that
# LLVM cannot prove non-negative, and numba's test for negative indices on every access kept these loops from
# vectorising (the bounds are in range by construction: ``_avg_window`` and ``_adaptive_window`` clip them).
@njit(cache=True, fastmath={"reassoc", "contract"})
def _window_sum(plane, d0, d1, h0, h1, w0, w1):
    """The float64 sum of ``plane[d0:d1, h0:h1, w0:w1]`` (reassociated, so that it vectorises)."""
    total = 0.0
    for d in range(d0, d1):
        for h in range(h0, h1):
            row = plane[np.uint64(d), np.uint64(h)]
            for w in range(w0, w1):
                total += row[np.uint64(w)]
    return total


@njit(inline="always")
def _window_add(plane, d0, d1, h0, h1, w0, w1, g):
    """``plane[d0:d1, h0:h1, w0:w1] += g``."""
    for d in range(d0, d1):
        for h in range(h0, h1):
            row = plane[np.uint64(d), np.uint64(h)]
            for w in range(w0, w1):
                row[np.uint64(w)] += g


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
                    total = _window_sum(x[n, c], d0, d1, h0, h1, w0, w1)
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
                    _window_add(gx[n, c], d0, d1, h0, h1, w0, w1, grad[n, c, od, oh, ow] / divisor)
    return gx


@njit(cache=True)
def _adaptive_window(o, size, out_size):
    """Adaptive pooling's window: [floor(o * size / out), ceil((o + 1) * size / out))."""
    return (o * size) // out_size, -((-(o + 1) * size) // out_size)


def adaptive_pool3d(x, out_d, out_h, out_w, use_max):
    """Adaptive average or max pooling (max also returns the flat index of each maximum)."""
    if use_max or (out_d, out_h, out_w) != (1, 1, 1):
        return _adaptive_pool3d(x, out_d, out_h, out_w, use_max)
    # global average pooling (a ResNet's head): each plane's mean, over the flat plane (the window loops ran
    # row by row, mostly in their remainders)
    planes = np.ascontiguousarray(x).reshape(x.shape[0] * x.shape[1], 1, 1, -1)
    out = np.empty(planes.shape[0], dtype=x.dtype)
    _plane_means(planes, out)
    return out.reshape(x.shape[:2] + (1, 1, 1)), np.zeros(x.shape[:2] + (1, 1, 1), dtype=np.int64)


@njit(cache=True)
def _plane_means(planes, out):
    size = planes.shape[3]
    for i in range(planes.shape[0]):
        out[i] = _window_sum(planes[i], 0, 1, 0, 1, 0, size) / size


@adaptive()
def _adaptive_pool3d(x, out_d, out_h, out_w, use_max):
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
                        total = _window_sum(x[n, c], d0, d1, h0, h1, w0, w1)
                        out[n, c, od, oh, ow] = total / ((d1 - d0) * (h1 - h0) * (w1 - w0))
    return out, idx


def adaptive_avg_pool3d_backward(grad, d_size, h_size, w_size):
    """The input gradient of adaptive average pooling onto (D, H, W) planes."""
    if grad.shape[2:] != (1, 1, 1):
        return _adaptive_avg_pool3d_backward(grad, d_size, h_size, w_size)
    gx = np.empty((grad.shape[0] * grad.shape[1], d_size * h_size * w_size), dtype=grad.dtype)
    _fill_planes(np.ascontiguousarray(grad).reshape(-1), gx)  # global pooling: each plane its mean's gradient
    return gx.reshape(grad.shape[:2] + (d_size, h_size, w_size))


@njit(cache=True)
def _fill_planes(grad, gx):
    for i in range(gx.shape[0]):
        g = gx.dtype.type(grad[i] / gx.shape[1])  # (rounded once, as the window loop's 0 + g)
        gx[i, :] = g


@adaptive()
def _adaptive_avg_pool3d_backward(grad, d_size, h_size, w_size):
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
                    _window_add(gx[n, c], d0, d1, h0, h1, w0, w1, g)
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
