"""Direct 3x3 convolution (dilation 1, one group, any stride): forward, input and weight gradients.

The 3x3 layers of ResNets and VGGs have few channels per output position (16-64), where im2col + BLAS
runs thin matrices slowly and writes nine copies of the input. These kernels
read each input plane in place instead: a sample's planes are copied once, zero-padded, into a scratch
whose rows are ``width + 2 * pw`` long, so that the nine taps of every output position are reads at
fixed offsets of one flat row. Output positions are computed over the padded width (the last
``2 * pw`` of each row are thrown away), which makes the inner loop one long unit-stride loop that LLVM
vectorises. The forward keeps four output channels in flight so every input value loaded feeds 36
multiply-adds (about twice im2col + GEMM's throughput for 16 channels at 32x32; timings:
benchmarks/README.md). Small planes (8x8) run several samples per pass, so the inner loop stays long;
at stride 1 they lie side by side as tiles sharing their zero padding (``_layout``).

A stride-s convolution splits the padded plane into s * s phase planes (rows and columns taken every
s-th, starting at each offset), where each tap again reads one phase at a fixed offset from the output
position (nine views instead of three rows; ResNet's stride-2 layers). At stride 2 the forward reads them
in two loops of four or five taps, each over two phase planes, rather than one loop over nine views.

The input gradient of a stride-1 convolution is the forward of the output gradient with the flipped,
in/out-swapped kernel and padding ``2 - padding``, so ``conv3x3`` serves both directions; for larger
strides ``conv3x3_input_grad`` computes each phase of the input gradient as a 2x2 correlation of the
output gradient. Passes of samples run in parallel on numba's pool (these kernels are large enough to
keep it busy, unlike most of Ember's, see ``_threads``); a model with no threaded BLAS call between them
(ResNet) thus never has OpenBLAS's idle workers competing for the cores.

Only ``contract`` and ``reassoc`` fast-math flags are set: NaN and infinity still propagate.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

_FLAGS = {"contract", "reassoc"}


@njit(inline="always")
def _taps(w, k, c):
    return (w[k, c, 0, 0], w[k, c, 0, 1], w[k, c, 0, 2], w[k, c, 1, 0], w[k, c, 1, 1], w[k, c, 1, 2],
            w[k, c, 2, 0], w[k, c, 2, 1], w[k, c, 2, 2])


@njit(inline="always")
def _dot9(t, x0, x1, x2, x3, x4, x5, x6, x7, x8):
    return (t[0] * x0 + t[1] * x1 + t[2] * x2 + t[3] * x3 + t[4] * x4 + t[5] * x5
            + t[6] * x6 + t[7] * x7 + t[8] * x8)


@njit(inline="always")
def _origin(s, plane, tiles_w, tile_w):
    """Where sample ``s`` of a pass starts in the flat positions: tile (s // tiles_w, s % tiles_w)."""
    return (s // tiles_w) * plane + (s % tiles_w) * tile_w


@njit(inline="always")
def _pad_samples(x, n0, count, ph, pw, stride, row, plane, padded, tiles_w=1, tile_w=0):
    """Copies samples n0 .. n0 + count - 1 of ``x`` into the zeroed scratch ``padded`` (C, stride**2,
    positions): padded row y, column x of sample s lands in phase (y % stride, x % stride) at
    s * plane + (y // stride) * row + x // stride."""
    _, c_size, h_size, w_size = x.shape
    if stride == 1:  # contiguous rows, one phase
        for s in range(count):
            for c in range(c_size):
                for h in range(h_size):
                    _copy_row(x[n0 + s, c, h], padded[c, 0, _origin(s, plane, tiles_w, tile_w) + (h + ph) * row + pw:],
                              w_size)
        return
    if stride == 2:
        for s in range(count):
            for c in range(c_size):
                for h in range(h_size):
                    q0, o0, f0, _ = _phase_slot(h + ph, 0, pw, 2, w_size, row)
                    q1, o1, _, _ = _phase_slot(h + ph, 1, pw, 2, w_size, row)
                    phase0, phase1 = padded[c, q0, s * plane + o0:], padded[c, q1, s * plane + o1:]
                    if f0 == 0:  # phase 0 holds the even columns
                        _split_row(x[n0 + s, c, h], phase0, phase1, w_size)
                    else:
                        _split_row(x[n0 + s, c, h], phase1, phase0, w_size)
        return
    for s in range(count):
        for c in range(c_size):
            for h in range(h_size):
                for b in range(stride):
                    phase, offset, first, size = _phase_slot(h + ph, b, pw, stride, w_size, row)
                    _copy_row(x[n0 + s, c, h, first::stride], padded[c, phase, s * plane + offset:], size)


@njit(inline="always")
def _phase_slot(y, b, pw, stride, w_size, row):
    """Where the columns of padded row ``y`` that fall in column phase ``b`` live: (phase, offset of the
    first in a sample's phase plane, its unpadded column ``first``, how many, every stride-th)."""
    first = (b - pw) % stride  # the first unpadded column whose padded column is in phase b
    offset = (y // stride) * row + (first + pw) // stride
    return (y % stride) * stride + b, offset, first, (w_size - first + stride - 1) // stride


@njit(inline="always")
def _copy_row(src, dst, size):
    """dst[:size] = src[:size] as a plain loop over 1-d views: indexing the 4-d arrays element by
    element instead kept LLVM from vectorising and cost a third of a 16-channel convolution."""
    for j in range(size):
        dst[j] = src[j]


@njit(inline="always")
def _split_row(src, even, odd, size):
    """even[:] = src[0:size:2] and odd[:] = src[1:size:2], from one contiguous row: a loop that loads
    each pair of columns together, which LLVM vectorises as wide loads and shuffles, where the generic
    loop over a strided view (the stride a run-time value) ran element by element and took a third of a
    stride-2 forward."""
    for j in range(size // 2):
        even[j] = src[2 * j]
        odd[j] = src[2 * j + 1]
    if size % 2:
        even[size // 2] = src[size - 1]


@njit(inline="always")
def _merge_row(even, odd, dst, size):
    """dst[0:size:2] = even and dst[1:size:2] = odd: ``_split_row`` backwards."""
    for j in range(size // 2):
        dst[2 * j] = even[j]
        dst[2 * j + 1] = odd[j]
    if size % 2:
        dst[size - 1] = even[size // 2]


@njit(inline="always")
def _pad_gradient(g, n0, count, row, plane, out_h, out_w, gpad, tiles_w=1, tile_w=0):
    """Copies the output gradient of samples n0 .. n0 + count - 1 into ``gpad`` (K, positions), each
    value at its output position over the padded planes (the weight gradients' layout)."""
    for s in range(count):
        origin = _origin(s, plane, tiles_w, tile_w)
        for k in range(g.shape[1]):
            for h in range(out_h):
                _copy_row(g[n0 + s, k, h], gpad[k, origin + h * row:], out_w)


@njit(inline="always")
def _tap_views(padded, c, stride, row):
    """The nine (phase, offset) views of channel ``c``: tap (kh, kw) of output position p is view[p]."""
    p = padded[c]
    return (p[0, 0:], p[(1 % stride), (1 // stride):], p[(2 % stride), (2 // stride):],
            p[(1 % stride) * stride, (1 // stride) * row:],
            p[(1 % stride) * stride + 1 % stride, (1 // stride) * row + 1 // stride:],
            p[(1 % stride) * stride + 2 % stride, (1 // stride) * row + 2 // stride:],
            p[(2 % stride) * stride, (2 // stride) * row:],
            p[(2 % stride) * stride + 1 % stride, (2 // stride) * row + 1 // stride:],
            p[(2 % stride) * stride + 2 % stride, (2 // stride) * row + 2 // stride:])


def _geometry(x, ph, pw, stride, size=3):
    """(row, plane, out_h, out_w, samples per pass) of a ``size`` x ``size`` convolution of ``x`` (also
    ``conv5x5``'s)."""
    n_size, _, h_size, w_size = x.shape
    hp, wp = h_size + 2 * ph, w_size + 2 * pw
    row = -(-wp // stride)
    plane = -(-hp // stride) * row
    return row, plane, (hp - size) // stride + 1, (wp - size) // stride + 1, _samples_per_pass(n_size, plane)


def _layout(x, ph, pw, stride):
    """(row, plane, out_h, out_w, samples per pass, tiles_w, tile_w, span, length) of a pass of
    ``conv3x3``: at stride 1 a pass's samples lie side by side, ``tiles_w`` to a row of tiles, each
    ``tile_w`` columns and ``plane`` positions (tile rows) apart, so that neighbours share their zero
    padding (``ph`` rows, ``pw`` columns between them instead of twice that); ``length`` output positions
    are computed over the ``span`` positions of the scratch. On small planes this computes fewer
    positions that are thrown away: 81 per 8x8 sample instead of 100. Other strides keep a phase
    plane per sample (``tiles_w`` 1)."""
    row, plane, out_h, out_w, group = _geometry(x, ph, pw, stride)
    if stride != 1 or group == 1:
        return row, plane, out_h, out_w, group, 1, 0, group * plane + 2, (group - 1) * plane + out_h * row
    h_size, w_size = x.shape[2:]
    best = None
    for tiles_w in range(1, group + 1):  # the arrangement of the group's tiles with the fewest positions
        tiles_h = -(-group // tiles_w)
        tiled_row = tiles_w * (w_size + pw) + pw
        length = ((tiles_h - 1) * (h_size + ph) + out_h) * tiled_row
        if best is None or length < best[0]:
            best = (length, tiles_w, tiled_row, tiles_h)
    length, tiles_w, row, tiles_h = best
    plane = (h_size + ph) * row
    return row, plane, out_h, out_w, group, tiles_w, w_size + pw, tiles_h * plane + ph * row + 2, length


def _samples_per_pass(n_size, plane):
    """~1024 positions per pass, so that 8x8 planes do not spend their time loading taps, and at least
    one pass per thread; the passes share the samples evenly, as every pass computes a whole pass's
    positions (16 samples of 7x7 in passes of 13 and 3 cost as much as 26 samples)."""
    group = max(1, min(-(-1024 // plane), -(-n_size // numba.get_num_threads())))
    return -(-n_size // -(-n_size // group))


def conv3x3(x, w, ph, pw, stride=1):
    """(N, C, H, W) ``x`` convolved with (K, C, 3, 3) ``w``, zero padding (ph, pw): (N, K, OH, OW)."""
    return _conv3x3(x, w, ph, pw, stride, *_layout(x, ph, pw, stride))


@njit(cache=True, parallel=True, fastmath=_FLAGS)
def _conv3x3(x, w, ph, pw, stride, row, plane, out_h, out_w, group, tiles_w, tile_w, span, length):
    n_size, c_size = x.shape[:2]
    k_size = w.shape[0]
    out = np.empty((n_size, k_size, out_h, out_w), dtype=x.dtype)
    for pass_ in prange(-(-n_size // group)):
        n0 = pass_ * group
        count = min(group, n_size - n0)
        padded = np.zeros((c_size, stride * stride, span), dtype=x.dtype)
        acc = np.empty((4, length), dtype=x.dtype)
        _pad_samples(x, n0, count, ph, pw, stride, row, plane, padded, tiles_w, tile_w)
        for k0 in range(0, k_size, 4):
            block = min(4, k_size - k0)
            acc[:] = 0
            a0, a1, a2, a3 = acc[0], acc[1], acc[2], acc[3]
            for c in range(c_size):
                t0 = _taps(w, k0, c)
                if block == 4 and stride == 1:  # three row views: fewer pointers, faster
                    r0, r1, r2 = padded[c, 0], padded[c, 0, row:], padded[c, 0, 2 * row:]
                    t1, t2, t3 = _taps(w, k0 + 1, c), _taps(w, k0 + 2, c), _taps(w, k0 + 3, c)
                    for p in range(length):
                        x0, x1, x2 = r0[p], r0[p + 1], r0[p + 2]
                        x3, x4, x5 = r1[p], r1[p + 1], r1[p + 2]
                        x6, x7, x8 = r2[p], r2[p + 1], r2[p + 2]
                        a0[p] += _dot9(t0, x0, x1, x2, x3, x4, x5, x6, x7, x8)
                        a1[p] += _dot9(t1, x0, x1, x2, x3, x4, x5, x6, x7, x8)
                        a2[p] += _dot9(t2, x0, x1, x2, x3, x4, x5, x6, x7, x8)
                        a3[p] += _dot9(t3, x0, x1, x2, x3, x4, x5, x6, x7, x8)
                    continue
                if block == 4 and stride == 2:  # two loops: phases (0, 0) and (1, 1), phases (0, 1) and (1, 0)
                    t1, t2, t3 = _taps(w, k0 + 1, c), _taps(w, k0 + 2, c), _taps(w, k0 + 3, c)
                    r0, r1, r2 = padded[c, 0], padded[c, 0, row:], padded[c, 3]
                    for p in range(length):  # taps (0, 0), (0, 2), (2, 0), (2, 2) and (1, 1)
                        x0, x2, x6, x8, x4 = r0[p], r0[p + 1], r1[p], r1[p + 1], r2[p]
                        a0[p] += t0[0] * x0 + t0[2] * x2 + t0[6] * x6 + t0[8] * x8 + t0[4] * x4
                        a1[p] += t1[0] * x0 + t1[2] * x2 + t1[6] * x6 + t1[8] * x8 + t1[4] * x4
                        a2[p] += t2[0] * x0 + t2[2] * x2 + t2[6] * x6 + t2[8] * x8 + t2[4] * x4
                        a3[p] += t3[0] * x0 + t3[2] * x2 + t3[6] * x6 + t3[8] * x8 + t3[4] * x4
                    r0, r1, r2 = padded[c, 1], padded[c, 1, row:], padded[c, 2]
                    for p in range(length):  # taps (0, 1), (2, 1) and (1, 0), (1, 2)
                        x1, x7, x3, x5 = r0[p], r1[p], r2[p], r2[p + 1]
                        a0[p] += t0[1] * x1 + t0[7] * x7 + t0[3] * x3 + t0[5] * x5
                        a1[p] += t1[1] * x1 + t1[7] * x7 + t1[3] * x3 + t1[5] * x5
                        a2[p] += t2[1] * x1 + t2[7] * x7 + t2[3] * x3 + t2[5] * x5
                        a3[p] += t3[1] * x1 + t3[7] * x7 + t3[3] * x3 + t3[5] * x5
                    continue
                v0, v1, v2, v3, v4, v5, v6, v7, v8 = _tap_views(padded, c, stride, row)
                if block == 4:
                    t1, t2, t3 = _taps(w, k0 + 1, c), _taps(w, k0 + 2, c), _taps(w, k0 + 3, c)
                    for p in range(length):
                        x0, x1, x2, x3, x4 = v0[p], v1[p], v2[p], v3[p], v4[p]
                        x5, x6, x7, x8 = v5[p], v6[p], v7[p], v8[p]
                        a0[p] += _dot9(t0, x0, x1, x2, x3, x4, x5, x6, x7, x8)
                        a1[p] += _dot9(t1, x0, x1, x2, x3, x4, x5, x6, x7, x8)
                        a2[p] += _dot9(t2, x0, x1, x2, x3, x4, x5, x6, x7, x8)
                        a3[p] += _dot9(t3, x0, x1, x2, x3, x4, x5, x6, x7, x8)
                else:  # the last 1-3 channels, one at a time
                    for kk in range(block):
                        t = _taps(w, k0 + kk, c)
                        a = acc[kk]
                        for p in range(length):
                            a[p] += _dot9(t, v0[p], v1[p], v2[p], v3[p], v4[p], v5[p], v6[p], v7[p], v8[p])
            for s in range(count):
                origin = _origin(s, plane, tiles_w, tile_w)
                for kk in range(block):
                    for h in range(out_h):
                        _copy_row(acc[kk, origin + h * row:], out[n0 + s, k0 + kk, h], out_w)
    return out


def conv3x3_weight_grad(x, g, ph, pw, stride=1):
    """The (K, C, 3, 3) weight gradient of ``conv3x3(x, w, ph, pw, stride)`` from its output gradient.

    Each thread's share of the passes sums into its own copy, so there are no races; two output
    channels share every input load (nine dot products each over a pass's padded positions)."""
    k_size, c_size = g.shape[1], x.shape[1]
    parts = _weight_grad(x, g, ph, pw, stride, *_layout(x, ph, pw, stride), numba.get_num_threads())
    return parts.sum(0).reshape(k_size, c_size, 3, 3)


@njit(cache=True, parallel=True, fastmath=_FLAGS)
def _weight_grad(x, g, ph, pw, stride, row, plane, out_h, out_w, group, tiles_w, tile_w, span, length, threads):
    n_size, c_size = x.shape[:2]
    k_size = g.shape[1]
    passes = -(-n_size // group)
    parts = np.zeros((threads, k_size, c_size, 9), dtype=x.dtype)
    share = -(-passes // threads)
    for part in prange(threads):
        padded = np.zeros((c_size, stride * stride, span), dtype=x.dtype)
        gpad = np.zeros((k_size, length), dtype=x.dtype)  # zero at the positions outside the output
        zero = np.zeros(1, dtype=x.dtype)[0]
        acc = parts[part]
        for pass_ in range(part * share, min(passes, (part + 1) * share)):
            n0 = pass_ * group
            count = min(group, n_size - n0)
            if count < group:  # the last pass: samples of the previous one must not count again
                padded[:] = 0
                gpad[:] = 0
            _pad_samples(x, n0, count, ph, pw, stride, row, plane, padded, tiles_w, tile_w)
            _pad_gradient(g, n0, count, row, plane, out_h, out_w, gpad, tiles_w, tile_w)
            for k0 in range(0, k_size, 2):
                pair = k0 + 1 < k_size
                ga, gb = gpad[k0], gpad[k0 + 1 if pair else k0]
                for c in range(c_size):
                    v0, v1, v2, v3, v4, v5, v6, v7, v8 = _tap_views(padded, c, stride, row)
                    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = s8 = zero
                    u0 = u1 = u2 = u3 = u4 = u5 = u6 = u7 = u8 = zero
                    for p in range(length):
                        x0, x1, x2, x3, x4 = v0[p], v1[p], v2[p], v3[p], v4[p]
                        x5, x6, x7, x8 = v5[p], v6[p], v7[p], v8[p]
                        a, b = ga[p], gb[p]
                        s0 += a * x0; s1 += a * x1; s2 += a * x2
                        s3 += a * x3; s4 += a * x4; s5 += a * x5
                        s6 += a * x6; s7 += a * x7; s8 += a * x8
                        u0 += b * x0; u1 += b * x1; u2 += b * x2
                        u3 += b * x3; u4 += b * x4; u5 += b * x5
                        u6 += b * x6; u7 += b * x7; u8 += b * x8
                    q = acc[k0, c]
                    q[0] += s0; q[1] += s1; q[2] += s2; q[3] += s3; q[4] += s4
                    q[5] += s5; q[6] += s6; q[7] += s7; q[8] += s8
                    if pair:
                        q = acc[k0 + 1, c]
                        q[0] += u0; q[1] += u1; q[2] += u2; q[3] += u3; q[4] += u4
                        q[5] += u5; q[6] += u6; q[7] += u7; q[8] += u8
    return parts  # summed by the caller: numba's sum over an axis is slow to compile


@njit(inline="always")
def _taps2(phases, q, k, c):
    """The 2x2 taps of phase q from channel k of g to channel c of the input gradient."""
    t = phases[q, k, c]
    return (t[0, 0], t[0, 1], t[1, 0], t[1, 1])


def conv3x3_input_grad(g, w, ph, pw, stride, h_size, w_size):
    """The (N, C, H, W) input gradient of ``conv3x3(x, w, ph, pw, stride)`` from its output gradient
    ``g``, for stride >= 2 (stride 1 is ``conv3x3`` of g with the flipped kernel).

    Each phase (a, b) of the padded input gradient, the positions (a + stride * Y, b + stride * X), is a
    stride-1 correlation of g with the taps (a + stride * dy, b + stride * dx) of the kernel: at most a
    2x2 window, whose missing taps are zero weights here. At stride 2 the windows of phases (0, 1),
    (1, 0) and (1, 1) are 2x1, 1x2 and 1x1 whatever the padding, and their loops multiply only those
    taps (9 multiply-adds per input position instead of 16)."""
    k_size, c_size = w.shape[:2]
    phases = np.zeros((stride * stride, k_size, c_size, 2, 2), dtype=w.dtype)
    for a in range(stride):
        for b in range(stride):
            sub = w[:, :, a::stride, b::stride][:, :, ::-1, ::-1]  # tap (dy, dx) reads g[Y - dy, X - dx]
            phases[a * stride + b, :, :, 2 - sub.shape[2]:, 2 - sub.shape[3]:] = sub
    rows, row = -(-(h_size + 2 * ph) // stride), -(-(w_size + 2 * pw) // stride) + 1  # + g's left padding
    plane = (rows + 1) * row  # a sample's g with one row of padding above
    return _input_grad(g, phases, ph, pw, stride, h_size, w_size, rows, row, plane,
                       _samples_per_pass(g.shape[0], plane))


@njit(cache=True, parallel=True, fastmath=_FLAGS)
def _input_grad(g, phases, ph, pw, stride, h_size, w_size, rows, row, plane, group):
    n_size, k_size, out_h, out_w = g.shape
    c_size = phases.shape[2]
    length = (group - 1) * plane + rows * row
    gx = np.empty((n_size, c_size, h_size, w_size), dtype=g.dtype)
    for pass_ in prange(-(-n_size // group)):
        n0 = pass_ * group
        count = min(group, n_size - n0)
        gpad = np.zeros((k_size, group * plane + row + 2), dtype=g.dtype)
        acc = np.empty((stride * stride, 4, length), dtype=g.dtype)
        for s in range(count):
            for k in range(k_size):
                for y in range(out_h):
                    _copy_row(g[n0 + s, k, y], gpad[k, s * plane + (y + 1) * row + 1:], out_w)
        for c0 in range(0, c_size, 4):
            block = min(4, c_size - c0)
            acc[:] = 0
            for q in range(stride * stride):
                a0, a1, a2, a3 = acc[q, 0], acc[q, 1], acc[q, 2], acc[q, 3]
                for k in range(k_size):
                    r0, r1 = gpad[k], gpad[k, row:]
                    if block == 4:
                        t0, t1 = _taps2(phases, q, k, c0), _taps2(phases, q, k, c0 + 1)
                        t2, t3 = _taps2(phases, q, k, c0 + 2), _taps2(phases, q, k, c0 + 3)
                        if stride == 2 and q == 3:  # one tap
                            for p in range(length):
                                y3 = r1[p + 1]
                                a0[p] += t0[3] * y3
                                a1[p] += t1[3] * y3
                                a2[p] += t2[3] * y3
                                a3[p] += t3[3] * y3
                            continue
                        if stride == 2 and q == 1:  # a 2x1 window
                            for p in range(length):
                                y1, y3 = r0[p + 1], r1[p + 1]
                                a0[p] += t0[1] * y1 + t0[3] * y3
                                a1[p] += t1[1] * y1 + t1[3] * y3
                                a2[p] += t2[1] * y1 + t2[3] * y3
                                a3[p] += t3[1] * y1 + t3[3] * y3
                            continue
                        if stride == 2 and q == 2:  # a 1x2 window
                            for p in range(length):
                                y2, y3 = r1[p], r1[p + 1]
                                a0[p] += t0[2] * y2 + t0[3] * y3
                                a1[p] += t1[2] * y2 + t1[3] * y3
                                a2[p] += t2[2] * y2 + t2[3] * y3
                                a3[p] += t3[2] * y2 + t3[3] * y3
                            continue
                        for p in range(length):
                            y0, y1, y2, y3 = r0[p], r0[p + 1], r1[p], r1[p + 1]
                            a0[p] += t0[0] * y0 + t0[1] * y1 + t0[2] * y2 + t0[3] * y3
                            a1[p] += t1[0] * y0 + t1[1] * y1 + t1[2] * y2 + t1[3] * y3
                            a2[p] += t2[0] * y0 + t2[1] * y1 + t2[2] * y2 + t2[3] * y3
                            a3[p] += t3[0] * y0 + t3[1] * y1 + t3[2] * y2 + t3[3] * y3
                        continue
                    for cc in range(block):  # the last 1-3 channels, one at a time
                        t = _taps2(phases, q, k, c0 + cc)
                        a = acc[q, cc]
                        for p in range(length):
                            a[p] += t[0] * r0[p] + t[1] * r0[p + 1] + t[2] * r1[p] + t[3] * r1[p + 1]
            for s in range(count):  # back from the phases, as _pad_samples went into them
                for cc in range(block):
                    for hh in range(h_size):
                        if stride == 2:
                            q0, o0, f0, _ = _phase_slot(hh + ph, 0, pw, 2, w_size, row)
                            q1, o1, _, _ = _phase_slot(hh + ph, 1, pw, 2, w_size, row)
                            phase0, phase1 = acc[q0, cc, s * plane + o0:], acc[q1, cc, s * plane + o1:]
                            if f0 == 0:  # phase 0 holds the even columns
                                _merge_row(phase0, phase1, gx[n0 + s, c0 + cc, hh], w_size)
                            else:
                                _merge_row(phase1, phase0, gx[n0 + s, c0 + cc, hh], w_size)
                            continue
                        for b in range(stride):
                            phase, offset, first, size = _phase_slot(hh + ph, b, pw, stride, w_size, row)
                            _copy_row(acc[phase, cc, s * plane + offset:], gx[n0 + s, c0 + cc, hh, first::stride],
                                      size)
    return gx
