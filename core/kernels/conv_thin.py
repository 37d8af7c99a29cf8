"""The tap sum of a convolution with few output channels (``nn.functional.conv``'s "thin" path).

A layer with few output channels (fast_neural_style's last 9x9 conv, 32 -> 3) is, through im2col, a
GEMM of O = 3 rows over columns K times the input's size, so it streams those columns (95 MB a sample)
at memory speed. Instead one full-speed GEMM ``z = W' x``, W' the (O * K, C) weight with its taps as
rows, gives every tap's O planes over the whole input, and the output is their sum, each tap's planes
read at its offset: ``out[n, o, oh, ow] = sum_t z[n, o, t, oh * sh - ph + th * dh, ow * sw - pw + tw * dw]``
(positions outside the input read nothing: the zero padding). ``tap_sum`` is that sum; its adjoint
``tap_spread`` writes the output gradient back to the positions each tap read, so the input gradient
is ``W'^T`` times it (one GEMM).
"""

from __future__ import annotations

import numpy as np

from ._threads import split
from .conv import _valid_outputs

_WORK = 1 << 17  # elements from which the kernels run on every thread (see _threads.Split)


def tap_sum(z, out, sh, sw, ph, pw, dh, dw):
    """Writes into ``out`` (N, O, OH, OW) the sum over taps of ``z`` (N, O, KH, KW, H, W), each tap read at
    its offset."""
    out[...] = 0
    _tap_sum(out.shape[0] * out.shape[1], z, out, sh, sw, ph, pw, dh, dw)
    return out


@split(_WORK)
def _tap_sum(z, out, sh, sw, ph, pw, dh, dw, start, stop):
    o_size, out_h, out_w = out.shape[1:]
    kh_size, kw_size, h_size, w_size = z.shape[2:]
    for no in range(start, stop):
        n = no // o_size
        o = no % o_size
        for kh in range(kh_size):
            oh0, oh1 = _valid_outputs(kh, sh, ph, dh, h_size, out_h)
            for kw in range(kw_size):
                ow0, ow1 = _valid_outputs(kw, sw, pw, dw, w_size, out_w)
                base = kw * dw - pw
                for oh in range(oh0, oh1):
                    # unsigned indices (in range by the spans): numba's negative-index test kept the loop
                    # from vectorising (as in kernels.conv's col2im)
                    z_row = z[n, o, kh, kw, oh * sh - ph + kh * dh]
                    out_row = out[n, o, oh]
                    if sw == 1:
                        for ow in range(ow0, ow1):
                            out_row[np.uint64(ow)] += z_row[np.uint64(ow + base)]
                    else:
                        for ow in range(ow0, ow1):
                            out_row[np.uint64(ow)] += z_row[np.uint64(ow * sw + base)]


def tap_spread(g, z, sh, sw, ph, pw, dh, dw):
    """The adjoint of ``tap_sum``: writes into ``z`` (N, O, KH, KW, H, W) the tap planes that hold ``g``
    (N, O, OH, OW) at the positions that tap read, zero elsewhere."""
    _tap_spread(g.shape[0] * g.shape[1], g, z, sh, sw, ph, pw, dh, dw)
    return z


@split(_WORK)
def _tap_spread(g, z, sh, sw, ph, pw, dh, dw, start, stop):
    o_size, out_h, out_w = g.shape[1:]
    kh_size, kw_size, h_size, w_size = z.shape[2:]
    for no in range(start, stop):
        n = no // o_size
        o = no % o_size
        for kh in range(kh_size):
            oh0, oh1 = _valid_outputs(kh, sh, ph, dh, h_size, out_h)
            for kw in range(kw_size):
                ow0, ow1 = _valid_outputs(kw, sw, pw, dw, w_size, out_w)
                base = kw * dw - pw
                plane = z[n, o, kh, kw]
                plane[:] = 0
                for oh in range(oh0, oh1):
                    z_row = plane[oh * sh - ph + kh * dh]
                    g_row = g[n, o, oh]
                    if sw == 1:
                        for ow in range(ow0, ow1):
                            z_row[np.uint64(ow + base)] = g_row[np.uint64(ow)]
                    else:
                        for ow in range(ow0, ow1):
                            z_row[np.uint64(ow * sw + base)] = g_row[np.uint64(ow)]
