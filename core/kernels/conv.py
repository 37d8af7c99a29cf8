"""im2col / col2im for 2-d convolution, unfold and fold.

Layout: ``cols[n, c, kh, kw, oh, ow] = x[n, c, oh*sh - ph + kh*dh, ow*sw - pw + kw*dw]`` (zero where the
position falls into the padding). The convolution itself is one BLAS matmul over these columns.
Both kernels work on one (n, c) plane per parallel iteration, so col2im's scatter-add has no races.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._threads import adaptive


@adaptive
@njit(cache=True, parallel=True)
def im2col(x, kh_size, kw_size, sh, sw, ph, pw, dh, dw, out_h, out_w):
    n_size, c_size, h_size, w_size = x.shape
    cols = np.empty((n_size, c_size, kh_size, kw_size, out_h, out_w), dtype=x.dtype)
    for nc in prange(n_size * c_size):
        n = nc // c_size
        c = nc % c_size
        for kh in range(kh_size):
            for kw in range(kw_size):
                for oh in range(out_h):
                    h = oh * sh - ph + kh * dh
                    if h < 0 or h >= h_size:
                        for ow in range(out_w):
                            cols[n, c, kh, kw, oh, ow] = 0
                        continue
                    for ow in range(out_w):
                        w = ow * sw - pw + kw * dw
                        if w >= 0 and w < w_size:
                            cols[n, c, kh, kw, oh, ow] = x[n, c, h, w]
                        else:
                            cols[n, c, kh, kw, oh, ow] = 0
    return cols


@adaptive
@njit(cache=True, parallel=True)
def col2im(cols, h_size, w_size, sh, sw, ph, pw, dh, dw):
    n_size, c_size, kh_size, kw_size, out_h, out_w = cols.shape
    x = np.zeros((n_size, c_size, h_size, w_size), dtype=cols.dtype)
    for nc in prange(n_size * c_size):
        n = nc // c_size
        c = nc % c_size
        for kh in range(kh_size):
            for kw in range(kw_size):
                for oh in range(out_h):
                    h = oh * sh - ph + kh * dh
                    if h < 0 or h >= h_size:
                        continue
                    for ow in range(out_w):
                        w = ow * sw - pw + kw * dw
                        if w >= 0 and w < w_size:
                            x[n, c, h, w] += cols[n, c, kh, kw, oh, ow]
    return x
