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


# --- torchvision's tensor resampling (torch.nn.functional.interpolate) -------------------------------


def _cubic_075(x: np.ndarray) -> np.ndarray:
    a = -0.75  # torch's non-antialiased bicubic uses A = -0.75 (Pillow and the antialiased path use -0.5)
    x = np.abs(x)
    return np.where(x <= 1.0, ((a + 2.0) * x - (a + 3.0)) * x * x + 1,
                    np.where(x < 2.0, (((x - 5) * x + 8) * x - 4) * a, 0.0))


def interpolate_weights(in_size: int, out_size: int, mode: InterpolationMode, antialias: bool) -> np.ndarray:
    """``(out_size, in_size)`` weights of ``torch.nn.functional.interpolate`` (align_corners=False) on one axis."""
    if mode in (InterpolationMode.NEAREST, InterpolationMode.NEAREST_EXACT):
        # torch computes the scale and the source index in float32: floor(dst * scale) for "nearest"
        scale = np.float32(in_size) / np.float32(out_size)
        dst = np.arange(out_size, dtype=np.float32) + np.float32(mode == InterpolationMode.NEAREST_EXACT) * 0.5
        src = np.minimum(np.floor(dst * scale).astype(np.int64), in_size - 1)
        weights = np.zeros((out_size, in_size))
        weights[np.arange(out_size), src] = 1.0
        return weights
    if antialias:  # torch's _upsample_*_aa is Pillow's separable convolution
        return resample_weights(in_size, out_size, mode, True)
    if mode not in (InterpolationMode.BILINEAR, InterpolationMode.BICUBIC):
        raise ValueError(f"resize: {mode.value} interpolation of tensors needs antialias=True")
    scale = in_size / out_size
    src = scale * (np.arange(out_size) + 0.5) - 0.5
    weights = np.zeros((out_size, in_size))
    rows = np.arange(out_size)
    if mode == InterpolationMode.BILINEAR:
        src = np.maximum(src, 0.0)
        i0 = np.floor(src).astype(np.int64)
        i1 = np.minimum(i0 + 1, in_size - 1)
        frac = src - i0
        np.add.at(weights, (rows, i0), 1.0 - frac)
        np.add.at(weights, (rows, i1), frac)
        return weights
    i0 = np.floor(src).astype(np.int64)
    frac = src - i0
    for k in range(-1, 3):  # the four taps, their indices clamped to the edge
        np.add.at(weights, (rows, np.clip(i0 + k, 0, in_size - 1)), _cubic_075(frac - k))
    return weights


def interpolate(arr: np.ndarray, size: tuple[int, int], mode: InterpolationMode, antialias: bool) -> np.ndarray:
    """Resizes an array (..., C, H, W) as torchvision's tensor ``resize`` does.

    uint8 images take torch's native uint8 path for bilinear and bicubic: the horizontal pass is
    clipped to [0, 255] (and rounded, as Pillow does, when antialiased) before the vertical one.
    """
    h, w = arr.shape[-2:]
    integer = arr.dtype.kind in "ui"
    native_uint8 = arr.dtype == np.uint8 and mode in (InterpolationMode.BILINEAR, InterpolationMode.BICUBIC)

    def weights(in_size: int, out_size: int) -> np.ndarray:
        return interpolate_weights(in_size, out_size, mode, antialias)

    out = arr.astype(np.float64) if integer else arr
    if w != size[1]:
        out = out @ weights(w, size[1]).astype(out.dtype, copy=False).T
        if native_uint8:
            # torch keeps the non-antialiased bicubic pass in higher precision (to within 1 of this)
            out = np.clip(out if mode == InterpolationMode.BICUBIC and not antialias else np.rint(out), 0, 255)
    if h != size[0]:
        wy = weights(h, size[0]).astype(out.dtype, copy=False)
        out = np.swapaxes(np.swapaxes(out, -1, -2) @ wy.T, -1, -2)
    if not integer:
        return out.astype(arr.dtype, copy=False)
    top = np.iinfo(arr.dtype).max
    return np.clip(np.rint(out), np.iinfo(arr.dtype).min, top).astype(arr.dtype)


# --- torchvision's tensor warps (affine_grid + grid_sample, align_corners=False) ---------------------


def affine_output_size(matrix: np.ndarray, w: int, h: int) -> tuple[int, int]:
    """``(h, w)`` of an expanded warp, as torchvision's ``_compute_affine_output_size`` (float32, 1e-4 tol)."""
    pts = np.array([[-0.5 * w, -0.5 * h, 1.0], [-0.5 * w, 0.5 * h, 1.0], [0.5 * w, 0.5 * h, 1.0],
                    [0.5 * w, -0.5 * h, 1.0]], np.float32)
    new_pts = pts @ matrix[:2].astype(np.float32).T
    tol = np.float32(1e-4)
    cmax = np.ceil(np.trunc(new_pts.max(axis=0) / tol) * tol)
    cmin = np.floor(np.trunc(new_pts.min(axis=0) / tol) * tol)
    size = cmax - cmin
    return int(size[1]), int(size[0])


def grid_warp(arr: np.ndarray, matrix: np.ndarray, out_size: tuple[int, int], mode: InterpolationMode,
              fill) -> np.ndarray:
    """Warps an array (..., C, H, W) as torchvision's tensor kernels do.

    ``matrix`` maps output to input in coordinates centred on each image (torchvision's
    ``_get_inverse_affine_matrix``); the grid is built as ``_affine_grid`` builds it, in float32 (or the
    image's float dtype), then sampled by :func:`grid_sample`.
    """
    h, w = arr.shape[-2:]
    oh, ow = out_size
    dtype = arr.dtype if arr.dtype.kind == "f" else np.dtype(np.float32)
    xs = np.linspace(-ow * 0.5 + 0.5, ow * 0.5 + 0.5 - 1, ow).astype(dtype)
    ys = np.linspace(-oh * 0.5 + 0.5, oh * 0.5 + 0.5 - 1, oh).astype(dtype)
    theta = matrix[:2].astype(dtype).T / np.array([0.5 * w, 0.5 * h], dtype)  # (3, 2)
    gx = xs[None, :] * theta[0, 0] + ys[:, None] * theta[1, 0] + theta[2, 0]
    gy = xs[None, :] * theta[0, 1] + ys[:, None] * theta[1, 1] + theta[2, 1]
    return grid_sample(arr, gx, gy, mode, fill)


def identity_grid(h: int, w: int, dtype) -> tuple[np.ndarray, np.ndarray]:
    """torchvision's ``_create_identity_grid``: normalised pixel centres, ``(H, W)`` x and y."""
    xs = np.linspace((-w + 1) / w, (w - 1) / w, w).astype(dtype)
    ys = np.linspace((-h + 1) / h, (h - 1) / h, h).astype(dtype)
    return np.broadcast_to(xs[None, :], (h, w)), np.broadcast_to(ys[:, None], (h, w))


def grid_sample(arr: np.ndarray, gx: np.ndarray, gy: np.ndarray, mode: InterpolationMode, fill) -> np.ndarray:
    """``grid_sample(align_corners=False, padding_mode="zeros")`` of an array (..., C, H, W) at the
    normalised ``(oh, ow)`` coordinates ``gx``, ``gy``, with torchvision's ``_apply_grid_transform`` fill.

    NEAREST rounds half to even and BILINEAR weighs out-of-image neighbours as zeros. With a ``fill``, a
    ones-channel marks the inside and the outside is blended (bilinear) or replaced (nearest) with
    ``fill``; integer results are rounded.
    """
    h, w = arr.shape[-2:]
    oh, ow = gx.shape
    dtype = arr.dtype if arr.dtype.kind == "f" else np.dtype(np.float32)
    img = arr.astype(dtype, copy=False)
    ix = ((gx + 1) * w - 1) / 2  # grid_sampler_compute_source_index, align_corners=False
    iy = ((gy + 1) * h - 1) / 2
    if fill is not None:
        img = np.concatenate([img, np.ones(img.shape[:-3] + (1, h, w), dtype)], axis=-3)
    if mode in (InterpolationMode.NEAREST, InterpolationMode.NEAREST_EXACT):
        xi, yi = np.rint(ix).astype(np.int64), np.rint(iy).astype(np.int64)
        inside = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
        out = np.where(inside, img[..., np.clip(yi, 0, h - 1), np.clip(xi, 0, w - 1)], 0).astype(dtype)
    elif mode == InterpolationMode.BILINEAR:
        x0, y0 = np.floor(ix), np.floor(iy)
        dx, dy = (ix - x0).astype(dtype), (iy - y0).astype(dtype)
        x0, y0 = x0.astype(np.int64), y0.astype(np.int64)
        out = np.zeros(img.shape[:-2] + (oh, ow), dtype)
        for yy, xx, wt in ((y0, x0, (1 - dx) * (1 - dy)), (y0, x0 + 1, dx * (1 - dy)),
                           (y0 + 1, x0, (1 - dx) * dy), (y0 + 1, x0 + 1, dx * dy)):
            inside = (xx >= 0) & (xx < w) & (yy >= 0) & (yy < h)
            out += np.where(inside, img[..., np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1)], 0) * wt
    else:
        raise ValueError(f"only nearest and bilinear interpolation are supported for tensor warps, got {mode.value}")
    if fill is not None:
        out, mask = out[..., :-1, :, :], out[..., -1:, :, :]
        fill_values = np.atleast_1d(np.asarray(fill, dtype)).reshape(-1, 1, 1)
        if mode == InterpolationMode.BILINEAR:
            out = (out - fill_values) * mask + fill_values
        else:
            out = np.where(mask < 0.5, fill_values, out)
    if arr.dtype.kind != "f":
        return np.rint(out).astype(arr.dtype)
    return out.astype(arr.dtype, copy=False)
