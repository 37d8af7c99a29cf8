"""im2col / col2im for 2-d and 3-d convolution, unfold and fold.

Layout: ``cols[n, c, kh, kw, oh, ow] = x[n, c, oh*sh - ph + kh*dh, ow*sw - pw + kw*dw]`` (zero where the
position falls into the padding); the 3-d kernels add a depth axis in front of each pair,
``cols[n, c, kd, kh, kw, od, oh, ow]``. The convolution itself is one BLAS matmul over these columns.
All four kernels work on one (n, c) plane per parallel iteration, so col2im's scatter-add has no races.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._threads import adaptive, split
from .conv3x3 import _merge_row, _split_row

_COPY_WORK = 1 << 17  # elements from which im2col / col2im run on every thread (see _threads.Split)


def _layout(cols):
    """``cols`` (N, C, KH, KW, OH, OW) as the C-contiguous array the kernels index, and whether that array
    is laid out (C, KH, KW, N, OH, OW) (the batch folded, see ``nn.functional.conv._folds_batch``); None
    for any other layout. The kernels index a C-contiguous array so that LLVM vectorises their rows: on a
    strided view of the folded layout they ran several times slower (timings: benchmarks/README.md)."""
    if cols.flags.c_contiguous:
        return cols, False
    folded = np.moveaxis(cols, 0, 3)
    if folded.flags.c_contiguous:
        return folded, True
    return None, False


@njit(inline="always")
def _column_sizes(cols, folded):
    """(KH, KW, OH, OW) of the columns the kernels index, laid out per sample or folded (see ``_layout``)."""
    if folded:
        return cols.shape[1], cols.shape[2], cols.shape[4], cols.shape[5]
    return cols.shape[2], cols.shape[3], cols.shape[4], cols.shape[5]


def im2col(x, kh_size, kw_size, sh, sw, ph, pw, dh, dw, out_h, out_w, out=None):
    """The (N, C, KH, KW, OH, OW) columns of ``x``, written into ``out`` when given (in any layout; the
    per-sample and the folded one are written directly)."""
    if out is None:
        out = np.empty((x.shape[0], x.shape[1], kh_size, kw_size, out_h, out_w), dtype=x.dtype)
    cols, folded = _layout(out)
    if cols is None:
        out[...] = im2col(x, kh_size, kw_size, sh, sw, ph, pw, dh, dw, out_h, out_w)
        return out
    kernel = _im2col_stride2 if sw == 2 and out_w >= 8 else _im2col
    kernel(x.shape[0] * x.shape[1], x, cols, folded, sh, sw, ph, pw, dh, dw)
    return out


@njit(inline="always")
def _unit_stride_span(base, w_size, out_w):
    """The columns [lo, hi) of a stride-1 row of columns whose input column ``ow + base`` is inside the row."""
    lo = min(max(-base, 0), out_w)
    return lo, max(min(w_size - base, out_w), lo)


@split(_COPY_WORK)
def _im2col(x, cols, folded, sh, sw, ph, pw, dh, dw, start, stop):
    c_size, h_size, w_size = x.shape[1:]
    kh_size, kw_size, out_h, out_w = _column_sizes(cols, folded)
    for nc in range(start, stop):
        n = nc // c_size
        c = nc % c_size
        for kh in range(kh_size):
            for kw in range(kw_size):
                for oh in range(out_h):
                    row = cols[c, kh, kw, n, oh] if folded else cols[n, c, kh, kw, oh]
                    h = oh * sh - ph + kh * dh
                    if h < 0 or h >= h_size:
                        for ow in range(out_w):
                            row[ow] = 0
                        continue
                    for ow in range(out_w):
                        w = ow * sw - pw + kw * dw
                        if w >= 0 and w < w_size:
                            row[ow] = x[n, c, h, w]
                        else:
                            row[ow] = 0


@njit(inline="always")
def _stride2_span(base, w_size, out_w):
    """(lo, hi, phase, shift): at column stride 2, column ow of a row of columns is column ``2 ow + base`` of the
    image, column ``ow + shift`` of its even (phase 0) or odd (phase 1) columns; it is inside the image for ow in
    [lo, hi)."""
    lo = min(max((1 - base) // 2, 0), out_w)
    return lo, max(min((w_size - base + 1) // 2, out_w), lo), base % 2, base // 2


@split(_COPY_WORK)
def _im2col_stride2(x, cols, folded, sh, sw, ph, pw, dh, dw, start, stop):
    """``_im2col`` at column stride 2: each plane's rows split into even and odd columns first, so that a row of
    columns is a unit-stride copy from one of them over the span inside the image (unsigned indices: numba's test
    for negative ones kept the copy from vectorising), where the strided, tested loop ran slower (benchmarks/README.md,
    helper K1)."""
    c_size, h_size, w_size = x.shape[1:]
    kh_size, kw_size, out_h, out_w = _column_sizes(cols, folded)
    phases = np.empty((2, h_size, (w_size + 1) // 2), dtype=x.dtype)
    for nc in range(start, stop):
        n = nc // c_size
        c = nc % c_size
        for h in range(h_size):
            _split_row(x[n, c, h], phases[0, h], phases[1, h], w_size)
        for kh in range(kh_size):
            for kw in range(kw_size):
                lo, hi, phase, shift = _stride2_span(kw * dw - pw, w_size, out_w)
                for oh in range(out_h):
                    row = cols[c, kh, kw, n, oh] if folded else cols[n, c, kh, kw, oh]
                    h = oh * sh - ph + kh * dh
                    if h < 0 or h >= h_size:
                        for ow in range(out_w):
                            row[ow] = 0
                        continue
                    src = phases[phase, h]
                    for ow in range(lo):
                        row[ow] = 0
                    for ow in range(lo, hi):
                        row[np.uint64(ow)] = src[np.uint64(ow + shift)]
                    for ow in range(hi, out_w):
                        row[ow] = 0


def col2im(cols, h_size, w_size, sh, sw, ph, pw, dh, dw):
    """The (N, C, H, W) sum of the columns (N, C, KH, KW, OH, OW), in any layout, back onto the positions
    they were read from."""
    x = np.zeros(cols.shape[:2] + (h_size, w_size), dtype=cols.dtype)
    flat, folded = _layout(cols)
    if flat is None:
        flat = np.ascontiguousarray(cols)
    kernel = _col2im_stride2 if sw == 2 and cols.shape[-1] >= 8 else _col2im
    kernel(cols.shape[0] * cols.shape[1], flat, folded, x, sh, sw, ph, pw, dh, dw)
    return x


@split(_COPY_WORK)
def _col2im(cols, folded, x, sh, sw, ph, pw, dh, dw, start, stop):
    c_size, h_size, w_size = x.shape[1:]
    kh_size, kw_size, out_h, out_w = _column_sizes(cols, folded)
    for nc in range(start, stop):
        n = nc // c_size
        c = nc % c_size
        for kh in range(kh_size):
            for kw in range(kw_size):
                for oh in range(out_h):
                    h = oh * sh - ph + kh * dh
                    if h < 0 or h >= h_size:
                        continue
                    row = cols[c, kh, kw, n, oh] if folded else cols[n, c, kh, kw, oh]
                    # Unsigned indices (in range: the span, the test): numba's test for negative indices on
                    # every access kept these loops from vectorising.
                    x_row = x[n, c, h]
                    if sw == 1:
                        base = kw * dw - pw
                        lo, hi = _unit_stride_span(base, w_size, out_w)
                        for ow in range(lo, hi):
                            x_row[np.uint64(ow + base)] += row[np.uint64(ow)]
                        continue
                    for ow in range(out_w):
                        w = ow * sw - pw + kw * dw
                        if w >= 0 and w < w_size:
                            x_row[np.uint64(w)] += row[ow]


@split(_COPY_WORK)
def _col2im_stride2(cols, folded, x, sh, sw, ph, pw, dh, dw, start, stop):
    """``_col2im`` at column stride 2: rows of columns added, unit-stride, into each plane's even and odd columns
    (as ``_im2col_stride2`` reads them), which are merged into the plane at the end."""
    c_size, h_size, w_size = x.shape[1:]
    kh_size, kw_size, out_h, out_w = _column_sizes(cols, folded)
    phases = np.empty((2, h_size, (w_size + 1) // 2), dtype=x.dtype)
    for nc in range(start, stop):
        n = nc // c_size
        c = nc % c_size
        phases[:] = 0
        for kh in range(kh_size):
            for kw in range(kw_size):
                lo, hi, phase, shift = _stride2_span(kw * dw - pw, w_size, out_w)
                for oh in range(out_h):
                    h = oh * sh - ph + kh * dh
                    if h < 0 or h >= h_size:
                        continue
                    row = cols[c, kh, kw, n, oh] if folded else cols[n, c, kh, kw, oh]
                    dst = phases[phase, h]
                    for ow in range(lo, hi):
                        dst[np.uint64(ow + shift)] += row[np.uint64(ow)]
        for h in range(h_size):
            _merge_row(phases[0, h], phases[1, h], x[n, c, h], w_size)


def im2col3d(x, kd_size, kh_size, kw_size, sd, sh, sw, pd, ph, pw, dd, dh, dw, out_d, out_h, out_w, out=None):
    """The (N, C, KD, KH, KW, OD, OH, OW) columns of the (N, C, D, H, W) ``x`` (into ``out`` when given)."""
    if out is None:
        out = np.empty(x.shape[:2] + (kd_size, kh_size, kw_size, out_d, out_h, out_w), dtype=x.dtype)
    _im2col3d(x, out, sd, sh, sw, pd, ph, pw, dd, dh, dw)
    return out


@adaptive()
def _im2col3d(x, cols, sd, sh, sw, pd, ph, pw, dd, dh, dw):
    n_size, c_size, d_size, h_size, w_size = x.shape
    _, _, kd_size, kh_size, kw_size, out_d, out_h, out_w = cols.shape
    for nc in prange(n_size * c_size):
        n = nc // c_size
        c = nc % c_size
        for kd in range(kd_size):
            for kh in range(kh_size):
                for kw in range(kw_size):
                    for od in range(out_d):
                        d = od * sd - pd + kd * dd
                        for oh in range(out_h):
                            h = oh * sh - ph + kh * dh
                            if d < 0 or d >= d_size or h < 0 or h >= h_size:
                                for ow in range(out_w):
                                    cols[n, c, kd, kh, kw, od, oh, ow] = 0
                                continue
                            for ow in range(out_w):
                                w = ow * sw - pw + kw * dw
                                if w >= 0 and w < w_size:
                                    cols[n, c, kd, kh, kw, od, oh, ow] = x[n, c, d, h, w]
                                else:
                                    cols[n, c, kd, kh, kw, od, oh, ow] = 0


@adaptive()
def col2im3d(cols, d_size, h_size, w_size, sd, sh, sw, pd, ph, pw, dd, dh, dw):
    """The (N, C, D, H, W) sum of the columns back onto the positions they were read from."""
    n_size, c_size, kd_size, kh_size, kw_size, out_d, out_h, out_w = cols.shape
    x = np.zeros((n_size, c_size, d_size, h_size, w_size), dtype=cols.dtype)
    for nc in prange(n_size * c_size):
        n = nc // c_size
        c = nc % c_size
        for kd in range(kd_size):
            for kh in range(kh_size):
                for kw in range(kw_size):
                    for od in range(out_d):
                        d = od * sd - pd + kd * dd
                        if d < 0 or d >= d_size:
                            continue
                        for oh in range(out_h):
                            h = oh * sh - ph + kh * dh
                            if h < 0 or h >= h_size:
                                continue
                            for ow in range(out_w):
                                w = ow * sw - pw + kw * dw
                                if w >= 0 and w < w_size:
                                    x[n, c, d, h, w] += cols[n, c, kd, kh, kw, od, oh, ow]
    return x

# Direct convolution for grouped convolutions with few input channels per group (depthwise): there
# im2col + matmul would be thousands of tiny GEMMs. Each parallel iteration owns one output plane
# (forward), one input plane (input gradient) or one filter (weight gradient), so there are no races.
# The inner loops run over the output positions whose input position is inside the image, computed
# up front, so they have no branch and vectorise.
@njit(cache=True)
def _valid_outputs(k, stride, pad, dilation, size, out_size):
    """Range [lo, hi) of outputs o with 0 <= o * stride - pad + k * dilation < size."""
    offset = k * dilation - pad
    lo = 0 if offset >= 0 else (-offset + stride - 1) // stride
    hi = (size - 1 - offset) // stride + 1 if size - 1 - offset >= 0 else 0
    return lo, max(lo, min(hi, out_size))


@adaptive(fastmath=True)
def grouped_conv(x, w, groups, sh, sw, ph, pw, dh, dw, out_h, out_w):
    n_size, _, h_size, w_size = x.shape
    o_size, cg, kh_size, kw_size = w.shape
    og = o_size // groups
    out = np.zeros((n_size, o_size, out_h, out_w), dtype=x.dtype)
    for no in prange(n_size * o_size):
        n = no // o_size
        o = no % o_size
        c0 = (o // og) * cg
        for ci in range(cg):
            for kh in range(kh_size):
                oh0, oh1 = _valid_outputs(kh, sh, ph, dh, h_size, out_h)
                for kw in range(kw_size):
                    ow0, ow1 = _valid_outputs(kw, sw, pw, dw, w_size, out_w)
                    weight = w[o, ci, kh, kw]
                    base = kw * dw - pw
                    for oh in range(oh0, oh1):
                        out_row = out[n, o, oh]
                        x_row = x[n, c0 + ci, oh * sh - ph + kh * dh]
                        if sw == 1:
                            for ow in range(ow0, ow1):
                                out_row[ow] += weight * x_row[ow + base]
                        else:
                            for ow in range(ow0, ow1):
                                out_row[ow] += weight * x_row[ow * sw + base]
    return out


@adaptive(fastmath=True)
def grouped_conv_input_grad(g, w, groups, h_size, w_size, sh, sw, ph, pw, dh, dw):
    n_size, o_size, out_h, out_w = g.shape
    _, cg, kh_size, kw_size = w.shape
    c_size = cg * groups
    og = o_size // groups
    gx = np.zeros((n_size, c_size, h_size, w_size), dtype=g.dtype)
    for nc in prange(n_size * c_size):
        n = nc // c_size
        c = nc % c_size
        group = c // cg
        ci = c % cg
        for o in range(group * og, (group + 1) * og):
            for kh in range(kh_size):
                oh0, oh1 = _valid_outputs(kh, sh, ph, dh, h_size, out_h)
                for kw in range(kw_size):
                    ow0, ow1 = _valid_outputs(kw, sw, pw, dw, w_size, out_w)
                    weight = w[o, ci, kh, kw]
                    base = kw * dw - pw
                    for oh in range(oh0, oh1):
                        gx_row = gx[n, c, oh * sh - ph + kh * dh]
                        g_row = g[n, o, oh]
                        if sw == 1:
                            for ow in range(ow0, ow1):
                                gx_row[ow + base] += weight * g_row[ow]
                        else:
                            for ow in range(ow0, ow1):
                                gx_row[ow * sw + base] += weight * g_row[ow]
    return gx


@adaptive(fastmath=True)
def grouped_conv_weight_grad(g, x, groups, kh_size, kw_size, sh, sw, ph, pw, dh, dw):
    n_size, o_size, out_h, out_w = g.shape
    _, c_size, h_size, w_size = x.shape
    cg = c_size // groups
    og = o_size // groups
    gw = np.zeros((o_size, cg, kh_size, kw_size), dtype=g.dtype)
    for o in prange(o_size):
        c0 = (o // og) * cg
        for ci in range(cg):
            for kh in range(kh_size):
                oh0, oh1 = _valid_outputs(kh, sh, ph, dh, h_size, out_h)
                for kw in range(kw_size):
                    ow0, ow1 = _valid_outputs(kw, sw, pw, dw, w_size, out_w)
                    base = kw * dw - pw
                    total = 0.0
                    for n in range(n_size):
                        for oh in range(oh0, oh1):
                            g_row = g[n, o, oh]
                            x_row = x[n, c0 + ci, oh * sh - ph + kh * dh]
                            if sw == 1:
                                for ow in range(ow0, ow1):
                                    total += g_row[ow] * x_row[ow + base]
                            else:
                                for ow in range(ow0, ow1):
                                    total += g_row[ow] * x_row[ow * sw + base]
                    gw[o, ci, kh, kw] = total
    return gw
