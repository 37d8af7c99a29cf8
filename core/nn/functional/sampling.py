"""Padding, resampling and patch extraction: ``pad``, ``interpolate``, ``grid_sample`` / ``affine_grid``,
the pixel and channel shuffles, ``unfold``, ``fold``."""

from __future__ import annotations

import math
import warnings

import numpy as np

from ...autograd.grad_mode import is_grad_enabled
from ...ops._op import Op, _not_implemented_for
from ...ops.joining import stack
from ...tensor import Tensor
from ._utils import ntuple
from .pooling import adaptive_avg_pool1d, adaptive_avg_pool2d

__all__ = ["GRID_SAMPLE_INTERPOLATION_MODES", "GRID_SAMPLE_PADDING_MODES", "affine_grid", "channel_shuffle", "fold",
           "grid_sample", "interpolate", "native_channel_shuffle", "pad", "pixel_shuffle", "pixel_unshuffle",
           "unfold", "upsample", "upsample_bilinear", "upsample_nearest"]


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


_NUMPY_PAD_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


class EdgePad(Op):
    """Reflect / replicate / circular padding by ``widths`` ((before, after) >= 0 per dimension): a copy of
    the input with its border values repeated (``np.pad``, one pass). Its gradient folds the padded borders
    back onto the positions they were copied from (``EdgePadFold``): slice additions and one copy, where
    gathering through an index (``index_select``'s scatter-add) took several times torch's time."""

    @staticmethod
    def forward(ctx, a, widths, mode):
        ctx.args = (widths, mode)
        return np.pad(a._data, widths, mode=_NUMPY_PAD_MODES[mode])

    @staticmethod
    def backward(ctx, grad):
        return EdgePadFold.apply(grad, *ctx.args), None, None


class EdgePadFold(Op):
    """The adjoint of ``EdgePad``: each border position's value added to the input position it copies."""

    @staticmethod
    def forward(ctx, g, widths, mode):
        ctx.args = (widths, mode)
        out = g._data.copy()
        for dim, (before, after) in enumerate(widths):
            if before == 0 and after == 0:
                continue
            view = np.moveaxis(out, dim, 0)  # the borders of the dims folded so far are left behind
            n = view.shape[0] - before - after
            inner, left, right = view[before:before + n], view[:before], view[before + n:]
            if mode == "reflect":  # position p < before copies input position before - p; the right mirrors
                inner[1:before + 1] += left[::-1]
                inner[n - 1 - after:n - 1] += right[::-1]
            elif mode == "replicate":
                inner[:1] += left.sum(axis=0, keepdims=True)
                inner[n - 1:] += right.sum(axis=0, keepdims=True)
            else:  # circular: the left border copies the last ``before`` positions, the right the first ``after``
                inner[n - before:] += left
                inner[:after] += right
            out = np.moveaxis(inner, 0, dim)
        return np.ascontiguousarray(out)

    @staticmethod
    def backward(ctx, grad):
        return EdgePad.apply(grad, *ctx.args), None, None


def _check_pad(n: int, before: int, after: int, mode: str) -> None:
    """PyTorch's errors for padding a dimension of size ``n`` by more than ``mode`` allows."""
    if mode == "reflect" and (before >= n or after >= n):
        raise RuntimeError(
            f"pad: padding ({before}, {after}) must be smaller than the input dimension {n} for reflect mode"
        )
    if mode == "circular" and (before > n or after > n):
        raise RuntimeError(f"pad: padding ({before}, {after}) is larger than the dimension {n} for circular mode")


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
    widths = [(0, 0)] * input.ndim
    for k, (before, after) in enumerate(pairs):
        dim = input.ndim - 1 - k
        if mode == "circular" and (before < 0 or after < 0):
            out = ConstantPad.apply(out, tuple((min(before, 0), min(after, 0)) if d == dim else (0, 0)
                                               for d in range(input.ndim)), 0.0)
            before, after = max(before, 0), max(after, 0)
        _check_pad(out.shape[dim], before, after, mode)
        widths[dim] = (before, after)
    return out if all(w == (0, 0) for w in widths) else EdgePad.apply(out, tuple(widths), mode)


def _source_index(out_size, in_size, scale, mode, align_corners):
    """For each output position: the source coordinate (float for linear and cubic modes, index otherwise).

    ``scale`` is input size / output size, or 1 / scale_factor when the caller gave one (ATen's
    ``area_pixel_compute_scale``); cubic keeps negative coordinates, linear clamps them to 0.
    """
    dst = np.arange(out_size, dtype=np.float64)
    if mode == "nearest":
        return np.minimum(np.floor(dst * scale).astype(np.int64), in_size - 1)
    if mode == "nearest-exact":
        return np.minimum(np.floor((dst + 0.5) * scale).astype(np.int64), in_size - 1)
    if align_corners:
        return dst * ((in_size - 1) / (out_size - 1)) if out_size > 1 else np.zeros(out_size)
    src = (dst + 0.5) * scale - 0.5
    return src if mode == "bicubic" else np.maximum(src, 0.0)


def _along(x: Tensor, dim: int, values: np.ndarray) -> Tensor:
    """``values`` (one per position along ``dim``) as a tensor that broadcasts against ``x`` there."""
    shape = [1] * x.ndim
    shape[dim] = -1
    return Tensor._wrap(values.astype(x._data.dtype).reshape(shape))


def _linear_along(x: Tensor, dim: int, src: np.ndarray) -> Tensor:
    n = x.shape[dim]
    lo = np.minimum(np.floor(src).astype(np.int64), n - 1)
    hi = np.minimum(lo + 1, n - 1)
    frac = _along(x, dim, src - lo)
    a = x.index_select(dim, Tensor._wrap(lo))
    b = x.index_select(dim, Tensor._wrap(hi))
    return a + (b - a) * frac


def _cubic_coefficients(t: np.ndarray, a: float) -> list[np.ndarray]:
    """Cubic-convolution weights of the taps at offsets -1, 0, 1, 2 from floor(src), t = src - floor(src)."""

    def near(s):  # |s| <= 1
        return ((a + 2) * s - (a + 3)) * s * s + 1

    def far(s):  # 1 < |s| < 2
        return ((a * s - 5 * a) * s + 8 * a) * s - 4 * a

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def _cubic_along(x: Tensor, dim: int, src: np.ndarray) -> Tensor:
    """Bicubic resampling along one axis: four taps, clamped to the input (ATen's ``upsample_bicubic2d``,
    which is separable: the 2-D result is this applied along H, then W)."""
    n = x.shape[dim]
    lo = np.floor(src)
    out = None
    for k, weight in enumerate(_cubic_coefficients(src - lo, -0.75)):
        index = np.clip(lo.astype(np.int64) + k - 1, 0, n - 1)
        term = x.index_select(dim, Tensor._wrap(index)) * _along(x, dim, weight)
        out = term if out is None else out + term
    return out


def _area_weights(in_size: int, out_size: int) -> np.ndarray:
    """(out, in) weights of adaptive average pooling along one axis: the mean over
    [floor(i * in / out), ceil((i + 1) * in / out))."""
    i = np.arange(out_size)
    start = (i * in_size) // out_size
    end = -((-(i + 1) * in_size) // out_size)
    j = np.arange(in_size)
    inside = (j[None, :] >= start[:, None]) & (j[None, :] < end[:, None])
    return inside / (end - start)[:, None]


def _triangle(x: np.ndarray) -> np.ndarray:
    return np.maximum(0.0, 1.0 - np.abs(x))


def _keys_cubic(x: np.ndarray) -> np.ndarray:
    """The cubic filter with a = -0.5 (Keys 1981) that PIL and PyTorch's antialiased bicubic use."""
    x = np.abs(x)
    a = -0.5
    return np.where(x < 1, ((a + 2) * x - (a + 3)) * x * x + 1,
                    np.where(x < 2, (((x - 5) * x + 8) * x - 4) * a, 0.0))


def _lanczos3(x: np.ndarray) -> np.ndarray:
    """The Lanczos window of three lobes, sinc(x) sinc(x / 3) for |x| < 3 (PIL's LANCZOS)."""
    return np.where(np.abs(x) < 3, np.sinc(x) * np.sinc(x / 3), 0.0)


# the antialiasing filters and their support (half-width, in input pixels before widening)
_ANTIALIAS_FILTERS = {"bilinear": (_triangle, 1.0), "bicubic": (_keys_cubic, 2.0), "lanczos": (_lanczos3, 3.0)}


def _antialias_weights(in_size: int, out_size: int, scale: float, mode: str = "bilinear") -> np.ndarray:
    """(out, in) weights of PyTorch's antialiased resize along one axis (PIL's algorithm): the mode's filter
    widened by the downsampling factor, normalised over the taps inside the input."""
    filter_fn, _ = _ANTIALIAS_FILTERS[mode]
    width = max(scale, 1.0)  # downsampling widens the filter; upsampling keeps the plain filter
    centers = scale * (np.arange(out_size) + 0.5)
    weights = filter_fn((np.arange(in_size)[None, :] + 0.5 - centers[:, None]) / width)
    total = weights.sum(axis=1, keepdims=True)
    return np.divide(weights, total, out=np.zeros_like(weights), where=total != 0)


def _resize_by_matrices(input: Tensor, out_sizes, weights_of) -> Tensor:
    """Each spatial axis in turn: a matrix product with its (out, in) resampling weights, which makes the
    resize differentiable as such. An axis whose size does not change is left as it is."""
    out = input
    for k, out_size in enumerate(out_sizes):
        dim = 2 + k
        if out_size == input.shape[dim]:
            continue
        weights = weights_of(k, input.shape[dim], out_size).T.astype(input._data.dtype)
        out = out.movedim(dim, -1).matmul(Tensor._wrap(weights)).movedim(-1, dim)
    return out if out is not input else input.clone()


def _antialias_resize(input: Tensor, out_sizes, scales, mode: str = "bilinear") -> Tensor:
    """Antialiased resize; an axis whose size does not change is left as it is, whatever the scale factor,
    as PyTorch does."""
    return _resize_by_matrices(input, out_sizes, lambda k, n_in, n_out: _antialias_weights(n_in, n_out, scales[k],
                                                                                            mode))


_MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "lanczos", "area", "nearest-exact")
# the spatial dims each interpolating mode needs
_LINEAR_DIMS = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3, "lanczos": 2}


def _check_mode(input: Tensor, mode: str, antialias: bool) -> None:
    """PyTorch's errors for a mode that does not fit the input's number of dimensions."""
    if antialias and not (mode in ("bilinear", "bicubic", "lanczos") and input.ndim == 4):
        raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos modes and requires a "
                         f"4-D tensor as input; got mode {mode!r} and an input of shape "
                         f"{tuple(input.shape)}")
    needs = _LINEAR_DIMS.get(mode)
    if mode in _MODES and 3 <= input.ndim <= 5 and (needs is None or needs == input.ndim - 2):
        return
    if needs is not None and 3 <= input.ndim <= 5 and mode not in ("bicubic", "lanczos"):
        raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs {needs + 2}D input")
    raise NotImplementedError(
        f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.ndim}D) for the modes: nearest | "
        f"linear | bilinear | bicubic | trilinear | lanczos | area | nearest-exact (got {mode})")


def _output_sizes(input: Tensor, size, scale_factor, recompute_scale_factor):
    """Output sizes and the scales the kernels use (None where they derive it from the sizes)."""
    spatial = input.ndim - 2
    in_sizes = list(input.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is None and scale_factor is None:
        raise ValueError("either size or scale_factor should be defined (give exactly one of them)")
    if recompute_scale_factor and size is not None:
        raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    if size is not None:
        if isinstance(size, (list, tuple)):
            if len(size) != spatial:
                raise ValueError(
                    "Input and output must have the same number of spatial dimensions, but got input with spatial "
                    f"dimensions of {in_sizes} and output size of {size}. Please provide input tensor in (N, C, d1, "
                    "d2, ...,dK) format and output size in (o1, o2, ...,oK) format.")
            if not all(isinstance(s, (int, np.integer)) or (isinstance(s, Tensor) and not s.is_floating_point())
                       for s in size):
                raise TypeError("expected size to be one of int or Tuple[int] or Tuple[int, int] or Tuple[int, int, "
                                f"int], but got size with types {[type(s) for s in size]}")
            return [int(s) for s in size], [None] * spatial
        return [int(size)] * spatial, [None] * spatial
    if isinstance(scale_factor, (list, tuple)):
        if len(scale_factor) != spatial:
            raise ValueError(
                "Input and scale_factor must have the same number of spatial dimensions, but got input with "
                f"spatial dimensions of {in_sizes} and scale_factor of shape {scale_factor}. Please provide input "
                "tensor in (N, C, d1, d2, ...,dK) format and scale_factor in (s1, s2, ...,sK) format.")
        factors = [float(f) for f in scale_factor]
    else:
        factors = [float(scale_factor)] * spatial
    out_sizes = [math.floor(i * f) for i, f in zip(in_sizes, factors)]
    # recomputed: the kernels see only the output size, as if it had been given
    return out_sizes, ([None] * spatial if recompute_scale_factor else factors)


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest", align_corners: bool | None = None,
                recompute_scale_factor: bool | None = None, antialias: bool = False) -> Tensor:
    """Resizes the spatial dimensions (all after the first two) of ``input``.

    Modes: ``"nearest"`` and ``"nearest-exact"`` (3-, 4- or 5-d input), ``"linear"`` (3-d), ``"bilinear"``
    and ``"bicubic"`` (4-d; cubic convolution with a = -0.75, taps clamped to the border), ``"trilinear"``
    (5-d), ``"area"`` (adaptive average pooling, 3- to 5-d). Give either ``size`` or ``scale_factor``; with
    ``recompute_scale_factor=True`` the output size computed from ``scale_factor`` is used as if it had been
    given. ``antialias=True`` (bilinear and bicubic; bicubic then uses PIL's a = -0.5) widens the filter when
    downsampling so that every input pixel contributes, as PyTorch and PIL do; ``"lanczos"`` (4-d, three lobes)
    exists only so.

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.interpolate(ember.ones(1, 1, 2, 2), scale_factor=2, mode="bicubic").shape
        ember.Size([1, 1, 4, 4])
    """
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating modes: "
                             "linear | bilinear | bicubic | trilinear")
    _check_mode(input, mode, antialias)
    if any(n == 0 for n in input.shape[2:]):
        raise RuntimeError(f"interpolate: input of shape {tuple(input.shape)} has an empty spatial dimension")
    align_corners = bool(align_corners)
    if mode == "lanczos" and align_corners:
        raise ValueError("Lanczos mode does not support align_corners=True")
    if mode == "lanczos" and not antialias:
        raise ValueError("Lanczos mode requires antialias=True")
    out_sizes, factors = _output_sizes(input, size, scale_factor, recompute_scale_factor)
    if any(o <= 0 for o in out_sizes):
        raise RuntimeError(f"interpolate: input of shape {tuple(input.shape)} gives output sizes {out_sizes}; "
                           "they should be greater than 0")
    in_sizes = list(input.shape[2:])
    if mode == "area":  # (torch ignores any scale factor here: the output size alone decides)
        if input.ndim == 3:
            return adaptive_avg_pool1d(input, out_sizes)
        if input.ndim == 4:
            return adaptive_avg_pool2d(input, out_sizes)
        return _resize_by_matrices(input, out_sizes, lambda k, n_in, n_out: _area_weights(n_in, n_out))
    # ATen's area_pixel_compute_scale: align_corners spans the corner pixels; otherwise 1 / scale_factor where
    # one was given and kept, else input size / output size
    scales = [1.0 / f if f is not None and f > 0 else i / o for i, o, f in zip(in_sizes, out_sizes, factors)]
    if antialias:
        if align_corners:
            scales = [(i - 1) / (o - 1) if o > 1 else 0.0 for i, o in zip(in_sizes, out_sizes)]
        return _antialias_resize(input, out_sizes, scales, mode)
    out = input
    for k in range(input.ndim - 2):
        dim = 2 + k
        src = _source_index(out_sizes[k], in_sizes[k], scales[k], mode, align_corners)
        if mode == "bicubic":
            out = _cubic_along(out, dim, src)
        elif mode in _LINEAR_DIMS:
            out = _linear_along(out, dim, src)
        else:
            out = out.index_select(dim, Tensor._wrap(src))
    return out


def _deprecated(name: str) -> None:
    warnings.warn(f"`nn.functional.{name}` is deprecated. Use `nn.functional.interpolate` instead.", stacklevel=3)


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Deprecated alias of ``interpolate`` (warns, as PyTorch does)."""
    _deprecated("upsample")
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    """Deprecated: ``interpolate(..., mode="nearest")`` (warns, as PyTorch does)."""
    _deprecated("upsample_nearest")
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """Deprecated: ``interpolate(..., mode="bilinear", align_corners=True)`` (warns, as PyTorch does)."""
    _deprecated("upsample_bilinear")
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


class Unfold(Op):
    _half_compute = np.float32  # numba has no float16: computed in float32, as torch's CPU kernels do
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
    _half_compute = np.float32  # numba has no float16: computed in float32, as torch's CPU kernels do
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


# --- grid sampling -------------------------------------------------------------------------------------------
GRID_SAMPLE_INTERPOLATION_MODES = {"bilinear": 0, "nearest": 1, "bicubic": 2}
GRID_SAMPLE_PADDING_MODES = {"zeros": 0, "border": 1, "reflection": 2}

_ALIGN_CORNERS_WARNING = (
    "Default grid_sample and affine_grid behavior has changed to align_corners=False since 1.3.0. Please specify "
    "align_corners=True if the old behavior is desired. See the documentation of grid_sample for details.")


class GridSample(Op):
    """Samples ``input`` at the points of ``grid`` (the array work is in ``kernels/grid_sample.py``).

    ``orders`` (one per grid coordinate, all 0 for the sample itself) differentiates the interpolation weights
    with respect to the grid: the gradients are samples with one order more, and ``GridSampleTranspose``
    scatters back to the input, so gradients of gradients are these two ops again. A plain backward
    computes both gradients on arrays from one set of taps; with ``create_graph`` it records the ops instead.
    """

    _half_compute = np.float32  # float16 computes in float32, as PyTorch's CPU kernel does

    @staticmethod
    def forward(ctx, input, grid, options, orders):
        from ...kernels import grid_sample as kernels  # loaded on first use, not at `import ember`

        ctx.save_for_backward(input, grid)
        ctx.options, ctx.orders = options, orders
        ctx.spatial_dims = input.ndim - 2
        return kernels.grid_sample(input._data, grid._data, *options, orders)

    @staticmethod
    def backward(ctx, grad):
        input, grid = ctx.saved_tensors
        need_input, need_grid = ctx.needs_input_grad[:2]
        if is_grad_enabled():  # create_graph: the gradients as ops, so that they can be differentiated again
            grad_input = (GridSampleTranspose.apply(grad, grid, ctx.options, ctx.orders, tuple(input.shape))
                          if need_input else None)
            grad_grid = _grid_gradient(input, grid, grad, ctx.options, ctx.orders) if need_grid else None
            return grad_input, grad_grid, None, None
        from ...kernels import grid_sample as kernels  # loaded on first use, not at `import ember`

        grad_input, grad_grid = kernels.grid_sample_backward(input._data, grid._data, grad._data, *ctx.options,
                                                             need_input, need_grid, ctx.orders)
        return (Tensor._wrap(grad_input) if need_input else None,
                Tensor._wrap(grad_grid) if need_grid else None, None, None)

    def name(self) -> str:  # PyTorch's names, without its version suffix as Ember's other ops
        return f"GridSampler{getattr(self, 'spatial_dims', 2)}DBackward"


class GridSampleTranspose(Op):
    """The adjoint of ``GridSample`` in its input: scatters a (N, C, *O) gradient back onto the input's
    (N, C, *S) positions with the same weights. Linear in ``grad``; its grid gradient is a sample with one
    derivative order more, dotted with ``grad``."""

    _half_compute = np.float32

    @staticmethod
    def forward(ctx, grad, grid, options, orders, input_shape):
        from ...kernels import grid_sample as kernels  # loaded on first use, not at `import ember`

        ctx.save_for_backward(grad, grid)
        ctx.options, ctx.orders = options, orders
        return kernels.grid_sample_transpose(grad._data, grid._data, input_shape, *options, orders)

    @staticmethod
    def backward(ctx, values):
        grad, grid = ctx.saved_tensors
        need_grad, need_grid = ctx.needs_input_grad[:2]
        if is_grad_enabled():
            grad_grad = GridSample.apply(values, grid, ctx.options, ctx.orders) if need_grad else None
            grad_grid = _grid_gradient(values, grid, grad, ctx.options, ctx.orders) if need_grid else None
            return grad_grad, grad_grid, None, None, None
        from ...kernels import grid_sample as kernels  # loaded on first use, not at `import ember`

        data = values._data
        grad_grad = kernels.grid_sample(data, grid._data, *ctx.options, ctx.orders) if need_grad else None
        _, grad_grid = kernels.grid_sample_backward(data, grid._data, grad._data, *ctx.options, False, need_grid,
                                                    ctx.orders)
        return (Tensor._wrap(grad_grad) if need_grad else None,
                Tensor._wrap(grad_grid) if need_grid else None, None, None, None)

    def name(self) -> str:
        return "GridSamplerBackwardBackward"


def _grid_gradient(values: Tensor, grid: Tensor, upstream: Tensor, options, orders) -> Tensor:
    """d <upstream, sample(values, grid, orders)> / d grid, as ops: per grid coordinate k, the sample with the
    weights differentiated once more along k, times ``upstream``, summed over the channels. Nearest
    interpolation is piecewise constant: a zero gradient, as PyTorch's."""
    if options[0] == "nearest":
        return Tensor._wrap(np.zeros_like(grid._data))
    parts = []
    for k in range(grid.shape[-1]):
        higher = tuple(o + (j == k) for j, o in enumerate(orders))
        parts.append((GridSample.apply(values, grid, options, higher) * upstream).sum(1))
    return stack(parts, -1)


def _check_grid_sample(input: Tensor, grid: Tensor, mode: str) -> None:
    """PyTorch's checks of grid_sampler's operands, with its messages."""
    if input.ndim not in (4, 5) or grid.ndim != input.ndim:
        raise RuntimeError(
            "grid_sampler(): expected 4D or 5D input and grid with same number of dimensions, but got input with "
            f"sizes {list(input.shape)} and grid with sizes {list(grid.shape)}")
    if input.shape[0] != grid.shape[0]:
        raise RuntimeError(
            "grid_sampler(): expected grid and input to have same batch size, but got input with sizes "
            f"{list(input.shape)} and grid with sizes {list(grid.shape)}")
    if grid.shape[-1] != input.ndim - 2:
        raise RuntimeError(
            f"grid_sampler(): expected grid to have size {input.ndim - 2} in last dimension, but got grid with "
            f"sizes {list(grid.shape)}")
    for dim in range(2, input.ndim):
        if input.shape[dim] <= 0:
            raise RuntimeError(
                "grid_sampler(): expected input to have non-empty spatial dimensions, but input has sizes "
                f"{list(input.shape)} with dimension {dim} being empty")
    if mode == "bicubic" and input.ndim != 4:
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    if input._data.dtype.kind != "f":
        raise _not_implemented_for("grid_sampler", input)
    if input.dtype != grid.dtype:
        raise RuntimeError(f"grid_sampler(): expected input and grid to have the same dtype, but got input of "
                           f"dtype {input.dtype} and grid of dtype {grid.dtype}")


def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear", padding_mode: str = "zeros",
                align_corners: bool | None = None) -> Tensor:
    """Samples ``input`` at the normalised locations of ``grid`` (spatial transformers, optical-flow warps).

    ``input`` is (N, C, H, W) with ``grid`` (N, H_out, W_out, 2), or (N, C, D, H, W) with ``grid``
    (N, D_out, H_out, W_out, 3). ``grid[..., 0]`` is x (along W), ``grid[..., 1]`` y (along H), ``grid[..., 2]``
    z; -1 and 1 are the input's edges (``align_corners=False``) or the centres of its corner pixels
    (``align_corners=True``). ``mode``: ``"bilinear"`` (trilinear for 5-d), ``"nearest"`` or ``"bicubic"``
    (4-d only, a = -0.75). ``padding_mode`` for points outside: ``"zeros"``, ``"border"`` (the nearest edge
    value) or ``"reflection"``. Differentiable with respect to ``input`` and ``grid`` (nearest gives the grid a
    zero gradient).

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> identity = F.affine_grid(ember.tensor([[[1.0, 0, 0], [0, 1, 0]]]), [1, 1, 3, 3], align_corners=False)
        >>> x = ember.arange(9.0).reshape(1, 1, 3, 3)
        >>> bool((F.grid_sample(x, identity, align_corners=False) - x).abs().max() < 1e-5)
        True
    """
    if mode not in GRID_SAMPLE_INTERPOLATION_MODES:
        raise ValueError("nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or 'bicubic', "
                         f"but got: '{mode}'")
    if padding_mode not in GRID_SAMPLE_PADDING_MODES:
        raise ValueError("nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
                         f"'reflection', but got: '{padding_mode}'")
    if align_corners is None:
        warnings.warn(_ALIGN_CORNERS_WARNING, stacklevel=2)
        align_corners = False
    _check_grid_sample(input, grid, mode)
    return GridSample.apply(input, grid, (mode, padding_mode, bool(align_corners)), (0,) * grid.shape[-1])


def _base_coordinates(steps: int, align_corners: bool) -> np.ndarray:
    """``steps`` points spanning [-1, 1] (pixel centres: shrunk by (steps - 1) / steps unless
    ``align_corners``); one point sits at 0."""
    if steps <= 1:
        return np.zeros(max(steps, 0))
    points = np.linspace(-1.0, 1.0, steps)
    return points if align_corners else points * (steps - 1) / steps


def affine_grid(theta: Tensor, size, align_corners: bool | None = None) -> Tensor:
    """The sampling grid of a batch of affine transforms, for ``grid_sample``.

    ``theta`` is (N, 2, 3) for a 2-D ``size`` (N, C, H, W), giving a grid (N, H, W, 2), or (N, 3, 4) for a
    3-D ``size`` (N, C, D, H, W), giving (N, D, H, W, 3). Each output point is ``theta @ (x, y[, z], 1)`` at
    the normalised coordinates of the output pixel; differentiable with respect to ``theta``.

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> theta = ember.tensor([[[1.0, 0, 0], [0, 1, 0]]])
        >>> F.affine_grid(theta, [1, 3, 2, 2], align_corners=True)[0, 0]
        tensor([[-1., -1.],
                [ 1., -1.]])
    """
    if align_corners is None:
        warnings.warn(_ALIGN_CORNERS_WARNING, stacklevel=2)
        align_corners = False
    if not theta.is_floating_point():
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    size = [int(s) for s in size]
    if len(size) not in (4, 5):
        raise NotImplementedError("affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, "
                                  f"respectively. Got size {tuple(size)}.")
    d = len(size) - 2
    if theta.ndim != 3 or tuple(theta.shape[1:]) != (d, d + 1):
        raise ValueError(f"Expected a batch of {d}D affine matrices of shape Nx{d}x{d + 1} for size {tuple(size)}. "
                         f"Got {theta.shape}.")
    spatial = size[2:]
    if align_corners and min(spatial) == 1:
        warnings.warn("Since version 1.3.0, affine_grid behavior has changed for unit-size grids when "
                      "align_corners=True. This is not an intended use case of affine_grid. See the documentation "
                      "of affine_grid for details.", stacklevel=2)
    elif min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {tuple(size)}")
    if theta.shape[0] != size[0]:
        raise RuntimeError(f"affine_grid: theta holds {theta.shape[0]} affine matrices but size asks for a batch "
                           f"of {size[0]}")
    # (prod(spatial), d + 1) rows of (x, y[, z], 1), x the fastest-varying (last) axis
    axes = [_base_coordinates(n, align_corners) for n in spatial]
    mesh = np.meshgrid(*axes, indexing="ij")
    base = np.stack([m.ravel() for m in mesh[::-1]] + [np.ones(mesh[0].size)], axis=1)
    base = Tensor._wrap(base.astype(theta._data.dtype))
    return base.matmul(theta.transpose(1, 2)).reshape(size[0], *spatial, d)


# --- pixel and channel shuffles ---------------------------------------------------------------------------
def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C * r^2, H, W) -> (*, C, H * r, W * r): sub-pixel convolution's rearrangement (Shi et al., 2016).

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.pixel_shuffle(ember.randn(1, 8, 3, 3), 2).shape
        ember.Size([1, 2, 6, 6])
    """
    r = int(upscale_factor)
    if input.ndim < 3:
        raise RuntimeError("pixel_shuffle expects input to have at least 3 dimensions, but got input with "
                           f"{input.ndim} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_shuffle expects a positive upscale_factor, but got {r}")
    *batch, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError("pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of "
                           f"upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    n = len(batch)
    out = input.reshape(*batch, c // (r * r), r, r, h, w)
    out = out.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)  # (*, C, H, r, W, r)
    return out.reshape(*batch, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H * r, W * r) -> (*, C * r^2, H, W): the inverse of ``pixel_shuffle``.

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.pixel_unshuffle(ember.randn(1, 2, 6, 6), 2).shape
        ember.Size([1, 8, 3, 3])
    """
    r = int(downscale_factor)
    if input.ndim < 3:
        raise RuntimeError("pixel_unshuffle expects input to have at least 3 dimensions, but got input with "
                           f"{input.ndim} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_unshuffle expects a positive downscale_factor, but got {r}")
    *batch, c, h, w = input.shape
    if h % r:
        raise RuntimeError(f"pixel_unshuffle expects height to be divisible by downscale_factor, but "
                           f"input.size(-2)={h} is not divisible by {r}")
    if w % r:
        raise RuntimeError(f"pixel_unshuffle expects width to be divisible by downscale_factor, but "
                           f"input.size(-1)={w} is not divisible by {r}")
    n = len(batch)
    out = input.reshape(*batch, c, h // r, r, w // r, r)
    out = out.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)  # (*, C, r, r, H, W)
    return out.reshape(*batch, c * r * r, h // r, w // r)


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """Interleaves the channels (dim 1) of ``groups`` groups: (N, g * k, *) viewed as (N, g, k, *), transposed to
    (N, k, g, *) and flattened back (ShuffleNet, Zhang et al., 2017).

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.channel_shuffle(ember.arange(4.0).reshape(1, 4, 1, 1), 2).flatten()
        tensor([0., 2., 1., 3.])
    """
    groups = int(groups)
    if input.ndim < 3:
        raise RuntimeError("channel_shuffle expects input with > 2 dims, but got input with sizes "
                           f"{list(input.shape)}")
    if groups <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of groups:{groups}")
    n, c, *rest = input.shape
    if c % groups:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels and {groups} groups.")
    out = input.reshape(n, groups, c // groups, *rest).transpose(1, 2)
    return out.reshape(n, c, *rest)


def native_channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """``channel_shuffle`` (PyTorch keeps both names; they compute the same)."""
    return channel_shuffle(input, groups)
