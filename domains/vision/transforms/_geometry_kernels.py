"""Numpy kernels for the array path of the geometric transforms.

They follow Pillow's own algorithms, so an ndarray or tensor and the same picture as a PIL image
give the same result (to rounding): resampling is Pillow's separable convolution whose support
grows with the downscale factor (antialiasing), and affine/perspective warps map the centre of each
output pixel through the inverse matrix, as Pillow's ``Image.transform`` does.
"""

from __future__ import annotations

import math

import numpy as np

from ._image import InterpolationMode


def _bicubic(x: np.ndarray) -> np.ndarray:
    a = -0.5
    x = np.abs(x)
    return np.where(
        x < 1.0, ((a + 2.0) * x - (a + 3.0)) * x * x + 1,
        np.where(x < 2.0, (((x - 5) * x + 8) * x - 4) * a, 0.0),
    )


def _lanczos(x: np.ndarray) -> np.ndarray:
    return np.where(np.abs(x) < 3.0, np.sinc(x) * np.sinc(x / 3.0), 0.0)


_FILTERS = {
    InterpolationMode.BOX: (lambda x: ((x > -0.5) & (x <= 0.5)).astype(np.float64), 0.5),
    InterpolationMode.BILINEAR: (lambda x: np.maximum(1.0 - np.abs(x), 0.0), 1.0),
    InterpolationMode.HAMMING: (
        lambda x: np.where(np.abs(x) < 1.0, np.sinc(x) * (0.54 + 0.46 * np.cos(np.pi * x)), 0.0), 1.0),
    InterpolationMode.BICUBIC: (_bicubic, 2.0),
    InterpolationMode.LANCZOS: (_lanczos, 3.0),
}


def resample_weights(in_size: int, out_size: int, mode: InterpolationMode, antialias: bool) -> np.ndarray:
    """``(out_size, in_size)`` matrix of Pillow's resampling coefficients along one axis."""
    scale = in_size / out_size
    if mode in (InterpolationMode.NEAREST, InterpolationMode.NEAREST_EXACT):
        # Pillow samples the source pixel under each output pixel's centre (torchvision's "nearest-exact")
        src = np.floor((np.arange(out_size) + 0.5) * scale).astype(np.int64)
        weights = np.zeros((out_size, in_size))
        weights[np.arange(out_size), np.minimum(src, in_size - 1)] = 1.0
        return weights
    kernel, support = _FILTERS[mode]
    filterscale = max(scale, 1.0) if antialias else 1.0
    support = support * filterscale
    centers = (np.arange(out_size) + 0.5) * scale
    xmin = np.maximum((centers - support + 0.5).astype(np.int64), 0)
    xmax = np.minimum((centers + support + 0.5).astype(np.int64), in_size)
    idx = np.arange(in_size)[None, :]
    w = kernel((idx - centers[:, None] + 0.5) / filterscale)
    w = np.where((idx >= xmin[:, None]) & (idx < xmax[:, None]), w, 0.0)
    total = w.sum(axis=1, keepdims=True)
    return w / np.where(total == 0, 1.0, total)


def resize(arr: np.ndarray, size: tuple[int, int], mode: InterpolationMode, antialias: bool) -> np.ndarray:
    """Resizes a float array (..., C, H, W) to ``size = (h, w)``."""
    h, w = arr.shape[-2:]
    out = arr
    if w != size[1]:
        wx = resample_weights(w, size[1], mode, antialias).astype(arr.dtype, copy=False)
        out = out @ wx.T
    if h != size[0]:
        wy = resample_weights(h, size[0], mode, antialias).astype(arr.dtype, copy=False)
        out = np.swapaxes(np.swapaxes(out, -1, -2) @ wy.T, -1, -2)
    return out


def warp(arr: np.ndarray, matrix: np.ndarray, out_size: tuple[int, int], mode: InterpolationMode,
         fill) -> np.ndarray:
    """Samples a float array (..., C, H, W) at ``matrix @ (x + .5, y + .5, 1)`` for each output pixel.

    ``matrix`` is 3x3 (affine or perspective) mapping output coordinates to input coordinates,
    in Pillow's convention (pixel ``i`` covers ``[i, i + 1)``); outside the input, ``fill`` is used.
    """
    h, w = arr.shape[-2:]
    oh, ow = out_size
    ys, xs = np.meshgrid(np.arange(oh, dtype=np.float64) + 0.5, np.arange(ow, dtype=np.float64) + 0.5,
                         indexing="ij")
    denom = matrix[2, 0] * xs + matrix[2, 1] * ys + matrix[2, 2]
    xin = (matrix[0, 0] * xs + matrix[0, 1] * ys + matrix[0, 2]) / denom
    yin = (matrix[1, 0] * xs + matrix[1, 1] * ys + matrix[1, 2]) / denom
    inside = (xin >= 0) & (xin < w) & (yin >= 0) & (yin < h)
    if mode in (InterpolationMode.NEAREST, InterpolationMode.NEAREST_EXACT):
        xi = np.clip(np.floor(xin), 0, w - 1).astype(np.int64)
        yi = np.clip(np.floor(yin), 0, h - 1).astype(np.int64)
        out = arr[..., yi, xi]
    else:  # bilinear (Pillow's BILINEAR_BODY: neighbours clamped to the edge)
        x = xin - 0.5
        y = yin - 0.5
        x0 = np.floor(x)
        y0 = np.floor(y)
        dx = (x - x0).astype(arr.dtype)
        dy = (y - y0).astype(arr.dtype)
        x0 = x0.astype(np.int64)
        y0 = y0.astype(np.int64)
        xa, xb = np.clip(x0, 0, w - 1), np.clip(x0 + 1, 0, w - 1)
        ya, yb = np.clip(y0, 0, h - 1), np.clip(y0 + 1, 0, h - 1)
        top = arr[..., ya, xa] * (1 - dx) + arr[..., ya, xb] * dx
        bottom = arr[..., yb, xa] * (1 - dx) + arr[..., yb, xb] * dx
        bottom = np.where((y0 + 1 >= 0) & (y0 + 1 < h), bottom, top)
        out = top * (1 - dy) + bottom * dy
    fill_values = fill_array(fill, arr.shape[-3], arr.dtype)
    return np.where(inside, out, fill_values[:, None, None])


def fill_array(fill, channels: int, dtype) -> np.ndarray:
    if fill is None:
        fill = 0
    values = np.atleast_1d(np.asarray(fill, dtype=np.float64))
    if values.size == 1:
        values = np.repeat(values, channels)
    if values.size != channels:
        raise ValueError(f"fill has {values.size} values but the image has {channels} channels")
    return values.astype(dtype)


def pad(arr: np.ndarray, left: int, top: int, right: int, bottom: int, fill, padding_mode: str) -> np.ndarray:
    """Pads the last two axes; negative padding crops (as torchvision)."""
    if min(left, top, right, bottom) < 0:
        h, w = arr.shape[-2:]
        arr = arr[..., max(-top, 0):h - max(-bottom, 0), max(-left, 0):w - max(-right, 0)]
        left, top, right, bottom = (max(v, 0) for v in (left, top, right, bottom))
    widths = [(0, 0)] * (arr.ndim - 2) + [(top, bottom), (left, right)]
    if padding_mode == "constant":
        values = fill_array(fill, arr.shape[-3], arr.dtype)
        out = np.empty(arr.shape[:-2] + (arr.shape[-2] + top + bottom, arr.shape[-1] + left + right), arr.dtype)
        out[...] = values[:, None, None]
        out[..., top:top + arr.shape[-2], left:left + arr.shape[-1]] = arr
        return out
    if padding_mode not in ("edge", "reflect", "symmetric"):
        raise ValueError(f"padding_mode must be constant, edge, reflect or symmetric, got {padding_mode!r}")
    return np.pad(arr, widths, mode=padding_mode)


def gaussian_kernel1d(kernel_size: int, sigma: float) -> np.ndarray:
    half = (kernel_size - 1) * 0.5
    x = np.linspace(-half, half, kernel_size)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


def gaussian_blur(arr: np.ndarray, kernel_size: tuple[int, int], sigma: tuple[float, float]) -> np.ndarray:
    """Separable Gaussian blur with reflect padding, as torchvision's tensor kernel."""
    kx = gaussian_kernel1d(kernel_size[0], sigma[0]).astype(arr.dtype)
    ky = gaussian_kernel1d(kernel_size[1], sigma[1]).astype(arr.dtype)
    px, py = kernel_size[0] // 2, kernel_size[1] // 2
    padded = np.pad(arr, [(0, 0)] * (arr.ndim - 2) + [(py, py), (px, px)], mode="reflect")
    w = arr.shape[-1]
    h = arr.shape[-2]
    horizontal = sum(kx[i] * padded[..., :, i:i + w] for i in range(kernel_size[0]))
    return sum(ky[i] * horizontal[..., i:i + h, :] for i in range(kernel_size[1]))


def perspective_coefficients(startpoints, endpoints) -> np.ndarray:
    """3x3 matrix mapping ``endpoints`` (output) to ``startpoints`` (input), as torchvision."""
    a = np.zeros((8, 8))
    b = np.zeros(8)
    for i, ((sx, sy), (ex, ey)) in enumerate(zip(startpoints, endpoints)):
        a[2 * i] = [ex, ey, 1, 0, 0, 0, -sx * ex, -sx * ey]
        a[2 * i + 1] = [0, 0, 0, ex, ey, 1, -sy * ex, -sy * ey]
        b[2 * i], b[2 * i + 1] = sx, sy
    coeffs = np.linalg.lstsq(a, b, rcond=None)[0]
    return np.append(coeffs, 1.0).reshape(3, 3)


def inverse_affine_matrix(center, angle: float, translate, scale: float, shear) -> np.ndarray:
    """torchvision's ``_get_inverse_affine_matrix``: output -> input for rotation (clockwise, degrees),
    translation, scale and shear about ``center``."""
    rot = math.radians(angle)
    sx, sy = (math.radians(s) for s in shear)
    cx, cy = center
    tx, ty = translate
    a = math.cos(rot - sy) / math.cos(sy)
    b = -math.cos(rot - sy) * math.tan(sx) / math.cos(sy) - math.sin(rot)
    c = math.sin(rot - sy) / math.cos(sy)
    d = -math.sin(rot - sy) * math.tan(sx) / math.cos(sy) + math.cos(rot)
    m = [d, -b, 0.0, -c, a, 0.0]
    m = [v / scale for v in m]
    m[2] += m[0] * (-cx - tx) + m[1] * (-cy - ty)
    m[5] += m[3] * (-cx - tx) + m[4] * (-cy - ty)
    m[2] += cx
    m[5] += cy
    return np.array([m[0:3], m[3:6], [0.0, 0.0, 1.0]])
