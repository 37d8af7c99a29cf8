"""Direct 5x5 convolution (stride 1, dilation 1, one group): forward and weight gradient.

LeNet-style layers have very few channels (1-16) and small planes, where im2col writes 25 copies of the
input (5 MB for LeNet's first layer at batch 64) to feed GEMMs whose inner dimension is 25-150: the
copies, not the arithmetic, set the time. These kernels read the input in place, the way
``conv3x3`` does (its docstring has the layout): a pass's samples are copied once into zero-padded
planes whose rows are ``width + 2 * pw`` long, so the five taps of a kernel row are five reads at
consecutive offsets of one flat row and the inner loop runs over every output position of the pass.
The forward keeps four output channels in flight (20 multiply-adds per five loads); the weight
gradient keeps two output channels' ten dot products in registers. On LeNet's layers the forward is
faster than im2col + GEMM (timings: benchmarks/README.md), and the weight gradient no longer needs the
columns kept from the forward.

The input gradient of a padded layer (output as large as the input) is ``conv5x5`` of the output
gradient with the flipped, in/out-swapped kernel (the caller, ``ConvNd.backward``, does that: faster
than im2col + GEMM); an unpadded layer's stays ``col2im`` of ``Wᵀ g``, where the flipped
forward would multiply as many zeros of the padded gradient as real values.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit

from ._threads import split
from .conv3x3 import _FLAGS, _copy_row, _geometry, _pad_gradient

_WORK = 1 << 16  # elements from which the passes run on every thread (see _threads.Split)


def conv5x5(x, w, ph, pw):
    """(N, C, H, W) ``x`` convolved with (K, C, 5, 5) ``w``, zero padding (ph, pw): (N, K, OH, OW)."""
    k_size = w.shape[0]
    blocks = np.zeros((-(-k_size // 4) * 4,) + w.shape[1:], dtype=w.dtype)  # whole blocks of four filters
    blocks[:k_size] = w
    row, plane, out_h, out_w, group = _geometry(x, ph, pw, 1, 5)
    out = np.empty((x.shape[0], k_size, out_h, out_w), dtype=x.dtype)
    _conv5x5(-(-x.shape[0] // group), x, blocks, k_size, ph, pw, row, plane, out_h, out_w, group, out)
    return out


@njit(inline="always")
def _pad_samples(x, n0, count, ph, pw, row, plane, padded):
    """Copies samples n0 .. n0 + count - 1 of ``x`` into the zeroed (C, positions) scratch ``padded``:
    ``conv3x3._pad_samples`` with stride 1, without its phase planes (their general indexing made the
    two 5x5 kernels slower to compile)."""
    c_size, h_size, w_size = x.shape[1:]
    for s in range(count):
        for c in range(c_size):
            for h in range(h_size):
                _copy_row(x[n0 + s, c, h], padded[c, s * plane + (h + ph) * row + pw:], w_size)


@split(_WORK, fastmath=_FLAGS)
def _conv5x5(x, w, k_size, ph, pw, row, plane, out_h, out_w, group, out, start, stop):
    n_size, c_size = x.shape[:2]
    length = (group - 1) * plane + out_h * row  # output positions over the padded planes of a pass
    for pass_ in range(start, stop):  # passes of ``group`` samples
        n0 = pass_ * group
        count = min(group, n_size - n0)
        padded = np.zeros((c_size, group * plane + 4), dtype=x.dtype)
        acc = np.empty((4, length), dtype=x.dtype)
        _pad_samples(x, n0, count, ph, pw, row, plane, padded)
        for k0 in range(0, k_size, 4):
            acc[:] = 0
            a0, a1, a2, a3 = acc[0], acc[1], acc[2], acc[3]
            for c in range(c_size):
                for kh in range(5):
                    r = padded[c, kh * row:]
                    t0, t1, t2, t3 = w[k0, c, kh], w[k0 + 1, c, kh], w[k0 + 2, c, kh], w[k0 + 3, c, kh]
                    u00, u01, u02, u03, u04 = t0[0], t0[1], t0[2], t0[3], t0[4]
                    u10, u11, u12, u13, u14 = t1[0], t1[1], t1[2], t1[3], t1[4]
                    u20, u21, u22, u23, u24 = t2[0], t2[1], t2[2], t2[3], t2[4]
                    u30, u31, u32, u33, u34 = t3[0], t3[1], t3[2], t3[3], t3[4]
                    for p in range(length):
                        x0, x1, x2, x3, x4 = r[p], r[p + 1], r[p + 2], r[p + 3], r[p + 4]
                        a0[p] += u00 * x0 + u01 * x1 + u02 * x2 + u03 * x3 + u04 * x4
                        a1[p] += u10 * x0 + u11 * x1 + u12 * x2 + u13 * x3 + u14 * x4
                        a2[p] += u20 * x0 + u21 * x1 + u22 * x2 + u23 * x3 + u24 * x4
                        a3[p] += u30 * x0 + u31 * x1 + u32 * x2 + u33 * x3 + u34 * x4
            for s in range(count):
                for kk in range(min(4, k_size - k0)):
                    for h in range(out_h):
                        _copy_row(acc[kk, s * plane + h * row:], out[n0 + s, k0 + kk, h], out_w)


def conv5x5_weight_grad(x, g, ph, pw):
    """The (K, C, 5, 5) weight gradient of ``conv5x5(x, w, ph, pw)`` from its output gradient ``g``.

    Each thread's share of the passes sums into its own copy, so there are no races."""
    threads = numba.get_num_threads()
    parts = np.zeros((threads, g.shape[1], x.shape[1], 5, 5), dtype=x.dtype)
    _weight_grad(threads, x, g, ph, pw, *_geometry(x, ph, pw, 1, 5), parts)
    return parts.sum(0)  # numba's sum over an axis is slow to compile


@split(_WORK, fastmath=_FLAGS)
def _weight_grad(x, g, ph, pw, row, plane, out_h, out_w, group, parts, start, stop):
    n_size, c_size = x.shape[:2]
    k_size = g.shape[1]
    length = (group - 1) * plane + out_h * row
    passes = -(-n_size // group)
    share = -(-passes // parts.shape[0])
    for part in range(start, stop):
        padded = np.zeros((c_size, group * plane + 4), dtype=x.dtype)
        gpad = np.zeros((k_size, length), dtype=x.dtype)  # zero at the positions outside the output
        zero = np.zeros(1, dtype=x.dtype)[0]
        acc = parts[part]
        for pass_ in range(part * share, min(passes, (part + 1) * share)):
            n0 = pass_ * group
            count = min(group, n_size - n0)
            if count < group:  # the last pass: samples of the previous one must not count again
                padded[:] = 0
                gpad[:] = 0
            _pad_samples(x, n0, count, ph, pw, row, plane, padded)
            _pad_gradient(g, n0, count, row, plane, out_h, out_w, gpad)
            for k0 in range(0, k_size, 2):
                pair = k0 + 1 < k_size
                ga, gb = gpad[k0], gpad[k0 + 1 if pair else k0]
                for c in range(c_size):
                    for kh in range(5):
                        r = padded[c, kh * row:]
                        s0 = s1 = s2 = s3 = s4 = zero
                        u0 = u1 = u2 = u3 = u4 = zero
                        for p in range(length):
                            x0, x1, x2, x3, x4 = r[p], r[p + 1], r[p + 2], r[p + 3], r[p + 4]
                            a, b = ga[p], gb[p]
                            s0 += a * x0; s1 += a * x1; s2 += a * x2; s3 += a * x3; s4 += a * x4
                            u0 += b * x0; u1 += b * x1; u2 += b * x2; u3 += b * x3; u4 += b * x4
                        q = acc[k0, c, kh]
                        q[0] += s0; q[1] += s1; q[2] += s2; q[3] += s3; q[4] += s4
                        if pair:
                            q = acc[k0 + 1, c, kh]
                            q[0] += u0; q[1] += u1; q[2] += u2; q[3] += u3; q[4] += u4
