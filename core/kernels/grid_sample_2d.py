"""``grid_sample`` of a 4-d input, bilinear or nearest, and its gradients: loops over the points, as ATen's
``grid_sampler_2d`` CPU kernel.

Every padding mode and both ``align_corners``. ``x`` is (N, C, H, W) and ``grid`` (N, H_out, W_out, 2) with
x (along W) before y (along H); both float32 or float64, computed in their dtype. Each axis's constants
(``_axes``) are an array of that dtype, so that the arithmetic stays in it (numba would widen float32 with a
Python number to float64) and rounds as PyTorch's does.

The forward runs over (image, output row) pieces; the backward over whole images, so that no two pieces add
into the same part of the input's gradient. Where a tap falls outside the input (zeros padding) it reads 0,
and 0 times a NaN weight (a NaN or infinite grid point) is NaN, as in PyTorch's output and grid gradient.
"""

from __future__ import annotations

import functools

import numba
import numpy as np

from ._threads import split

PADDINGS = {"zeros": 0, "border": 1, "reflection": 2}
# elements of the largest array from which a call runs on every thread (about 0.1 ms of one-thread work)
_WORK = 1 << 13


@functools.lru_cache(maxsize=64)
def _axes(height, width, align_corners, dtype):
    """The constants of the x axis (row 0) and the y axis (row 1): (scale, shift, largest index, reflection's
    low end, twice its span, 1), with pixel = (coord + 1) * scale - shift (ATen's ``ComputeLocationBase``).
    Shared between calls: read only."""
    rows = []
    for size in (width, height):
        if align_corners:  # -1 and 1 are the centres of the corner pixels
            rows.append(((size - 1) / 2, 0.0, size - 1, 0.0, 2 * (size - 1), 1.0))
        else:  # -1 and 1 are the outer edges of the corner pixels
            rows.append((size / 2, 0.5, size - 1, -0.5, 2 * size, 1.0))
    axes = np.array(rows, dtype=dtype)
    axes.flags.writeable = False
    return axes


@numba.njit(cache=True, nogil=True, inline="always")
def _pixel(coord, axis, padding):
    """The pixel coordinate of a grid coordinate after the padding mode, and d pixel / d coord. Border
    clamps to [0, size - 1] (NaN to 0), reflection reflects about the borders first; a clamped coordinate
    has a zero gradient, on the border too (ATen's convention)."""
    scale, shift, last, low, twice_span, one = axis[0], axis[1], axis[2], axis[3], axis[4], axis[5]
    zero = one - one
    pixel = (coord + one) * scale - shift
    grad = scale
    if padding == 0:
        return pixel, grad
    if padding == 2:
        if twice_span == zero:  # a single pixel with align_corners: nothing to reflect about
            return zero, zero
        shifted = pixel - low
        distance = np.abs(shifted)
        extra = distance - np.trunc(distance / twice_span) * twice_span
        flipped = twice_span - extra
        if extra > flipped:  # an odd number of flips: the gradient's sign turns
            pixel = flipped + low
            grad = -grad if shifted >= zero else grad
        else:
            pixel = extra + low
            grad = -grad if shifted < zero else grad
    if pixel > zero and pixel < last:
        return pixel, grad
    if pixel >= last:
        return last, zero
    return zero, zero  # below 0, or NaN


def sample(x, grid, mode, padding_mode, align_corners):
    """The (N, C, H_out, W_out) sample of ``x`` at ``grid``."""
    x, grid = np.ascontiguousarray(x), np.ascontiguousarray(grid)
    n, c, height, width = x.shape
    rows = grid.shape[1]
    axes = _axes(height, width, align_corners, x.dtype)
    out = np.empty((n, c) + grid.shape[1:3], dtype=x.dtype)
    kernel = _sample_nearest if mode == "nearest" else _sample_bilinear
    kernel(n * rows, x, grid, out, axes, PADDINGS[padding_mode])
    return out


def backward(x, grid, grad, mode, padding_mode, align_corners, input_shape, need_input, need_grid):
    """(d loss / d x or None, d loss / d grid or None) for the upstream gradient ``grad`` (N, C, H_out, W_out).
    ``x`` is read only for the grid's gradient (it may be None otherwise); ``input_shape`` is (N, C, H, W)."""
    grid, grad = np.ascontiguousarray(grid), np.ascontiguousarray(grad)
    n, _, height, width = input_shape
    dtype = grad.dtype
    axes = _axes(height, width, align_corners, dtype)
    grad_x = np.zeros(input_shape, dtype=dtype) if need_input else None
    grad_grid = np.zeros(grid.shape, dtype=dtype) if need_grid else None
    if mode == "nearest":  # piecewise constant: the grid's gradient is zero, as PyTorch's
        if need_input:
            _scatter_nearest(n, grid, grad, grad_x, axes, PADDINGS[padding_mode])
        return grad_x, grad_grid
    x = np.ascontiguousarray(x) if need_grid else np.empty((0, 0, 0, 0), dtype)
    _sample_bilinear_backward(n, x, grid, grad, grad_x if need_input else np.empty((0, 0, 0, 0), dtype),
                              grad_grid if need_grid else np.empty((0, 0, 0, 2), dtype), axes,
                              PADDINGS[padding_mode], height, width, need_input, need_grid)
    return grad_x, grad_grid


@numba.njit(cache=True, nogil=True, inline="always")
def _corners(grid, n, i, j, axes, padding, height, width):
    """Bilinear sampling's setup for grid point (n, i, j): the distances to the west / north corner and their
    complements, the four corners' weights, which corners are inside (tested on
    the floats, so a NaN is never inside, before any cast), the integer corner, and the pixel coordinates'
    derivatives with respect to the grid."""
    px, gx_mult = _pixel(grid[n, i, j, 0], axes[0], padding)
    py, gy_mult = _pixel(grid[n, i, j, 1], axes[1], padding)
    left, top = np.floor(px), np.floor(py)
    w, nn = px - left, py - top  # (west, east) x (north, south) distances
    e, s = axes[0, 5] - w, axes[1, 5] - nn
    in_w, in_e = left >= 0 and left < width, left >= -1 and left < width - 1
    in_n, in_s = top >= 0 and top < height, top >= -1 and top < height - 1
    ix = int(left) if in_w or in_e else 0
    iy = int(top) if in_n or in_s else 0
    return w, nn, e, s, s * e, s * w, nn * e, nn * w, in_w, in_e, in_n, in_s, ix, iy, gx_mult, gy_mult


@split(_WORK)
def _sample_bilinear(x, grid, out, axes, padding, start, stop):
    channels, height, width = x.shape[1], x.shape[2], x.shape[3]
    rows, cols = grid.shape[1], grid.shape[2]
    zero = axes[0, 5] - axes[0, 5]
    for item in range(start, stop):
        n, i = item // rows, item % rows
        for j in range(cols):
            _, _, _, _, nw, ne, sw, se, in_w, in_e, in_n, in_s, ix, iy, _, _ = _corners(
                grid, n, i, j, axes, padding, height, width)
            for c in range(channels):
                v_nw = x[n, c, iy, ix] if in_n and in_w else zero
                v_ne = x[n, c, iy, ix + 1] if in_n and in_e else zero
                v_sw = x[n, c, iy + 1, ix] if in_s and in_w else zero
                v_se = x[n, c, iy + 1, ix + 1] if in_s and in_e else zero
                out[n, c, i, j] = v_nw * nw + v_ne * ne + v_sw * sw + v_se * se


@numba.njit(cache=True, nogil=True, inline="always")
def _nearest(grid, n, i, j, axes, padding, height, width):
    """Nearest sampling's pixel for grid point (n, i, j): whether it is inside (tested on the floats, so a NaN
    is never inside, before any cast) and its integer position (0, 0 when outside)."""
    px, _ = _pixel(grid[n, i, j, 0], axes[0], padding)
    py, _ = _pixel(grid[n, i, j, 1], axes[1], padding)
    rx, ry = np.rint(px), np.rint(py)  # half to even, as C's nearbyint
    inside = rx >= 0 and rx < width and ry >= 0 and ry < height
    return inside, int(rx) if inside else 0, int(ry) if inside else 0


@split(_WORK)
def _sample_nearest(x, grid, out, axes, padding, start, stop):
    channels, height, width = x.shape[1], x.shape[2], x.shape[3]
    rows, cols = grid.shape[1], grid.shape[2]
    zero = axes[0, 5] - axes[0, 5]
    for item in range(start, stop):
        n, i = item // rows, item % rows
        for j in range(cols):
            inside, ix, iy = _nearest(grid, n, i, j, axes, padding, height, width)
            if inside:
                for c in range(channels):
                    out[n, c, i, j] = x[n, c, iy, ix]
            else:
                for c in range(channels):
                    out[n, c, i, j] = zero


@split(_WORK)
def _scatter_nearest(grid, grad, grad_x, axes, padding, start, stop):
    channels, height, width = grad_x.shape[1], grad_x.shape[2], grad_x.shape[3]
    rows, cols = grid.shape[1], grid.shape[2]
    for n in range(start, stop):
        for i in range(rows):
            for j in range(cols):
                inside, ix, iy = _nearest(grid, n, i, j, axes, padding, height, width)
                if inside:
                    for c in range(channels):
                        grad_x[n, c, iy, ix] += grad[n, c, i, j]


@split(_WORK)
def _sample_bilinear_backward(x, grid, grad, grad_x, grad_grid, axes, padding, height, width, need_input,
                              need_grid, start, stop):
    channels = grad.shape[1]
    rows, cols = grid.shape[1], grid.shape[2]
    zero = axes[0, 5] - axes[0, 5]
    for n in range(start, stop):
        for i in range(rows):
            for j in range(cols):
                w, nn, e, s, nw, ne, sw, se, in_w, in_e, in_n, in_s, ix, iy, gx_mult, gy_mult = _corners(
                    grid, n, i, j, axes, padding, height, width)
                gx, gy = zero, zero
                for c in range(channels):
                    g = grad[n, c, i, j]
                    if need_input:  # d out / d x: the corner weights, scattered to the taps inside
                        if in_n and in_w:
                            grad_x[n, c, iy, ix] += nw * g
                        if in_n and in_e:
                            grad_x[n, c, iy, ix + 1] += ne * g
                        if in_s and in_w:
                            grad_x[n, c, iy + 1, ix] += sw * g
                        if in_s and in_e:
                            grad_x[n, c, iy + 1, ix + 1] += se * g
                    if need_grid:  # d out / d pixel: differences of the corner values across each axis
                        v_nw = x[n, c, iy, ix] if in_n and in_w else zero
                        v_ne = x[n, c, iy, ix + 1] if in_n and in_e else zero
                        v_sw = x[n, c, iy + 1, ix] if in_s and in_w else zero
                        v_se = x[n, c, iy + 1, ix + 1] if in_s and in_e else zero
                        gx += ((v_ne - v_nw) * s + (v_se - v_sw) * nn) * g
                        gy += ((v_sw - v_nw) * e + (v_se - v_ne) * w) * g
                if need_grid:
                    grad_grid[n, i, j, 0] = gx * gx_mult
                    grad_grid[n, i, j, 1] = gy * gy_mult
