"""Numpy kernels for the colour operations on (..., C, H, W) arrays.

They compute in float and follow Pillow's definitions (``ImageEnhance``, ``ImageOps``), which are
also torchvision's: a factor blends the image with a degenerate version of itself (black for
brightness, the mean grey for contrast, the greyscale image for saturation, a smoothed image for
sharpness).
"""

from __future__ import annotations

import numpy as np

from ._image import like, max_value, to_float


def grayscale(arr: np.ndarray) -> np.ndarray:
    """ITU-R 601-2 luma (Pillow's ``convert("L")``), keeps a channel axis of size 1 (float result)."""
    x = to_float(arr)
    if x.shape[-3] == 1:
        return x
    if x.shape[-3] not in (3, 4):
        raise TypeError(f"expected an image with 1, 3 or 4 channels, got {x.shape[-3]}")
    return (0.299 * x[..., 0:1, :, :] + 0.587 * x[..., 1:2, :, :] + 0.114 * x[..., 2:3, :, :]).astype(x.dtype)


def blend(arr: np.ndarray, degenerate: np.ndarray, factor: float) -> np.ndarray:
    """``degenerate + factor * (image - degenerate)``, clipped to the dtype's range, in the input's dtype."""
    x = to_float(arr)
    out = degenerate + factor * (x - degenerate)
    return like(np.clip(out, 0.0, max_value(arr.dtype)), arr.dtype)


def _split_alpha(arr: np.ndarray):
    if arr.shape[-3] in (2, 4):
        return arr[..., :-1, :, :], arr[..., -1:, :, :]
    return arr, None


def _merge_alpha(arr: np.ndarray, alpha) -> np.ndarray:
    return arr if alpha is None else np.concatenate([arr, alpha.astype(arr.dtype)], axis=-3)


def adjust_brightness(arr: np.ndarray, factor: float) -> np.ndarray:
    color, alpha = _split_alpha(arr)
    return _merge_alpha(blend(color, np.zeros((), np.float32), factor), alpha)


def adjust_contrast(arr: np.ndarray, factor: float) -> np.ndarray:
    color, alpha = _split_alpha(arr)
    gray = grayscale(color)
    if arr.dtype == np.uint8:  # Pillow takes the mean of the uint8 grey image, rounded
        mean = np.floor(np.rint(gray).mean(axis=(-3, -2, -1), keepdims=True) + 0.5)
    else:
        mean = gray.mean(axis=(-3, -2, -1), keepdims=True)
    return _merge_alpha(blend(color, mean, factor), alpha)


def adjust_saturation(arr: np.ndarray, factor: float) -> np.ndarray:
    color, alpha = _split_alpha(arr)
    if color.shape[-3] == 1:
        return arr
    gray = grayscale(color)
    if arr.dtype == np.uint8:
        gray = np.rint(gray)
    return _merge_alpha(blend(color, gray, factor), alpha)


def adjust_sharpness(arr: np.ndarray, factor: float) -> np.ndarray:
    color, alpha = _split_alpha(arr)
    x = to_float(color)
    h, w = x.shape[-2:]
    if h <= 2 or w <= 2:
        return arr
    # Pillow's SMOOTH filter: [[1, 1, 1], [1, 5, 1], [1, 1, 1]] / 13, border pixels kept
    acc = 4.0 * x[..., 1:-1, 1:-1]
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            acc = acc + x[..., dy:dy + h - 2, dx:dx + w - 2]
    smooth = x.copy()
    smooth[..., 1:-1, 1:-1] = acc / 13.0
    if arr.dtype == np.uint8:
        smooth = np.rint(smooth)
    return _merge_alpha(blend(color, smooth, factor), alpha)


def adjust_gamma(arr: np.ndarray, gamma: float, gain: float = 1.0) -> np.ndarray:
    if gamma < 0:
        raise ValueError(f"gamma must be non-negative, got {gamma}")
    top = max_value(arr.dtype)
    x = to_float(arr) / top
    return like(np.clip(top * gain * x**gamma, 0, top), arr.dtype)


def _rgb_to_hsv(rgb: np.ndarray) -> np.ndarray:
    r, g, b = rgb[..., 0, :, :], rgb[..., 1, :, :], rgb[..., 2, :, :]
    maxc = rgb.max(axis=-3)
    minc = rgb.min(axis=-3)
    eqc = maxc == minc
    cr = maxc - minc
    ones = np.ones_like(maxc)
    s = cr / np.where(eqc, ones, maxc)
    cr_divisor = np.where(eqc, ones, cr)
    rc = (maxc - r) / cr_divisor
    gc = (maxc - g) / cr_divisor
    bc = (maxc - b) / cr_divisor
    hr = (maxc == r) * (bc - gc)
    hg = ((maxc == g) & (maxc != r)) * (2.0 + rc - bc)
    hb = ((maxc != g) & (maxc != r)) * (4.0 + gc - rc)
    h = np.mod((hr + hg + hb) / 6.0 + 1.0, 1.0)
    return np.stack([h, s, maxc], axis=-3)


def _hsv_to_rgb(hsv: np.ndarray) -> np.ndarray:
    h, s, v = hsv[..., 0, :, :], hsv[..., 1, :, :], hsv[..., 2, :, :]
    i = np.floor(h * 6.0)
    f = h * 6.0 - i
    i = i.astype(np.int64) % 6
    p = np.clip(v * (1.0 - s), 0.0, 1.0)
    q = np.clip(v * (1.0 - s * f), 0.0, 1.0)
    t = np.clip(v * (1.0 - s * (1.0 - f)), 0.0, 1.0)
    choices_r = [v, q, p, p, t, v]
    choices_g = [t, v, v, q, p, p]
    choices_b = [p, p, t, v, v, q]
    r = np.choose(i, choices_r)
    g = np.choose(i, choices_g)
    b = np.choose(i, choices_b)
    return np.stack([r, g, b], axis=-3)


def adjust_hue(arr: np.ndarray, hue_factor: float) -> np.ndarray:
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f"hue_factor must be in [-0.5, 0.5], got {hue_factor}")
    color, alpha = _split_alpha(arr)
    if color.shape[-3] == 1:
        return arr
    top = max_value(arr.dtype)
    hsv = _rgb_to_hsv(to_float(color) / top)
    hsv[..., 0, :, :] = np.mod(hsv[..., 0, :, :] + hue_factor, 1.0)
    rgb = _hsv_to_rgb(hsv) * top
    return _merge_alpha(like(rgb, arr.dtype), alpha)


def invert(arr: np.ndarray) -> np.ndarray:
    color, alpha = _split_alpha(arr)
    return _merge_alpha((max_value(arr.dtype) - color).astype(arr.dtype), alpha)


def posterize(arr: np.ndarray, bits: int) -> np.ndarray:
    if arr.dtype != np.uint8:
        raise TypeError(f"posterize expects a uint8 image, got {arr.dtype}")
    mask = np.uint8(-int(2 ** (8 - bits)) & 0xFF)
    return arr & mask


def solarize(arr: np.ndarray, threshold: float) -> np.ndarray:
    color, alpha = _split_alpha(arr)
    return _merge_alpha(np.where(color >= threshold, invert(color), color).astype(arr.dtype), alpha)


def autocontrast(arr: np.ndarray) -> np.ndarray:
    color, alpha = _split_alpha(arr)
    x = to_float(color)
    top = max_value(arr.dtype)
    lo = x.min(axis=(-2, -1), keepdims=True)
    hi = x.max(axis=(-2, -1), keepdims=True)
    same = hi <= lo
    scale = np.where(same, 1.0, top / np.where(same, 1.0, hi - lo))
    out = np.where(same, x, np.clip((x - lo) * scale, 0, top))
    if arr.dtype != np.float32 and arr.dtype.kind != "f":
        out = np.floor(out + 1e-6)  # Pillow's lookup table truncates
    return _merge_alpha(out.astype(arr.dtype), alpha)


def equalize(arr: np.ndarray) -> np.ndarray:
    """Histogram equalisation per channel, exactly as Pillow's ``ImageOps.equalize`` (uint8 only)."""
    if arr.dtype != np.uint8:
        raise TypeError(f"equalize expects a uint8 image, got {arr.dtype}")
    color, alpha = _split_alpha(arr)
    flat = color.reshape(-1, color.shape[-2] * color.shape[-1])
    out = np.empty_like(flat)
    for k, channel in enumerate(flat):
        hist = np.bincount(channel, minlength=256)
        nonzero = hist[hist > 0]
        step = (nonzero.sum() - nonzero[-1]) // 255 if nonzero.size > 1 else 0
        if step == 0:
            out[k] = channel
            continue
        lut = (step // 2 + np.concatenate([[0], np.cumsum(hist)[:-1]])) // step
        out[k] = np.minimum(lut, 255).astype(np.uint8)[channel]
    return _merge_alpha(out.reshape(color.shape), alpha)
