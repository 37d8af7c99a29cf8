"""Winograd F(2x2, 3x3): a 3x3 convolution (stride 1, dilation 1, one group) with 16 GEMMs of 2.25 times
fewer multiply-adds than im2col's.

The output is cut into 2x2 tiles; each reads a 4x4 patch of the (zero-padded) input. With Lavin & Gray's
matrices (arXiv:1509.09308) the tile is ``Y = Aᵀ [U ⊙ V] A`` where ``V = Bᵀ d B`` is the patch's transform
and ``U = G w Gᵀ`` the filter's: 16 products per tile and channel pair instead of 36. Summed over input
channels, each of the 16 positions (ξ, ν) of the 4x4 transform is one GEMM,
``M[ξν] (O, tiles) = U[ξν] (O, C) @ V[ξν] (C, tiles)``, with all tiles of the batch side by side.

The backward is the chain rule through the same linear maps, so its GEMMs are as small:

- input gradient: the forward convolution of the output gradient with the flipped, in/out-swapped kernel,
  whose transform is ``U`` with rows and columns 0 and 3 of (ξ, ν) swapped and each (O, C) block
  transposed (``G`` applied to reversed taps is ``G`` with its first and last rows swapped): no transform
  of its own;
- weight gradient: ``dU[ξν] (O, C) = dM[ξν] (O, tiles) @ V[ξν]ᵀ`` with ``dM = A dY Aᵀ`` (each 2x2 tile of the
  output gradient spread onto 4x4) and ``V`` kept from the forward, then ``dw = Gᵀ dU G``.

Rounding: each output is a sum of the same products re-associated through the transforms (the matrices hold
only 0, ±1 and ±0.5), within a few float32 ulps of the direct sum (tests compare with torch).

Layout: ``V``, ``M`` and ``dM`` are (16, channels, N * tiles), a tile's column ``n * th * tw + i * tw + j``
for tile (i, j) of the (th, tw) grid covering the output. The transforms loop over (sample, channel)
planes: ``Split`` kernels that run on every thread from ``_WORK`` elements.
"""

from __future__ import annotations

import numpy as np

from ._threads import split

_WORK = 1 << 17  # elements from which a transform runs on every thread (see _threads.Split)


def planes(count, rows, cols, dtype):
    """An uninitialised (count, rows, cols) array whose planes start 64 elements apart beyond their size.

    The transforms write 16 planes at once, one value each per tile; planes a power of two apart in memory
    (256 KB for 128 channels x 512 tiles) all map to the same cache sets and evict each other (the input
    transform of a ResNet-18 layer ran 3-4x slower)."""
    stride = rows * cols + 64
    flat = np.empty(count * stride, dtype=dtype)
    item = flat.itemsize
    return np.lib.stride_tricks.as_strided(flat, (count, rows, cols), (stride * item, cols * item, item))


def tiles(out_h, out_w):
    """The (th, tw) grid of 2x2 tiles covering an (out_h, out_w) output."""
    return (out_h + 1) // 2, (out_w + 1) // 2


def input_transform(x, ph, pw, out_h, out_w):
    """``V = Bᵀ d B`` of every 4x4 patch of (N, C, H, W) ``x`` zero-padded by (ph, pw): (16, C, N * tiles)."""
    n_size, c_size = x.shape[:2]
    th, tw = tiles(out_h, out_w)
    v = planes(16, c_size, n_size * th * tw, x.dtype)
    _input_transform(n_size * c_size, x, v, ph, pw, th, tw)
    return v


@split(_WORK, error_model="numpy")
def _input_transform(x, v, ph, pw, th, tw, start, stop):
    c_size, h_size, w_size = x.shape[1:]
    width = 2 * tw + 2
    padded = np.zeros((2 * th + 2, width), dtype=x.dtype)  # one plane, zero around the copy
    rows = np.empty((4, width), dtype=x.dtype)
    for nc in range(start, stop):
        n = nc // c_size
        c = nc % c_size
        for h in range(2 * th + 2):
            src = h - ph
            for q in range(width):
                col = q - pw
                padded[h, q] = x[n, c, src, col] if 0 <= src < h_size and 0 <= col < w_size else 0
        for i in range(th):
            r = 2 * i
            for q in range(width):  # Bᵀ d on a row of tiles: (d0 - d2, d1 + d2, d2 - d1, d1 - d3)
                d1 = padded[r + 1, q]
                d2 = padded[r + 2, q]
                rows[0, q] = padded[r, q] - d2
                rows[1, q] = d1 + d2
                rows[2, q] = d2 - d1
                rows[3, q] = d1 - padded[r + 3, q]
            base = (n * th + i) * tw
            for k in range(4):  # (Bᵀ d) B: the same on each tile's columns 2j .. 2j + 3
                t = rows[k]
                out0, out1, out2, out3 = v[4 * k, c], v[4 * k + 1, c], v[4 * k + 2, c], v[4 * k + 3, c]
                for j in range(tw):
                    t1 = t[2 * j + 1]
                    t2 = t[2 * j + 2]
                    out0[base + j] = t[2 * j] - t2
                    out1[base + j] = t1 + t2
                    out2[base + j] = t2 - t1
                    out3[base + j] = t1 - t[2 * j + 3]


def output_transform(m, n_size, out_h, out_w):
    """``Y = Aᵀ M A`` of every tile of the (16, O, N * tiles) ``m``: the (N, O, out_h, out_w) output."""
    o_size = m.shape[1]
    th, tw = tiles(out_h, out_w)
    y = np.empty((n_size, o_size, out_h, out_w), dtype=m.dtype)
    _output_transform(n_size * o_size, m, y, th, tw)
    return y


@split(_WORK, error_model="numpy")
def _output_transform(m, y, th, tw, start, stop):
    o_size, out_h, out_w = y.shape[1:]
    s = np.empty((2, 4, tw), dtype=m.dtype)
    for no in range(start, stop):
        n = no // o_size
        o = no % o_size
        for i in range(th):
            base = (n * th + i) * tw
            for q in range(4):  # Aᵀ M on a row of tiles: (m0 + m1 + m2, m1 - m2 - m3)
                m0, m1, m2, m3 = m[q, o], m[4 + q, o], m[8 + q, o], m[12 + q, o]
                s0, s1 = s[0, q], s[1, q]
                for j in range(tw):
                    a = m1[base + j]
                    b = m2[base + j]
                    s0[j] = m0[base + j] + a + b
                    s1[j] = a - b - m3[base + j]
            for r in range(2):  # (Aᵀ M) A
                h = 2 * i + r
                if h < out_h:
                    row = y[n, o, h]
                    t0, t1, t2, t3 = s[r, 0], s[r, 1], s[r, 2], s[r, 3]
                    for j in range(out_w // 2):
                        row[2 * j] = t0[j] + t1[j] + t2[j]
                        row[2 * j + 1] = t1[j] - t2[j] - t3[j]
                    if out_w % 2:
                        row[out_w - 1] = t0[tw - 1] + t1[tw - 1] + t2[tw - 1]


def gradient_transform(g, th, tw):
    """``dM = A dY Aᵀ`` of every 2x2 tile of the (N, O, OH, OW) output gradient ``g``: (16, O, N * tiles)."""
    n_size, o_size = g.shape[:2]
    dm = planes(16, o_size, n_size * th * tw, g.dtype)
    _gradient_transform(n_size * o_size, g, dm, th, tw)
    return dm


@split(_WORK, error_model="numpy")
def _gradient_transform(g, dm, th, tw, start, stop):
    o_size, out_h, out_w = g.shape[1:]
    e = np.zeros((2 * th, 2 * tw), dtype=g.dtype)  # one plane, zero beyond an odd size
    rows = np.empty((4, 2 * tw), dtype=g.dtype)
    for no in range(start, stop):
        n = no // o_size
        o = no % o_size
        for h in range(out_h):
            for w in range(out_w):
                e[h, w] = g[n, o, h, w]
        for i in range(th):
            for q in range(2 * tw):  # A e on a row of tiles: (e0, e0 + e1, e0 - e1, -e1)
                e0 = e[2 * i, q]
                e1 = e[2 * i + 1, q]
                rows[0, q] = e0
                rows[1, q] = e0 + e1
                rows[2, q] = e0 - e1
                rows[3, q] = -e1
            base = (n * th + i) * tw
            for k in range(4):  # (A e) Aᵀ: the same on each tile's two columns
                t = rows[k]
                out0, out1, out2, out3 = dm[4 * k, o], dm[4 * k + 1, o], dm[4 * k + 2, o], dm[4 * k + 3, o]
                for j in range(tw):
                    t0 = t[2 * j]
                    t1 = t[2 * j + 1]
                    out0[base + j] = t0
                    out1[base + j] = t0 + t1
                    out2[base + j] = t0 - t1
                    out3[base + j] = -t1


def filter_transform(w):
    """``U = G w Gᵀ`` of the (O, C, 3, 3) ``w``: (16, O, C)."""
    u = planes(16, w.shape[0], w.shape[1], w.dtype)
    _filter_transform(w.shape[0], w, u)
    return u


@split(_WORK, error_model="numpy")
def _filter_transform(w, u, start, stop):
    c_size = w.shape[1]
    half = w.dtype.type(0.5)
    for o in range(start, stop):
        for c in range(c_size):
            k = w[o, c]
            for r in range(4):  # G w: rows (w0, (w0 + w1 + w2) / 2, (w0 - w1 + w2) / 2, w2)
                if r == 0:
                    t0, t1, t2 = k[0, 0], k[0, 1], k[0, 2]
                elif r == 1:
                    t0 = (k[0, 0] + k[1, 0] + k[2, 0]) * half
                    t1 = (k[0, 1] + k[1, 1] + k[2, 1]) * half
                    t2 = (k[0, 2] + k[1, 2] + k[2, 2]) * half
                elif r == 2:
                    t0 = (k[0, 0] - k[1, 0] + k[2, 0]) * half
                    t1 = (k[0, 1] - k[1, 1] + k[2, 1]) * half
                    t2 = (k[0, 2] - k[1, 2] + k[2, 2]) * half
                else:
                    t0, t1, t2 = k[2, 0], k[2, 1], k[2, 2]
                u[4 * r, o, c] = t0  # (G w) Gᵀ: the same on the columns
                u[4 * r + 1, o, c] = (t0 + t1 + t2) * half
                u[4 * r + 2, o, c] = (t0 - t1 + t2) * half
                u[4 * r + 3, o, c] = t2


def filter_gradient(dm, v):
    """``dw = Gᵀ dU G`` with ``dU[ξν] = dM[ξν] @ V[ξν]ᵀ``: the (O, C, 3, 3) weight gradient from the
    transforms of the output gradient and of the input."""
    du = planes(16, dm.shape[1], v.shape[1], np.result_type(dm, v))
    np.matmul(dm, v.transpose(0, 2, 1), out=du)
    dw = np.empty((dm.shape[1], v.shape[1], 3, 3), dtype=du.dtype)
    _filter_gradient(dw.shape[0], du, dw)
    return dw


@split(_WORK, error_model="numpy")
def _filter_gradient(du, dw, start, stop):
    c_size = du.shape[2]
    half = du.dtype.type(0.5)
    t = np.empty((4, 3), dtype=du.dtype)
    for o in range(start, stop):
        for c in range(c_size):
            for r in range(4):  # dU G: columns (u0 + (u1 + u2) / 2, (u1 - u2) / 2, (u1 + u2) / 2 + u3)
                u0 = du[4 * r, o, c]
                u1 = du[4 * r + 1, o, c]
                u2 = du[4 * r + 2, o, c]
                u3 = du[4 * r + 3, o, c]
                t[r, 0] = u0 + (u1 + u2) * half
                t[r, 1] = (u1 - u2) * half
                t[r, 2] = (u1 + u2) * half + u3
            k = dw[o, c]
            for b in range(3):  # Gᵀ (dU G): the same on the rows
                k[0, b] = t[0, b] + (t[1, b] + t[2, b]) * half
                k[1, b] = (t[1, b] - t[2, b]) * half
                k[2, b] = (t[1, b] + t[2, b]) * half + t[3, b]


# (ξ, ν) of the flipped kernel's transform in ``U``: rows and columns 0 and 3 swapped
FLIPPED = tuple(4 * (3 - r if r in (0, 3) else r) + (3 - q if q in (0, 3) else q) for r in range(4) for q in range(4))
