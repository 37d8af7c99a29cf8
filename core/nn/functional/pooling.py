"""Pooling: max / average / adaptive, 1-d and 2-d (numba kernels in ``ember.kernels.pooling``).

1-d pooling runs the 2-d kernels on a height-1 view. Max pooling keeps the flat index of
each maximum (``h * W + w``) for its backward and for ``return_indices``.
"""

from __future__ import annotations

import math

from ...autograd.function import once_differentiable
from ...ops._op import Op
from ...tensor import Tensor
from ._utils import ntuple

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "lp_pool1d",
    "lp_pool2d",
    "max_pool1d",
    "max_pool2d",
]


def _pool_output_size(size, k, s, p, d, ceil_mode):
    numerator = size + 2 * p - d * (k - 1) - 1
    out = (math.ceil(numerator / s) if ceil_mode else numerator // s) + 1
    if ceil_mode and (out - 1) * s >= size + p:  # the last window must start inside the input or left padding
        out -= 1
    return out


def _as_4d(x: Tensor):
    """(N, C, L) -> (N, C, 1, L) view of the data."""
    return x._data if x._data.ndim == 4 else x._data[:, :, None, :]


class MaxPool(Op):
    @staticmethod
    def forward(ctx, a, kernel, stride, padding, dilation, out_size):
        from ...kernels import pooling  # numba loads on first use, not at `import ember`

        x = _as_4d(a)
        ctx.shape = a._data.shape
        out, idx = pooling.max_pool2d(x, *kernel, *stride, *padding, *dilation, *out_size)
        ctx.idx = idx
        shape = out.shape[:2] + out.shape[2 + (a._data.ndim == 3):]
        return out.reshape(shape), idx.reshape(shape)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad, _):
        from ...kernels import pooling  # numba loads on first use, not at `import ember`

        g = _as_4d(grad)
        h, w = (1, ctx.shape[-1]) if len(ctx.shape) == 3 else ctx.shape[2:]
        gx = pooling.max_pool2d_backward(g, ctx.idx, h, w)
        return Tensor._wrap(gx.reshape(ctx.shape)), None, None, None, None, None


class AvgPool(Op):
    @staticmethod
    def forward(ctx, a, kernel, stride, padding, out_size, count_include_pad, divisor_override):
        from ...kernels import pooling  # numba loads on first use, not at `import ember`

        x = _as_4d(a)
        ctx.shape = a._data.shape
        ctx.args = (kernel, stride, padding, count_include_pad, divisor_override)
        out = pooling.avg_pool2d(x, *kernel, *stride, *padding, *out_size, count_include_pad, divisor_override)
        return out.reshape(out.shape[:2] + out.shape[2 + (a._data.ndim == 3):])

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        from ...kernels import pooling  # numba loads on first use, not at `import ember`

        kernel, stride, padding, count_include_pad, divisor_override = ctx.args
        h, w = (1, ctx.shape[-1]) if len(ctx.shape) == 3 else ctx.shape[2:]
        gx = pooling.avg_pool2d_backward(_as_4d(grad), h, w, *kernel, *stride, *padding, count_include_pad,
                                         divisor_override)
        return Tensor._wrap(gx.reshape(ctx.shape)), None, None, None, None, None, None


class AdaptivePool(Op):
    @staticmethod
    def forward(ctx, a, out_size, use_max):
        from ...kernels import pooling  # numba loads on first use, not at `import ember`

        x = _as_4d(a)
        ctx.shape, ctx.use_max = a._data.shape, use_max
        out, idx = pooling.adaptive_pool2d(x, *out_size, use_max)
        ctx.idx = idx
        shape = out.shape[:2] + out.shape[2 + (a._data.ndim == 3):]
        return out.reshape(shape), idx.reshape(shape)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad, _):
        from ...kernels import pooling  # numba loads on first use, not at `import ember`

        h, w = (1, ctx.shape[-1]) if len(ctx.shape) == 3 else ctx.shape[2:]
        if ctx.use_max:
            gx = pooling.max_pool2d_backward(_as_4d(grad), ctx.idx, h, w)
        else:
            gx = pooling.adaptive_avg_pool2d_backward(_as_4d(grad), h, w)
        return Tensor._wrap(gx.reshape(ctx.shape)), None, None


def _batched(input: Tensor, dims: int, op: str):
    if input.ndim == dims + 2:
        return input, True
    if input.ndim == dims + 1:
        return input.unsqueeze(0), False
    raise RuntimeError(f"{op}: expected a {dims + 1}-d or {dims + 2}-d input, got shape {tuple(input.shape)}")


def _pool_args(op, dims, input, kernel_size, stride, padding, dilation, ceil_mode):
    kernel = ntuple(kernel_size, dims, "kernel_size")
    stride = kernel if stride is None or (isinstance(stride, (tuple, list)) and not stride) else ntuple(
        stride, dims, "stride")
    padding, dilation = ntuple(padding, dims, "padding"), ntuple(dilation, dims, "dilation")
    for k, p in zip(kernel, padding):
        if p > k // 2:
            raise RuntimeError(f"{op}: pad should be at most half of effective kernel size, but got pad={p}, "
                               f"kernel_size={k}")
    sizes = input.shape[2:]
    out = tuple(_pool_output_size(n, k, s, p, d, ceil_mode)
                for n, k, s, p, d in zip(sizes, kernel, stride, padding, dilation))
    if any(o <= 0 for o in out):
        raise RuntimeError(f"{op}: input of shape {tuple(input.shape)} is too small for kernel_size {kernel} "
                           f"(output size {out})")
    if dims == 1:
        kernel, stride, padding, dilation, out = ((1,) + kernel, (1,) + stride, (0,) + padding,
                                                  (1,) + dilation, (1,) + out)
    return kernel, stride, padding, dilation, out


def _max_pool(op, dims, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    x, batched = _batched(input, dims, op)
    args = _pool_args(op, dims, x, kernel_size, stride, padding, dilation, ceil_mode)
    out, idx = MaxPool.apply(x, *args)
    if not batched:
        out, idx = out.squeeze(0), idx.squeeze(0)
    return (out, idx) if return_indices else out


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """1-d max pooling over (N, C, L).

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.max_pool1d(ember.tensor([[[1.0, 3.0, 2.0, 0.0]]]), 2)
        tensor([[[3., 2.]]])
    """
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """2-d max pooling over (N, C, H, W); ``return_indices`` also gives the flat argmax ``h * W + w``.

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.max_pool2d(ember.randn(2, 3, 8, 8), 2).shape
        ember.Size([2, 3, 4, 4])
    """
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def _avg_pool(op, dims, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    x, batched = _batched(input, dims, op)
    kernel, stride, padding, _, out_size = _pool_args(op, dims, x, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None and divisor_override <= 0:
        raise RuntimeError(f"{op}: divisor must be not zero")
    out = AvgPool.apply(x, kernel, stride, padding, out_size, bool(count_include_pad), int(divisor_override or 0))
    return out if batched else out.squeeze(0)


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """1-d average pooling over (N, C, L).

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.avg_pool1d(ember.tensor([[[1.0, 3.0, 2.0, 0.0]]]), 2)
        tensor([[[2., 1.]]])
    """
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """2-d average pooling over (N, C, H, W).

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.avg_pool2d(ember.ones(1, 1, 4, 4), 2, padding=1, count_include_pad=False).shape
        ember.Size([1, 1, 3, 3])
    """
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


def _adaptive(op, dims, input, output_size, use_max, return_indices=False):
    x, batched = _batched(input, dims, op)
    sizes = list(output_size) if isinstance(output_size, (tuple, list)) else [output_size] * dims
    if len(sizes) != dims:
        raise ValueError(f"{op}: output_size must have {dims} elements, got {output_size}")
    sizes = tuple(int(n if s is None else s) for s, n in zip(sizes, x.shape[2:]))  # None keeps the input size
    out, idx = AdaptivePool.apply(x, (1,) + sizes if dims == 1 else sizes, use_max)
    if not batched:
        out, idx = out.squeeze(0), idx.squeeze(0)
    return (out, idx) if return_indices else out


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """Average pooling to a fixed output length."""
    return _adaptive("adaptive_avg_pool1d", 1, input, output_size, False)


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Average pooling to a fixed output size (``None`` in ``output_size`` keeps that input size).

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.adaptive_avg_pool2d(ember.randn(2, 8, 7, 5), 1).shape
        ember.Size([2, 8, 1, 1])
    """
    return _adaptive("adaptive_avg_pool2d", 2, input, output_size, False)


def adaptive_max_pool1d(input: Tensor, output_size, return_indices: bool = False):
    """Max pooling to a fixed output length."""
    return _adaptive("adaptive_max_pool1d", 1, input, output_size, True, return_indices)


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """Max pooling to a fixed output size.

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.adaptive_max_pool2d(ember.randn(2, 8, 7, 5), (2, 2)).shape
        ember.Size([2, 8, 2, 2])
    """
    return _adaptive("adaptive_max_pool2d", 2, input, output_size, True, return_indices)


def lp_pool1d(input: Tensor, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False) -> Tensor:
    """``(sum x^p)^(1/p)`` over windows."""
    k = ntuple(kernel_size, 1)[0]
    out = avg_pool1d(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    return (out.sign() * out.abs().relu()).mul(k).pow(1.0 / norm_type)


def lp_pool2d(input: Tensor, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False) -> Tensor:
    """``(sum x^p)^(1/p)`` over 2-d windows."""
    kh, kw = ntuple(kernel_size, 2)
    out = avg_pool2d(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    return (out.sign() * out.abs().relu()).mul(kh * kw).pow(1.0 / norm_type)
