"""Grid sampling (``F.grid_sample``) forward and backward on arrays, 2 or 3 spatial dimensions.

Vectorised numpy rather than numba: every output point reads a fixed set of taps (1 for nearest, 2 per
dimension for (tri)linear, 4 per dimension for bicubic), so one gather per tap over all points at once is
as fast as a compiled loop for the sizes grid sampling sees, and needs no compilation.

Conventions, as PyTorch's: ``x`` is (N, C, *S) with S = (H, W) or (D, H, W); ``grid`` is (N, *O, d) and its
last axis lists the coordinates fastest axis first (x for W, y for H, z for D), each in [-1, 1]. Each tap
of each spatial axis is an (index, in-bounds, weight, d weight / d coordinate) quadruple; a point's taps
are the product of its axes' taps, so one code path serves every mode and both dimensionalities.
The coordinate arithmetic follows ATen's ``GridSampler.h`` (unnormalise, then clip or reflect, with the
same zero gradient on a clipped border).
"""

from __future__ import annotations

import functools

import numpy as np

CUBIC_A = -0.75  # the cubic convolution constant PyTorch uses (OpenCV's; PIL uses -0.5)


def _unnormalize(coord, size, align_corners):
    """[-1, 1] to pixel coordinates, and d pixel / d coord."""
    if align_corners:
        return (coord + 1) / 2 * (size - 1), (size - 1) / 2
    return ((coord + 1) * size - 1) / 2, size / 2


def _clip(coord, size):
    """Clamps to [0, size - 1], NaN to 0 (as ATen's min / max do); the gradient is zero on and beyond the
    borders (ATen's convention)."""
    grad = ((coord > 0) & (coord < size - 1)).astype(coord.dtype)
    return np.fmin(np.fmax(coord, 0), size - 1).astype(coord.dtype, copy=False), grad


def _reflect(coord, twice_low, twice_high):
    """Reflects by the borders low and high until inside; the gradient is +-1 by the number of flips."""
    if twice_low == twice_high:
        return np.zeros_like(coord), np.zeros_like(coord)
    low = twice_low / 2
    span = (twice_high - twice_low) / 2
    shifted = coord - low
    sign = np.where(shifted < 0, -1, 1).astype(coord.dtype)
    shifted = np.abs(shifted)
    extra = np.fmod(shifted, span)
    even = np.floor(shifted / span) % 2 == 0
    out = np.where(even, extra + low, span - extra + low).astype(coord.dtype)
    return out, np.where(even, sign, -sign)


def _pad_coordinates(coord, size, padding_mode, align_corners):
    """The coordinate after the padding mode (border: clamp; reflection: reflect, then clamp) and its
    derivative; zeros padding leaves it as it is."""
    if padding_mode == "border":
        return _clip(coord, size)
    if padding_mode == "reflection":
        bounds = (0, 2 * (size - 1)) if align_corners else (-1, 2 * size - 1)
        reflected, grad_reflect = _reflect(coord, *bounds)
        clipped, grad_clip = _clip(reflected, size)
        return clipped, grad_reflect * grad_clip
    return coord, np.ones_like(coord)


def _cubic_weights(t):
    """The four cubic-convolution weights of taps -1, 0, 1, 2 at fraction ``t``, and their t-derivatives."""
    a = CUBIC_A

    def near(s):  # |s| <= 1
        return ((a + 2) * s - (a + 3)) * s * s + 1

    def d_near(s):
        return (3 * (a + 2) * s - 2 * (a + 3)) * s

    def far(s):  # 1 < |s| < 2
        return ((a * s - 5 * a) * s + 8 * a) * s - 4 * a

    def d_far(s):
        return (3 * a * s - 10 * a) * s + 8 * a

    weights = [far(t + 1), near(t), near(1 - t), far(2 - t)]
    # the distance to taps 1 and 2 shrinks as t grows, hence their minus signs
    grads = [d_far(t + 1), d_near(t), -d_near(1 - t), -d_far(2 - t)]
    return weights, grads


def _axis_taps(coord, size, mode, padding_mode, align_corners):
    """Taps of one spatial axis: a list of (index, in_bounds, weight, d weight / d coord)."""
    pixel, d_pixel = _unnormalize(coord, size, align_corners)
    if mode == "bicubic":
        # bicubic pads the integer tap positions, not the sampling point
        lo = np.floor(pixel)
        weights, grads = _cubic_weights(pixel - lo)
        taps = []
        for k in range(4):
            position, _ = _pad_coordinates(lo + (k - 1), size, padding_mode, align_corners)
            index = np.trunc(position)
            taps.append((index, (index >= 0) & (index < size), weights[k], grads[k] * d_pixel))
        return taps
    pixel, d_pad = _pad_coordinates(pixel, size, padding_mode, align_corners)
    if mode == "nearest":
        index = np.rint(pixel)  # round half to even, as C's nearbyint
        return [(index, (index >= 0) & (index < size), np.ones_like(pixel), np.zeros_like(pixel))]
    lo = np.floor(pixel)
    frac = pixel - lo
    d_coord = d_pixel * d_pad
    return [(lo, (lo >= 0) & (lo < size), 1 - frac, -d_coord),
            (lo + 1, (lo + 1 >= 0) & (lo + 1 < size), frac, d_coord + np.zeros_like(frac))]


def _point_taps(x_shape, grid, mode, padding_mode, align_corners):
    """Every tap of every point, as (N * P, T) arrays: the flat row index into (N * prod S), the weight of the
    forward (0 * weight where the tap falls outside the input), that of the input's gradient (0 there), and
    per axis (fastest first) d weight / d grid coordinate.

    A point's taps are the outer product of its axes' taps, formed by broadcasting: axis k's arrays are
    shaped (M, 1, ..., t_k, ..., 1).
    """
    n, spatial = x_shape[0], x_shape[2:]
    d = len(spatial)
    points = grid.reshape(-1, d)
    m = points.shape[0]
    index = np.repeat(np.arange(n, dtype=np.int64) * int(np.prod(spatial)), m // n).reshape((m,) + (1,) * d)
    valid = np.ones((m,) + (1,) * d, dtype=bool)
    weights, d_weights = [], []
    for k in range(d):  # axes slowest first (D, H, W); the grid lists them fastest first (x, y, z)
        taps = _axis_taps(points[:, d - 1 - k], spatial[k], mode, padding_mode, align_corners)
        shape = (m,) + tuple(len(taps) if j == k else 1 for j in range(d))
        index = index + (np.stack([t[0] for t in taps], axis=1).astype(np.int64)
                         * int(np.prod(spatial[k + 1:]))).reshape(shape)
        valid = valid & np.stack([t[1] for t in taps], axis=1).reshape(shape)
        weights.append(np.stack([t[2] for t in taps], axis=1).reshape(shape))
        d_weights.append(np.stack([t[3] for t in taps], axis=1).reshape(shape))
    taps = valid.size // m if m else int(np.prod(valid.shape[1:]))
    index = np.where(valid, index, 0).reshape(m, taps)
    weight = np.broadcast_to(functools.reduce(np.multiply, weights), valid.shape)
    # a tap outside the input reads 0, and 0 * weight is NaN where the weight is (a NaN or infinite grid point),
    # so NaN propagates to the output and the grid's gradient as in PyTorch; the input's gradient skips it
    scatter = np.where(valid, weight, 0).reshape(m, taps)
    weight = np.where(valid, weight, weight * 0).reshape(m, taps)
    grads = []
    for k in range(d - 1, -1, -1):  # fastest axis first, as the grid's last dimension
        grad = functools.reduce(np.multiply, [d_weights[j] if j == k else weights[j] for j in range(d)])
        grads.append(np.where(valid, grad, grad * 0).reshape(m, taps))
    return index, weight, scatter, grads


def _sparse(flat, values, n_columns, dtype):
    """The (N * P, N * prod S) matrix with ``values`` at (point, ``flat``): sampling as a sparse product."""
    from scipy.sparse import csr_matrix  # lazy: heavy

    rows, taps = flat.shape
    indptr = np.arange(0, rows * taps + 1, taps)
    return csr_matrix((values.astype(dtype).ravel(), flat.ravel(), indptr), shape=(rows, n_columns))


def _rows(x):
    """(N, C, *S) as (N * prod S, C): one row of channels per input position."""
    n, c = x.shape[:2]
    return np.ascontiguousarray(np.moveaxis(x.reshape(n, c, -1), 1, 2)).reshape(-1, c)


def grid_sample(x, grid, mode, padding_mode, align_corners):
    """The sampled (N, C, *O) output."""
    n, c = x.shape[:2]
    if grid.size == 0:  # no points (or an empty batch): nothing to sample
        return np.zeros((n, c) + grid.shape[1:-1], dtype=x.dtype)
    rows = _rows(x)
    flat, weight, _, _ = _point_taps(x.shape, grid, mode, padding_mode, align_corners)
    out = (_sparse(flat, weight, rows.shape[0], x.dtype) @ rows).reshape(n, -1, c)
    return np.moveaxis(out, 2, 1).reshape((n, c) + grid.shape[1:-1]).astype(x.dtype, copy=False)


def grid_sample_backward(x, grid, grad, mode, padding_mode, align_corners, need_input, need_grid):
    """(d loss / d x or None, d loss / d grid or None) for the upstream gradient ``grad`` (N, C, *O)."""
    n, c = x.shape[:2]
    d = grid.shape[-1]
    if grid.size == 0:
        return (np.zeros_like(x) if need_input else None), (np.zeros_like(grid) if need_grid else None)
    g = np.ascontiguousarray(np.moveaxis(grad.reshape(n, c, -1), 1, 2)).reshape(-1, c)  # (N * P, C)
    flat, _, scatter, grads = _point_taps(x.shape, grid, mode, padding_mode, align_corners)
    grad_x = grad_grid = None
    if need_input:
        grad_rows = _sparse(flat, scatter, x[:, 0].size, x.dtype).T @ g
        grad_x = np.moveaxis(grad_rows.reshape(n, -1, c), 2, 1).reshape(x.shape).astype(x.dtype, copy=False)
    if need_grid:
        grad_grid = np.zeros((g.shape[0], d), dtype=grid.dtype)
        if mode != "nearest":  # nearest is piecewise constant: a zero gradient, as PyTorch's
            rows = _rows(x)
            for k in range(d):
                # d out / d coord_k, dotted with the upstream gradient over the channels
                grad_grid[:, k] = np.einsum("pc,pc->p", _sparse(flat, grads[k], rows.shape[0], x.dtype) @ rows, g)
        grad_grid = grad_grid.reshape(grid.shape)
    return grad_x, grad_grid
