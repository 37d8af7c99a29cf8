"""Padding, resampling and patch extraction: ``pad``, ``interpolate``, ``unfold``, ``fold``."""

from __future__ import annotations

import math

import numpy as np

from ...ops._op import Op
from ...tensor import Tensor
from ._utils import ntuple
from .pooling import adaptive_avg_pool1d, adaptive_avg_pool2d

__all__ = ["fold", "interpolate", "pad", "unfold", "upsample", "upsample_bilinear", "upsample_nearest"]


class ConstantPad(Op):
    """Pads (or, with negative amounts, crops) with a constant; ``widths`` is ((before, after), ...)."""

    @staticmethod
    def forward(ctx, a, widths, value):
        ctx.widths = widths
        x = a._data
        shape = tuple(n + lo + hi for n, (lo, hi) in zip(x.shape, widths))
        if any(n < 0 for n in shape):
            raise RuntimeError(f"pad: padding {widths} gives a negative size for input of shape {x.shape}")
        out = np.full(shape, value, dtype=x.dtype)
        src = tuple(slice(max(-lo, 0), n - max(-hi, 0)) for n, (lo, hi) in zip(x.shape, widths))
        dst = tuple(slice(max(lo, 0), m - max(hi, 0)) for m, (lo, hi) in zip(shape, widths))
        out[dst] = x[src]
        return out

    @staticmethod
    def backward(ctx, grad):
        # the gradient of padding is cropping, i.e. padding by the negated widths
        return ConstantPad.apply(grad, tuple((-lo, -hi) for lo, hi in ctx.widths), 0), None, None


def _pad_index(n: int, before: int, after: int, mode: str) -> np.ndarray:
    i = np.arange(-before, n + after)
    if mode == "reflect":
        if before >= n or after >= n:
            raise RuntimeError(
                f"pad: padding ({before}, {after}) must be smaller than the input dimension {n} for reflect mode"
            )
        i = np.abs(i)
        return np.where(i > n - 1, 2 * (n - 1) - i, i)
    if mode == "replicate":
        return np.clip(i, 0, n - 1)
    if before > n or after > n:
        raise RuntimeError(f"pad: padding ({before}, {after}) is larger than the dimension {n} for circular mode")
    return i % n


def pad(input: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pads the last ``len(pad) // 2`` dimensions; ``pad`` lists (left, right) for the last dim first.

    Modes: ``"constant"`` (with ``value``, negative amounts crop), ``"reflect"``, ``"replicate"``,
    ``"circular"``.

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.pad(ember.ones(1, 2), (1, 2), value=0.0)
        tensor([[0., 1., 1., 0., 0.]])
    """
    pad = [int(p) for p in pad]
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ValueError(f"pad: padding {tuple(pad)} must have an even length of at most 2 * {input.ndim}")
    n_dims = len(pad) // 2
    pairs = [(pad[2 * i], pad[2 * i + 1]) for i in range(n_dims)]  # last dimension first
    if mode == "constant":
        widths = [(0, 0)] * (input.ndim - n_dims) + pairs[::-1]
        return ConstantPad.apply(input, tuple(widths), 0.0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"pad: mode {mode!r} is not supported (constant, reflect, replicate, circular)")
    out = input
    for k, (before, after) in enumerate(pairs):
        dim = input.ndim - 1 - k
        if before == 0 and after == 0:
            continue
        if mode == "circular" and (before < 0 or after < 0):
            out = ConstantPad.apply(out, tuple((min(before, 0), min(after, 0)) if d == dim else (0, 0)
                                               for d in range(input.ndim)), 0.0)
            before, after = max(before, 0), max(after, 0)
        index = _pad_index(out.shape[dim], before, after, mode)
        out = out.index_select(dim, Tensor._wrap(index.astype(np.int64)))
    return out


def _source_index(out_size, in_size, scale, mode, align_corners):
    """For each output position: the source coordinate (float for linear modes, index otherwise)."""
    dst = np.arange(out_size, dtype=np.float64)
    if mode == "nearest":
        return np.minimum(np.floor(dst * scale).astype(np.int64), in_size - 1)
    if mode == "nearest-exact":
        return np.minimum(np.floor((dst + 0.5) * scale).astype(np.int64), in_size - 1)
    if align_corners:
        return dst * ((in_size - 1) / (out_size - 1)) if out_size > 1 else np.zeros(out_size)
    return np.maximum((dst + 0.5) * scale - 0.5, 0.0)


def _linear_along(x: Tensor, dim: int, src: np.ndarray) -> Tensor:
    n = x.shape[dim]
    lo = np.floor(src).astype(np.int64)
    lo = np.minimum(lo, n - 1)
    hi = np.minimum(lo + 1, n - 1)
    frac = (src - lo).astype(x._data.dtype)
    shape = [1] * x.ndim
    shape[dim] = -1
    frac = Tensor._wrap(frac.reshape(shape))
    a = x.index_select(dim, Tensor._wrap(lo))
    b = x.index_select(dim, Tensor._wrap(hi))
    return a + (b - a) * frac


def _antialias_weights(in_size: int, out_size: int, scale: float) -> np.ndarray:
    """(out, in) weights of PyTorch's antialiased bilinear resize along one axis (PIL's algorithm): a
    triangle filter widened by the downsampling factor, normalised over the taps inside the input."""
    width = max(scale, 1.0)  # downsampling widens the filter; upsampling keeps plain linear weights
    centers = scale * (np.arange(out_size) + 0.5)
    distance = (np.arange(in_size)[None, :] + 0.5 - centers[:, None]) / width
    weights = np.maximum(0.0, 1.0 - np.abs(distance))
    total = weights.sum(axis=1, keepdims=True)
    return np.divide(weights, total, out=np.zeros_like(weights), where=total != 0)


def _antialias_resize(input: Tensor, out_sizes, scales) -> Tensor:
    """Each spatial axis in turn: a matrix product with its resampling weights (differentiable as such).

    An axis whose size does not change is left as it is, whatever the scale factor, as PyTorch does.
    """
    out = input
    for k, (out_size, scale) in enumerate(zip(out_sizes, scales)):
        dim = 2 + k
        if out_size == input.shape[dim]:
            continue
        weights = _antialias_weights(input.shape[dim], out_size, scale).T.astype(input._data.dtype)
        out = out.movedim(dim, -1).matmul(Tensor._wrap(weights)).movedim(-1, dim)
    return out if out is not input else input.clone()


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest", align_corners: bool | None = None,
                recompute_scale_factor: bool | None = None, antialias: bool = False) -> Tensor:
    """Resizes the spatial dimensions (all after the first two) of ``input``.

    Modes: ``"nearest"``, ``"nearest-exact"``, ``"linear"`` (3-d input), ``"bilinear"`` (4-d input),
    ``"area"``. Give either ``size`` or ``scale_factor``. ``antialias=True`` (bilinear only) widens the
    filter when downsampling so that every input pixel contributes, as PyTorch and PIL do.

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.interpolate(ember.ones(1, 1, 2, 2), scale_factor=2, mode="bilinear").shape
        ember.Size([1, 1, 4, 4])
    """
    spatial = input.ndim - 2
    if spatial < 1:
        raise ValueError(f"interpolate: expected an input with at least 3 dims, got shape {tuple(input.shape)}")
    if antialias and (mode != "bilinear" or input.ndim != 4):
        raise ValueError("Anti-alias option is restricted to bilinear mode (PyTorch's bicubic and lanczos "
                         "are not in Ember) and requires a 4-D tensor as input; got mode "
                         f"{mode!r} and an input of shape {tuple(input.shape)}")
    linear_modes = {"linear": 1, "bilinear": 2}
    if mode in linear_modes and spatial != linear_modes[mode]:
        raise ValueError(f"interpolate: mode {mode!r} expects a {linear_modes[mode] + 2}-d input, "
                         f"got shape {tuple(input.shape)}")
    if mode not in ("nearest", "nearest-exact", "linear", "bilinear", "area"):
        raise NotImplementedError(f"interpolate: mode {mode!r} is not supported")
    if align_corners is not None and mode not in linear_modes:
        raise ValueError("align_corners option can only be set with the interpolating modes: linear | bilinear")
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: exactly one of size and scale_factor must be defined")
    in_sizes = tuple(input.shape[2:])
    if size is not None:
        out_sizes = ntuple(size, spatial, "size")
        scales = [i / o for i, o in zip(in_sizes, out_sizes)]
    else:
        factors = [float(f) for f in (scale_factor if isinstance(scale_factor, (tuple, list))
                                      else [scale_factor] * spatial)]
        out_sizes = tuple(math.floor(i * f) for i, f in zip(in_sizes, factors))
        scales = ([i / o for i, o in zip(in_sizes, out_sizes)] if recompute_scale_factor
                  else [1.0 / f for f in factors])
    if mode == "area":
        return (adaptive_avg_pool1d if spatial == 1 else adaptive_avg_pool2d)(input, out_sizes)
    if antialias:
        if align_corners:
            scales = [(i - 1) / (o - 1) if o > 1 else 0.0 for i, o in zip(in_sizes, out_sizes)]
        return _antialias_resize(input, out_sizes, scales)
    out = input
    for k in range(spatial):
        dim = 2 + k
        src = _source_index(out_sizes[k], in_sizes[k], scales[k], mode, bool(align_corners))
        if mode in linear_modes:
            out = _linear_along(out, dim, src)
        else:
            out = out.index_select(dim, Tensor._wrap(src))
    return out


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Deprecated alias of ``interpolate``."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


class Unfold(Op):
    @staticmethod
    def forward(ctx, a, kernel_size, dilation, padding, stride):
        from ...kernels import conv as kernels  # numba loads on first use, not at `import ember`

        x = a._data
        n, c, h, w = x.shape
        (kh, kw), (dh, dw), (ph, pw), (sh, sw) = kernel_size, dilation, padding, stride
        oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
        ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
        if oh <= 0 or ow <= 0:
            raise RuntimeError(f"unfold: input of shape {x.shape} is too small for kernel_size {kernel_size}")
        ctx.args = ((h, w), kernel_size, dilation, padding, stride)
        return kernels.im2col(x, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow).reshape(n, c * kh * kw, oh * ow)

    @staticmethod
    def backward(ctx, grad):
        return Fold.apply(grad, *ctx.args), None, None, None, None


class Fold(Op):
    @staticmethod
    def forward(ctx, a, output_size, kernel_size, dilation, padding, stride):
        from ...kernels import conv as kernels  # numba loads on first use, not at `import ember`

        x = a._data
        (h, w), (kh, kw), (dh, dw), (ph, pw), (sh, sw) = output_size, kernel_size, dilation, padding, stride
        oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
        ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
        n, ckk, blocks = x.shape
        if ckk % (kh * kw) or blocks != oh * ow:
            raise RuntimeError(
                f"fold: expected input of shape (N, C * {kh * kw}, {oh * ow}) for output_size {output_size} and "
                f"kernel_size {kernel_size}, got {x.shape}"
            )
        ctx.args = (kernel_size, dilation, padding, stride)
        cols = np.ascontiguousarray(x).reshape(n, ckk // (kh * kw), kh, kw, oh, ow)
        return kernels.col2im(cols, h, w, sh, sw, ph, pw, dh, dw)

    @staticmethod
    def backward(ctx, grad):
        return Unfold.apply(grad, *ctx.args), None, None, None, None, None


def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Extracts sliding blocks: (N, C, H, W) -> (N, C * KH * KW, L) (im2col).

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.unfold(ember.ones(1, 2, 4, 4), kernel_size=2).shape
        ember.Size([1, 8, 9])
    """
    batched = input.ndim == 4
    if input.ndim not in (3, 4):
        raise RuntimeError(f"unfold: expected a 3-d or 4-d input, got shape {tuple(input.shape)}")
    x = input if batched else input.unsqueeze(0)
    out = Unfold.apply(x, ntuple(kernel_size, 2), ntuple(dilation, 2), ntuple(padding, 2), ntuple(stride, 2))
    return out if batched else out.squeeze(0)


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Sums sliding blocks back into an image: (N, C * KH * KW, L) -> (N, C, H, W) (col2im).

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.fold(ember.ones(1, 8, 9), output_size=(4, 4), kernel_size=2).shape
        ember.Size([1, 2, 4, 4])
    """
    batched = input.ndim == 3
    if input.ndim not in (2, 3):
        raise RuntimeError(f"fold: expected a 2-d or 3-d input, got shape {tuple(input.shape)}")
    x = input if batched else input.unsqueeze(0)
    out = Fold.apply(x, ntuple(output_size, 2), ntuple(kernel_size, 2), ntuple(dilation, 2), ntuple(padding, 2),
                     ntuple(stride, 2))
    return out if batched else out.squeeze(0)
