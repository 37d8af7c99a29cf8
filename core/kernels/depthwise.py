"""Depthwise convolution (one input channel per group, one output channel per input channel) on
channels-last arrays: ``x`` (N, H, W, C), the weight as ``w`` (KH, KW, C).

The channel is the innermost, contiguous loop, so each multiply-add runs over all C channels of one
position in SIMD. ``grouped_conv``'s planar loops run over one output row instead, 2-16 positions on the
small planes of ConvNeXt's or MobileNet's later stages (a ConvNeXt-atto step was 1.5x torch's, most of it
in the 7x7 depthwise layers; benchmarks/README.md, 2026-12-07, seventh session). Any stride, padding and
dilation: positions that fall into the padding are skipped, nothing is padded. Each piece of a split call
owns whole output rows (forward), input rows (input gradient) or taps (weight gradient): no races.
"""

from __future__ import annotations

from ._threads import split

_WORK = 1 << 15  # elements of the largest operand from which a call runs on every thread (~0.1 ms)


@split(_WORK, fastmath=True)
def forward_rows(x, w, out, sh, sw, ph, pw, dh, dw, start, stop):
    """``out`` (N, OH, OW, C), zeros, += the convolution, for the rows ``n * OH + oh`` in [start, stop)."""
    _, h_size, w_size, c_size = x.shape
    kh_size, kw_size, _ = w.shape
    out_h, out_w = out.shape[1], out.shape[2]
    for row in range(start, stop):
        n, oh = row // out_h, row % out_h
        for kh in range(kh_size):
            i = oh * sh - ph + kh * dh
            if i < 0 or i >= h_size:
                continue
            x_row = x[n, i]
            for ow in range(out_w):
                acc = out[n, oh, ow]
                for kw in range(kw_size):
                    j = ow * sw - pw + kw * dw
                    if j < 0 or j >= w_size:
                        continue
                    xs, ws = x_row[j], w[kh, kw]
                    for c in range(c_size):
                        acc[c] += ws[c] * xs[c]


@split(_WORK, fastmath=True)
def input_grad_rows(g, w, gx, sh, sw, ph, pw, dh, dw, start, stop):
    """``gx`` (N, H, W, C), zeros, += the input gradient of ``g`` (N, OH, OW, C), for the rows ``n * H + i``
    in [start, stop): each input position gathers the outputs it fed."""
    _, out_h, out_w, c_size = g.shape
    kh_size, kw_size, _ = w.shape
    h_size, w_size = gx.shape[1], gx.shape[2]
    for row in range(start, stop):
        n, i = row // h_size, row % h_size
        for kh in range(kh_size):
            t = i + ph - kh * dh
            if t < 0 or t % sh != 0 or t // sh >= out_h:
                continue
            g_row = g[n, t // sh]
            for j in range(w_size):
                acc = gx[n, i, j]
                for kw in range(kw_size):
                    u = j + pw - kw * dw
                    if u < 0 or u % sw != 0 or u // sw >= out_w:
                        continue
                    gs, ws = g_row[u // sw], w[kh, kw]
                    for c in range(c_size):
                        acc[c] += ws[c] * gs[c]


@split(_WORK, fastmath=True)
def weight_grad_taps(g, x, gw, sh, sw, ph, pw, dh, dw, start, stop):
    """``gw`` (KH, KW, C), zeros, += the weight gradient, for the taps ``kh * KW + kw`` in [start, stop)."""
    n_size, out_h, out_w, c_size = g.shape
    _, h_size, w_size, _ = x.shape
    kw_size = gw.shape[1]
    for tap in range(start, stop):
        kh, kw = tap // kw_size, tap % kw_size
        acc = gw[kh, kw]
        for n in range(n_size):
            for oh in range(out_h):
                i = oh * sh - ph + kh * dh
                if i < 0 or i >= h_size:
                    continue
                for ow in range(out_w):
                    j = ow * sw - pw + kw * dw
                    if j < 0 or j >= w_size:
                        continue
                    gs, xs = g[n, oh, ow], x[n, i, j]
                    for c in range(c_size):
                        acc[c] += gs[c] * xs[c]
