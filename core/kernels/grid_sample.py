"""Grid sampling (``F.grid_sample``) and its gradients on arrays, 2 or 3 spatial dimensions.

The common case, a 4-d input sampled bilinear or nearest with the plain weights (``orders`` all 0), runs in
numba kernels (``grid_sample_2d.py``). The rest (5-d input, bicubic, and the weights' derivatives that
gradients of gradients sample with) is vectorised numpy and scipy here: every output point reads a fixed set
of taps (1 for nearest, 2 per dimension for (tri)linear, 4 per dimension for bicubic), so sampling is a sparse
(points x input positions) matrix with that many entries per row, applied to all channels at once
(``S @ x``); the input's gradient is its transpose (``S.T @ g``), and the grid's gradient the same product
with the weights differentiated.

Conventions, as PyTorch's: ``x`` is (N, C, *S) with S = (H, W) or (D, H, W); ``grid`` is (N, *O, d) and its
last axis lists the coordinates fastest axis first (x for W, y for H, z for D), each in [-1, 1]. Each spatial
axis gives every point a few taps (index, in-bounds, weight and its derivatives); a point's taps are the
product of its axes' taps, so one code path serves every mode and both dimensionalities. The coordinate
arithmetic follows ATen's ``GridSampler.h`` (unnormalise, then clip or reflect, with the same zero gradient
on a clipped border).
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


def _cubic_derivatives(t, order):
    """The ``order``-th t-derivatives of the four cubic-convolution weights of taps -1, 0, 1, 2 at fraction
    ``t`` (order 0: the weights themselves)."""
    a = CUBIC_A
    # near(s) = (a + 2) s^3 - (a + 3) s^2 + 1 for |s| <= 1; far(s) = a s^3 - 5a s^2 + 8a s - 4a for 1 < |s| < 2
    near = [lambda s: ((a + 2) * s - (a + 3)) * s * s + 1, lambda s: (3 * (a + 2) * s - 2 * (a + 3)) * s,
            lambda s: 6 * (a + 2) * s - 2 * (a + 3), lambda s: 6 * (a + 2) + 0 * s]
    far = [lambda s: ((a * s - 5 * a) * s + 8 * a) * s - 4 * a, lambda s: (3 * a * s - 10 * a) * s + 8 * a,
           lambda s: 6 * a * s - 10 * a, lambda s: 6 * a + 0 * s]
    if order > 3:
        return [np.zeros_like(t)] * 4
    sign = -1 if order % 2 else 1  # taps 1 and 2 sit at distance 1 - t and 2 - t: their derivatives flip sign
    return [far[order](t + 1), near[order](t), sign * near[order](1 - t), sign * far[order](2 - t)]


def _axis_taps(coord, size, mode, padding_mode, align_corners, max_order):
    """Taps of one spatial axis: (indices, in-bounds masks, weights) with ``weights[o][i]`` the o-th derivative
    of tap i's weight with respect to the grid coordinate, for o = 0 .. max_order. The padding maps are
    piecewise linear, so each order is the pixel-space derivative times (d pixel / d coord) ** o."""
    pixel, d_pixel = _unnormalize(coord, size, align_corners)
    if mode == "bicubic":
        # bicubic pads the integer tap positions, not the sampling point
        lo = np.floor(pixel)
        indices = [np.trunc(_pad_coordinates(lo + (k - 1), size, padding_mode, align_corners)[0]) for k in range(4)]
        weights = [[w * d_pixel ** o for w in _cubic_derivatives(pixel - lo, o)] for o in range(max_order + 1)]
    else:
        pixel, d_pad = _pad_coordinates(pixel, size, padding_mode, align_corners)
        zero = np.zeros_like(pixel)
        if mode == "nearest":
            indices = [np.rint(pixel)]  # round half to even, as C's nearbyint
            weights = [[zero + 1]] + [[zero]] * max_order
        else:
            lo = np.floor(pixel)
            frac = pixel - lo
            slope = d_pixel * d_pad + zero
            indices = [lo, lo + 1]
            weights = ([[1 - frac, frac], [-slope, slope]] + [[zero, zero]] * (max_order - 1))[:max_order + 1]
    return indices, [(i >= 0) & (i < size) for i in indices], weights


class _Taps:
    """Every tap of every point of a grid, as (N * P, T) arrays: the flat row index into (N * prod S) and
    whether the tap falls inside the input; ``weights(orders)`` gives the taps' weights differentiated
    ``orders[k]`` times with respect to grid coordinate k.

    A point's taps are the outer product of its axes' taps, formed by broadcasting: axis k's arrays are
    shaped (M, 1, ..., t_k, ..., 1).
    """

    def __init__(self, x_shape, grid, mode, padding_mode, align_corners, max_order):
        n, spatial = x_shape[0], x_shape[2:]
        d = len(spatial)
        points = grid.reshape(-1, d)
        m = points.shape[0]
        index = np.repeat(np.arange(n, dtype=np.int64) * int(np.prod(spatial)), m // n).reshape((m,) + (1,) * d)
        valid = np.ones((m,) + (1,) * d, dtype=bool)
        self.axis_weights = []  # per grid coordinate (x, y, z), per derivative order: broadcastable weights
        for k in range(d):  # grid coordinate k moves along spatial axis d - 1 - k
            axis = d - 1 - k
            indices, valids, weights = _axis_taps(points[:, k], spatial[axis], mode, padding_mode, align_corners,
                                                  max_order)
            shape = (m,) + tuple(len(indices) if j == axis else 1 for j in range(d))
            index = index + (np.stack(indices, axis=1).astype(np.int64)
                             * int(np.prod(spatial[axis + 1:]))).reshape(shape)
            valid = valid & np.stack(valids, axis=1).reshape(shape)
            self.axis_weights.append([np.stack(w, axis=1).reshape(shape) for w in weights])
        self.shape = valid.shape
        self.points, self.taps = m, int(np.prod(valid.shape[1:]))
        self.valid = valid.reshape(m, self.taps)
        self.index = np.where(self.valid, index.reshape(m, self.taps), 0)

    def weights(self, orders):
        """(forward weights, scatter weights) for the derivative ``orders``. A tap outside the input reads 0,
        and 0 * weight is NaN where the weight is (a NaN or infinite grid point), so the forward weight keeps
        that NaN, as PyTorch's output and grid gradient do; the scatter weight (the input's gradient) is 0."""
        factors = [weights[order] for weights, order in zip(self.axis_weights, orders)]
        weight = np.broadcast_to(functools.reduce(np.multiply, factors), self.shape).reshape(self.points, self.taps)
        return np.where(self.valid, weight, weight * 0), np.where(self.valid, weight, 0)


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


def _orders(grid, orders):
    return tuple(orders) if orders is not None else (0,) * grid.shape[-1]


def _in_kernels(grid, mode, orders):
    """Whether the numba kernels of ``grid_sample_2d`` sample this: 4-d, bilinear or nearest, plain weights."""
    return (grid.ndim == 4 and mode != "bicubic" and not any(orders)
            and grid.dtype in (np.float32, np.float64))


def grid_sample(x, grid, mode, padding_mode, align_corners, orders=None):
    """The sampled (N, C, *O) output; with derivative ``orders`` (one per grid coordinate), the sample taken
    with the weights' derivatives (what the gradients, and their gradients, are made of)."""
    n, c = x.shape[:2]
    if grid.size == 0:  # no points (or an empty batch): nothing to sample
        return np.zeros((n, c) + grid.shape[1:-1], dtype=x.dtype)
    orders = _orders(grid, orders)
    if _in_kernels(grid, mode, orders) and x.dtype == grid.dtype:
        from . import grid_sample_2d  # numba: compiled on first use

        return grid_sample_2d.sample(x, grid, mode, padding_mode, align_corners)
    taps = _Taps(x.shape, grid, mode, padding_mode, align_corners, max(orders))
    rows = _rows(x)
    out = (_sparse(taps.index, taps.weights(orders)[0], rows.shape[0], x.dtype) @ rows).reshape(n, -1, c)
    return np.moveaxis(out, 2, 1).reshape((n, c) + grid.shape[1:-1]).astype(x.dtype, copy=False)


def grid_sample_transpose(grad, grid, x_shape, mode, padding_mode, align_corners, orders=None):
    """The adjoint of ``grid_sample`` in its input: scatters ``grad`` (N, C, *O) back onto (N, C, *S)."""
    n, c = x_shape[:2]
    if grid.size == 0:
        return np.zeros(x_shape, dtype=grad.dtype)
    orders = _orders(grid, orders)
    if _in_kernels(grid, mode, orders) and grad.dtype == grid.dtype:
        from . import grid_sample_2d  # numba: compiled on first use

        return grid_sample_2d.backward(None, grid, grad, mode, padding_mode, align_corners, tuple(x_shape), True,
                                       False)[0]
    taps = _Taps(x_shape, grid, mode, padding_mode, align_corners, max(orders))
    g = np.ascontiguousarray(np.moveaxis(grad.reshape(n, c, -1), 1, 2)).reshape(-1, c)  # (N * P, C)
    rows = _sparse(taps.index, taps.weights(orders)[1], n * int(np.prod(x_shape[2:])), grad.dtype).T @ g
    return np.moveaxis(rows.reshape(n, -1, c), 2, 1).reshape(x_shape).astype(grad.dtype, copy=False)


def grid_sample_backward(x, grid, grad, mode, padding_mode, align_corners, need_input, need_grid, orders=None):
    """(d loss / d x or None, d loss / d grid or None) of ``grid_sample(x, grid, ..., orders)`` for the upstream
    gradient ``grad`` (N, C, *O), from one set of taps."""
    n, c = x.shape[:2]
    d = grid.shape[-1]
    if grid.size == 0:
        return (np.zeros_like(x) if need_input else None), (np.zeros_like(grid) if need_grid else None)
    orders = _orders(grid, orders)
    if _in_kernels(grid, mode, orders) and x.dtype == grid.dtype == grad.dtype:
        from . import grid_sample_2d  # numba: compiled on first use

        return grid_sample_2d.backward(x, grid, grad, mode, padding_mode, align_corners, x.shape, need_input,
                                       need_grid)
    taps = _Taps(x.shape, grid, mode, padding_mode, align_corners, max(orders) + 1)
    g = np.ascontiguousarray(np.moveaxis(grad.reshape(n, c, -1), 1, 2)).reshape(-1, c)  # (N * P, C)
    grad_x = grad_grid = None
    if need_input:
        grad_rows = _sparse(taps.index, taps.weights(orders)[1], x[:, 0].size, x.dtype).T @ g
        grad_x = np.moveaxis(grad_rows.reshape(n, -1, c), 2, 1).reshape(x.shape).astype(x.dtype, copy=False)
    if need_grid:
        grad_grid = np.zeros((g.shape[0], d), dtype=grid.dtype)
        if mode != "nearest":  # nearest is piecewise constant: a zero gradient, as PyTorch's
            rows = _rows(x)
            for k in range(d):
                # d out / d coord_k, dotted with the upstream gradient over the channels
                weight = taps.weights(tuple(o + (j == k) for j, o in enumerate(orders)))[0]
                grad_grid[:, k] = np.einsum("pc,pc->p", _sparse(taps.index, weight, rows.shape[0], x.dtype) @ rows, g)
        grad_grid = grad_grid.reshape(grid.shape)
    return grad_x, grad_grid
