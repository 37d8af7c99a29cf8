"""Pooling: max / average / adaptive / power-average in 1-d, 2-d and 3-d, max unpooling and fractional
max pooling (numba kernels in ``ember.kernels.pooling``).

Every op runs the 3-d kernels: a 1-d or 2-d input is viewed as (N, C, 1, 1, L) or (N, C, 1, H, W), so
one kernel serves each dimension. Max pooling keeps the flat index of each maximum in its input plane
(``(d * H + h) * W + w``, PyTorch's ``return_indices``) for its backward and for ``max_unpool``.
The backward passes are ops too (a scatter whose derivative gathers; average pooling's adjoint whose
derivative is the pooling again), so every pooling is twice differentiable, as in PyTorch.
"""

from __future__ import annotations

import math

import numpy as np

from ...ops._op import Op, _not_implemented_for
from ...random import default_generator
from ...tensor import Tensor
from ._utils import ntuple

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool3d",
    "adaptive_max_pool1d",
    "adaptive_max_pool1d_with_indices",
    "adaptive_max_pool2d",
    "adaptive_max_pool2d_with_indices",
    "adaptive_max_pool3d",
    "adaptive_max_pool3d_with_indices",
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
    "fractional_max_pool2d",
    "fractional_max_pool2d_with_indices",
    "fractional_max_pool3d",
    "fractional_max_pool3d_with_indices",
    "lp_pool1d",
    "lp_pool2d",
    "lp_pool3d",
    "max_pool1d",
    "max_pool1d_with_indices",
    "max_pool2d",
    "max_pool2d_with_indices",
    "max_pool3d",
    "max_pool3d_with_indices",
    "max_unpool1d",
    "max_unpool2d",
    "max_unpool3d",
]


def _pool_output_size(size, k, s, p, d, ceil_mode):
    numerator = size + 2 * p - d * (k - 1) - 1
    out = (math.ceil(numerator / s) if ceil_mode else numerator // s) + 1
    if ceil_mode and (out - 1) * s >= size + p:  # the last window must start inside the input or left padding
        out -= 1
    return out


def _lead(values: tuple, fill: int) -> tuple:
    """A 1- or 2-d argument as the 3-d kernels take it: ``(5, 7) -> (fill, 5, 7)``."""
    return (fill,) * (3 - len(values)) + tuple(values)


def _as_5d(array: np.ndarray) -> np.ndarray:
    """(N, C, *spatial) -> the (N, C, D, H, W) view the kernels take."""
    return array.reshape(array.shape[:2] + _lead(array.shape[2:], 1))


class ScatterToPlanes(Op):
    """The input gradient of every max pooling: each output's gradient added at its maximum's flat index.
    An op of its own so that max pooling is twice differentiable: its derivative gathers through the
    same indices."""
    _half_compute = np.float32  # numba has no float16: computed in float32, as torch's CPU kernels do

    @staticmethod
    def forward(ctx, grad, idx, shape):
        from ...kernels import pooling  # numba loads on first use, not at `import ember`

        n, c = shape[:2]
        ctx.idx, ctx.grad_shape = idx, grad._data.shape
        gx = pooling.scatter_add_planes(grad._data.reshape(n, c, -1), idx.reshape(n, c, -1),
                                        math.prod(shape[2:]))
        return gx.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        n, c = ctx.grad_shape[:2]
        gathered = grad.reshape(n, c, -1).gather(2, Tensor._wrap(ctx.idx.reshape(n, c, -1)))
        return gathered.reshape(ctx.grad_shape), None, None


class MaxPool(Op):
    _half_compute = np.float32  # numba has no float16: computed in float32, as torch's CPU kernels do
    @staticmethod
    def forward(ctx, a, kernel, stride, padding, dilation, out_size):
        from ...kernels import pooling  # numba loads on first use, not at `import ember`

        out, idx = pooling.max_pool3d(_as_5d(a._data), *_lead(kernel, 1), *_lead(stride, 1),
                                      *_lead(padding, 0), *_lead(dilation, 1), *_lead(out_size, 1))
        shape = a._data.shape[:2] + tuple(out_size)
        ctx.shape, ctx.idx = a._data.shape, idx
        return out.reshape(shape), idx.reshape(shape)

    @staticmethod
    def backward(ctx, grad, _):
        return ScatterToPlanes.apply(grad, ctx.idx, ctx.shape), None, None, None, None, None


class AvgPool(Op):
    _half_compute = np.float32  # numba has no float16: computed in float32, as torch's CPU kernels do
    @staticmethod
    def forward(ctx, a, kernel, stride, padding, out_size, count_include_pad, divisor_override):
        from ...kernels import pooling  # numba loads on first use, not at `import ember`

        ctx.shape, ctx.pool_args = a._data.shape, (kernel, stride, padding, out_size, count_include_pad,
                                                   divisor_override)
        args = (*_lead(kernel, 1), *_lead(stride, 1), *_lead(padding, 0))
        out = pooling.avg_pool3d(_as_5d(a._data), *args, *_lead(out_size, 1), count_include_pad,
                                 divisor_override)
        return out.reshape(a._data.shape[:2] + tuple(out_size))

    @staticmethod
    def backward(ctx, grad):
        return AvgPoolGrad.apply(grad, ctx.shape, ctx.pool_args), None, None, None, None, None, None


class AvgPoolGrad(Op):
    """Average pooling's input gradient: each output's gradient spread over its window. It is linear in
    the gradient, so its own derivative is the average pooling again."""
    _half_compute = np.float32  # numba has no float16: computed in float32, as torch's CPU kernels do

    @staticmethod
    def forward(ctx, grad, shape, pool_args):
        from ...kernels import pooling  # numba loads on first use, not at `import ember`

        kernel, stride, padding, _, count_include_pad, divisor_override = ctx.pool_args = pool_args
        gx = pooling.avg_pool3d_backward(_as_5d(grad._data), *_lead(shape[2:], 1), *_lead(kernel, 1),
                                         *_lead(stride, 1), *_lead(padding, 0), count_include_pad,
                                         divisor_override)
        return gx.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return AvgPool.apply(grad, *ctx.pool_args), None, None


class AdaptivePool(Op):
    _half_compute = np.float32  # numba has no float16: computed in float32, as torch's CPU kernels do
    @staticmethod
    def forward(ctx, a, out_size, use_max):
        from ...kernels import pooling  # numba loads on first use, not at `import ember`

        out, idx = pooling.adaptive_pool3d(_as_5d(a._data), *_lead(out_size, 1), use_max)
        shape = a._data.shape[:2] + tuple(out_size)
        ctx.shape, ctx.out_size, ctx.use_max, ctx.idx = a._data.shape, tuple(out_size), use_max, idx
        return out.reshape(shape), idx.reshape(shape)

    @staticmethod
    def backward(ctx, grad, _):
        if ctx.use_max:
            return ScatterToPlanes.apply(grad, ctx.idx, ctx.shape), None, None
        return AdaptiveAvgPoolGrad.apply(grad, ctx.shape), None, None


class AdaptiveAvgPoolGrad(Op):
    """Adaptive average pooling's input gradient; its derivative is the adaptive average pooling again."""
    _half_compute = np.float32  # numba has no float16: computed in float32, as torch's CPU kernels do

    @staticmethod
    def forward(ctx, grad, shape):
        from ...kernels import pooling  # numba loads on first use, not at `import ember`

        ctx.out_size = grad._data.shape[2:]
        gx = pooling.adaptive_avg_pool3d_backward(_as_5d(grad._data), *_lead(shape[2:], 1))
        return gx.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return AdaptivePool.apply(grad, ctx.out_size, False)[0], None


class FractionalMaxPool(Op):
    """Max over windows ``[start, start + k)`` with the per-plane ``starts`` (one (N, C, O) array a dim)."""
    _half_compute = np.float32  # numba has no float16: computed in float32, as torch's CPU kernels do

    @staticmethod
    def forward(ctx, a, kernel, starts):
        from ...kernels import pooling  # numba loads on first use, not at `import ember`

        n, c = a._data.shape[:2]
        starts = (np.zeros((n, c, 1), np.int64),) * (3 - len(starts)) + tuple(starts)
        out, idx = pooling.fractional_max_pool3d(_as_5d(a._data), *starts, *_lead(kernel, 1))
        shape = a._data.shape[:2] + tuple(s.shape[2] for s in starts[3 - len(kernel):])
        ctx.shape, ctx.idx = a._data.shape, idx
        return out.reshape(shape), idx.reshape(shape)

    @staticmethod
    def backward(ctx, grad, _):
        return ScatterToPlanes.apply(grad, ctx.idx, ctx.shape), None, None


class MaxUnpool(Op):
    """Writes each input value at its flat index of a zero output plane; the gradient gathers it back."""

    @staticmethod
    def forward(ctx, a, indices, out_size):
        n, c = a._data.shape[:2]
        flat_idx = indices._data.reshape(n, c, -1)
        out = np.zeros((n, c, math.prod(out_size)), dtype=a._data.dtype)
        np.put_along_axis(out, flat_idx, a._data.reshape(n, c, -1), axis=2)
        ctx.in_shape, ctx.flat_idx = a._data.shape, Tensor._wrap(flat_idx)
        return out.reshape((n, c) + tuple(out_size))

    @staticmethod
    def backward(ctx, grad):
        n, c = ctx.in_shape[:2]
        return grad.reshape(n, c, -1).gather(2, ctx.flat_idx).reshape(ctx.in_shape), None, None


def _batched(input: Tensor, dims: int, op: str):
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be a Tensor, not {type(input).__name__}")
    if input.ndim == dims + 2:
        return input, True
    if input.ndim == dims + 1:
        return input.unsqueeze(0), False
    raise RuntimeError(f"{op}: expected a {dims + 1}-d (unbatched) or {dims + 2}-d (batched) input, "
                       f"got shape {tuple(input.shape)}")


def _positive(op: str, name: str, values: tuple, shape) -> None:
    if any(v <= 0 for v in values):
        raise RuntimeError(f"{op}: {name} must be greater than zero, but got {name}={values} "
                           f"(input shape {tuple(shape)})")


def _pool_args(op, dims, input, kernel_size, stride, padding, dilation, ceil_mode):
    """Checked (kernel, stride, padding, dilation, output size), each a ``dims``-tuple."""
    kernel = ntuple(kernel_size, dims, "kernel_size")
    stride = kernel if stride is None or (isinstance(stride, (tuple, list)) and not stride) else ntuple(
        stride, dims, "stride")
    padding, dilation = ntuple(padding, dims, "padding"), ntuple(dilation, dims, "dilation")
    for name, values in (("kernel_size", kernel), ("stride", stride), ("dilation", dilation)):
        _positive(op, name, values, input.shape)
    for k, p in zip(kernel, padding):
        if p < 0 or p > k // 2:
            raise RuntimeError(f"{op}: pad should be at most half of effective kernel size, but got pad={p}, "
                               f"kernel_size={k}")
    sizes = input.shape[2:]
    out = tuple(_pool_output_size(n, k, s, p, d, ceil_mode)
                for n, k, s, p, d in zip(sizes, kernel, stride, padding, dilation))
    if any(o <= 0 for o in out):
        raise RuntimeError(f"{op}: input of shape {tuple(input.shape)} is too small for kernel_size {kernel} "
                           f"(output size {out})")
    return kernel, stride, padding, dilation, out


def _max_pool(op, dims, input, kernel_size, stride, padding, dilation, ceil_mode):
    x, batched = _batched(input, dims, op)
    out, idx = MaxPool.apply(x, *_pool_args(op, dims, x, kernel_size, stride, padding, dilation, ceil_mode))
    return (out, idx) if batched else (out.squeeze(0), idx.squeeze(0))


def max_pool1d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = False):
    """:func:`max_pool1d` that always returns ``(output, indices)``."""
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool2d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = False):
    """:func:`max_pool2d` that always returns ``(output, indices)``."""
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool3d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = False):
    """:func:`max_pool3d` that always returns ``(output, indices)``."""
    return _max_pool("max_pool3d", 3, input, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """1-d max pooling over (N, C, L) or (C, L).

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.max_pool1d(ember.tensor([[[1.0, 3.0, 2.0, 0.0]]]), 2)
        tensor([[[3., 2.]]])
    """
    out, idx = _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode)
    return (out, idx) if return_indices else out


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """2-d max pooling over (N, C, H, W); ``return_indices`` also gives the flat argmax ``h * W + w``.

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.max_pool2d(ember.randn(2, 3, 8, 8), 2).shape
        ember.Size([2, 3, 4, 4])
    """
    out, idx = _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode)
    return (out, idx) if return_indices else out


def max_pool3d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """3-d max pooling over (N, C, D, H, W) or (C, D, H, W); ``return_indices`` also gives the flat argmax
    ``(d * H + h) * W + w`` in each input volume.

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.max_pool3d(ember.randn(2, 3, 4, 6, 6), 2).shape
        ember.Size([2, 3, 2, 3, 3])
    """
    out, idx = _max_pool("max_pool3d", 3, input, kernel_size, stride, padding, dilation, ceil_mode)
    return (out, idx) if return_indices else out


def _avg_pool(op, dims, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    x, batched = _batched(input, dims, op)
    if dims == 3 and x._data.dtype == np.float16:  # PyTorch's CPU build has no half avg_pool3d either
        raise _not_implemented_for(op, x)
    kernel, stride, padding, _, out_size = _pool_args(op, dims, x, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None and divisor_override <= 0:
        raise RuntimeError(f"{op}: divisor must be not zero")
    out = AvgPool.apply(x, kernel, stride, padding, out_size, bool(count_include_pad),
                        int(divisor_override or 0))
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


def avg_pool3d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """3-d average pooling over (N, C, D, H, W) or (C, D, H, W).

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.avg_pool3d(ember.ones(1, 1, 4, 4, 4), 2, stride=1, padding=1, ceil_mode=True).shape
        ember.Size([1, 1, 5, 5, 5])
    """
    return _avg_pool("avg_pool3d", 3, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


def _adaptive(op, dims, input, output_size, use_max):
    x, batched = _batched(input, dims, op)
    sizes = list(output_size) if isinstance(output_size, (tuple, list)) else [output_size] * dims
    if len(sizes) != dims:
        raise RuntimeError(f"{op}: output_size must be {dims}, got {output_size} for input shape "
                           f"{tuple(input.shape)}")
    sizes = tuple(int(n if s is None else s) for s, n in zip(sizes, x.shape[2:]))  # None keeps the input size
    if any(s < 0 for s in sizes):
        raise RuntimeError(f"{op}: output_size {sizes} must be non-negative")
    if any(n == 0 for n in x.shape[2:]) and any(s > 0 for s in sizes):
        raise RuntimeError(f"{op}: input of shape {tuple(input.shape)} has an empty spatial dimension")
    out, idx = AdaptivePool.apply(x, sizes, use_max)
    return (out, idx) if batched else (out.squeeze(0), idx.squeeze(0))


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """Average pooling to a fixed output length."""
    return _adaptive("adaptive_avg_pool1d", 1, input, output_size, False)[0]


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Average pooling to a fixed output size (``None`` in ``output_size`` keeps that input size).

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.adaptive_avg_pool2d(ember.randn(2, 8, 7, 5), 1).shape
        ember.Size([2, 8, 1, 1])
    """
    return _adaptive("adaptive_avg_pool2d", 2, input, output_size, False)[0]


def adaptive_avg_pool3d(input: Tensor, output_size) -> Tensor:
    """Average pooling to a fixed output size ``(D_out, H_out, W_out)`` (``None`` keeps that input size).

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.adaptive_avg_pool3d(ember.randn(2, 8, 5, 7, 5), (1, None, 2)).shape
        ember.Size([2, 8, 1, 7, 2])
    """
    return _adaptive("adaptive_avg_pool3d", 3, input, output_size, False)[0]


def adaptive_max_pool1d_with_indices(input: Tensor, output_size, return_indices: bool = False):
    """:func:`adaptive_max_pool1d` that always returns ``(output, indices)``."""
    return _adaptive("adaptive_max_pool1d", 1, input, output_size, True)


def adaptive_max_pool2d_with_indices(input: Tensor, output_size, return_indices: bool = False):
    """:func:`adaptive_max_pool2d` that always returns ``(output, indices)``."""
    return _adaptive("adaptive_max_pool2d", 2, input, output_size, True)


def adaptive_max_pool3d_with_indices(input: Tensor, output_size, return_indices: bool = False):
    """:func:`adaptive_max_pool3d` that always returns ``(output, indices)``."""
    return _adaptive("adaptive_max_pool3d", 3, input, output_size, True)


def adaptive_max_pool1d(input: Tensor, output_size, return_indices: bool = False):
    """Max pooling to a fixed output length."""
    out, idx = _adaptive("adaptive_max_pool1d", 1, input, output_size, True)
    return (out, idx) if return_indices else out


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """Max pooling to a fixed output size.

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.adaptive_max_pool2d(ember.randn(2, 8, 7, 5), (2, 2)).shape
        ember.Size([2, 8, 2, 2])
    """
    out, idx = _adaptive("adaptive_max_pool2d", 2, input, output_size, True)
    return (out, idx) if return_indices else out


def adaptive_max_pool3d(input: Tensor, output_size, return_indices: bool = False):
    """Max pooling to a fixed output size ``(D_out, H_out, W_out)``.

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.adaptive_max_pool3d(ember.randn(2, 8, 5, 7, 5), 2).shape
        ember.Size([2, 8, 2, 2, 2])
    """
    out, idx = _adaptive("adaptive_max_pool3d", 3, input, output_size, True)
    return (out, idx) if return_indices else out


def _lp_pool(dims, input, norm_type, kernel_size, stride, ceil_mode):
    """``(sum x^p)^(1/p)`` over windows, as PyTorch computes it: ``p``-th powers averaged, times the window
    size; ``p = inf`` is max pooling of ``|x|``."""
    max_pool, avg_pool = _LP_POOLS[dims]
    if norm_type == math.inf:
        return max_pool(input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    if norm_type == -math.inf:
        return -max_pool(-input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    out = avg_pool(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    window = math.prod(ntuple(kernel_size, dims, "kernel_size"))
    return (out.sign() * out.abs().relu()).mul(window).pow(1.0 / norm_type)


_LP_POOLS = {1: (max_pool1d, avg_pool1d), 2: (max_pool2d, avg_pool2d), 3: (max_pool3d, avg_pool3d)}


def lp_pool1d(input: Tensor, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False) -> Tensor:
    """``(sum x^p)^(1/p)`` over windows."""
    return _lp_pool(1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(input: Tensor, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False) -> Tensor:
    """``(sum x^p)^(1/p)`` over 2-d windows."""
    return _lp_pool(2, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool3d(input: Tensor, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False) -> Tensor:
    """``(sum x^p)^(1/p)`` over 3-d windows.

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.lp_pool3d(ember.ones(1, 1, 2, 2, 2), 2, 2).flatten()
        tensor([2.8284])
    """
    return _lp_pool(3, input, norm_type, kernel_size, stride, ceil_mode)


def _unpool_output_size(op, dims, input, kernel, stride, padding, output_size):
    """PyTorch's rule: the default size inverts max pooling's; a given size (optionally with N and C in
    front) must lie strictly within one stride of it."""
    default = [(n - 1) * s + k - 2 * p for n, k, s, p in zip(input.shape[-dims:], kernel, stride, padding)]
    if output_size is None:
        return tuple(default)
    output_size = [int(s) for s in output_size]
    if len(output_size) == dims + 2:
        output_size = output_size[2:]
    if len(output_size) != dims:
        raise ValueError(f"output_size should be a sequence containing {dims} or {dims + 2} elements, but it "
                         f"has a length of '{len(output_size)}'")
    for d, (size, base, s) in enumerate(zip(output_size, default, stride)):
        if not base - s < size < base + s:
            raise ValueError(f'invalid output_size "{tuple(output_size)}" (dim {d} must be between '
                             f"{base - s} and {base + s})")
    return tuple(output_size)


def _max_unpool(op, dims, input, indices, kernel_size, stride, padding, output_size):
    x, batched = _batched(input, dims, op)
    if not isinstance(indices, Tensor) or indices._data.dtype != np.int64:
        given = type(indices).__name__ if not isinstance(indices, Tensor) else indices.dtype
        raise RuntimeError(f"{op}: elements in indices should be type int64 but got: {given}")
    if tuple(indices.shape) != tuple(input.shape):
        raise RuntimeError(f"{op}: Expected shape of indices to be same as that of the input tensor "
                           f"({tuple(input.shape)}) but got indices tensor with shape: "
                           f"{tuple(indices.shape)}")
    kernel = ntuple(kernel_size, dims, "kernel_size")
    stride = kernel if stride is None else ntuple(stride, dims, "stride")
    padding = ntuple(padding, dims, "padding")
    out_size = _unpool_output_size(op, dims, x, kernel, stride, padding, output_size)
    if any(s < 0 for s in out_size):
        raise ValueError(f"{op}: output_size must contain non-negative spatial dimensions, got {out_size}")
    plane = math.prod(out_size)
    flat = indices._data
    bad = flat[(flat < 0) | (flat >= plane)]
    if bad.size:
        volume = "x".join(str(s) for s in (out_size + (1,) if dims == 1 else out_size))
        raise RuntimeError(f"{op}: Found an invalid max index: {bad.flat[0]} (output volumes are of size "
                           f"{volume})")
    out = MaxUnpool.apply(x, indices if batched else indices.unsqueeze(0), out_size)
    return out if batched else out.squeeze(0)


def max_unpool1d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """Partial inverse of :func:`max_pool1d`: each value goes back to its argmax, every other position is 0.

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> out, idx = F.max_pool1d(ember.tensor([[[1.0, 3.0, 2.0, 0.0]]]), 2, return_indices=True)
        >>> F.max_unpool1d(out, idx, 2)
        tensor([[[0., 3., 2., 0.]]])
    """
    return _max_unpool("max_unpool1d", 1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """Partial inverse of :func:`max_pool2d` (``output_size`` picks among the sizes that pool to the input's).

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> out, idx = F.max_pool2d(ember.randn(1, 1, 5, 5), 2, return_indices=True)
        >>> F.max_unpool2d(out, idx, 2, output_size=(5, 5)).shape
        ember.Size([1, 1, 5, 5])
    """
    return _max_unpool("max_unpool2d", 2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """Partial inverse of :func:`max_pool3d`.

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> out, idx = F.max_pool3d(ember.randn(1, 1, 4, 4, 4), 2, return_indices=True)
        >>> F.max_unpool3d(out, idx, 2).shape
        ember.Size([1, 1, 4, 4, 4])
    """
    return _max_unpool("max_unpool3d", 3, input, indices, kernel_size, stride, padding, output_size)


def _intervals(samples: np.ndarray, in_size: int, out_size: int, k: int) -> np.ndarray:
    """Window starts of fractional max pooling, as PyTorch computes them in the input's dtype:
    ``int((i + u) * alpha) - int(u * alpha)`` with ``alpha = (in - k) / (out - 1)``; the last starts at
    ``in - k``."""
    starts = np.empty(samples.shape + (out_size,), np.int64)
    if out_size > 1:
        real = samples.dtype.type
        alpha = real(in_size - k) / real(out_size - 1)
        steps = np.arange(out_size - 1).astype(samples.dtype)
        starts[..., :-1] = (((steps + samples[..., None]) * alpha).astype(np.int64)
                            - (samples * alpha).astype(np.int64)[..., None])
    starts[..., -1] = in_size - k
    return starts


_FRACTIONAL_DIM_NAMES = {2: ("height", "width"), 3: ("time", "height", "width")}


def _fractional(op, dims, input, kernel_size, output_size, output_ratio, _random_samples):
    if output_size is None and output_ratio is None:
        raise ValueError(f"{op} requires specifying either an output_size or an output_ratio")
    x, batched = _batched(input, dims, op)
    kernel = ntuple(kernel_size, dims, "kernel_size")
    sizes = tuple(x.shape[2:])
    if output_size is None:
        ratios = output_ratio if isinstance(output_ratio, (tuple, list)) else (output_ratio,) * dims
        if len(ratios) != dims:
            raise ValueError(f"{op} requires output_ratio to be a single number or a tuple of {dims}, "
                             f"got {output_ratio}")
        output_size = tuple(int(n * r) for n, r in zip(sizes, ratios))
    out_size = ntuple(output_size, dims, "output_size")
    _positive(op, "kernel_size", kernel, input.shape)
    for name, k, o, n in zip(_FRACTIONAL_DIM_NAMES[dims], kernel, out_size, sizes):
        if o + k - 1 > n:
            raise RuntimeError(f"{op}(): pool {name} {k} too large relative to input {name} {n} "
                               f"(output {name} {o}, input shape {tuple(input.shape)})")
    samples = _fractional_samples(op, dims, x, _random_samples)
    # PyTorch's order: 2-d samples are (w, h), 3-d samples (t, h, w)
    order = (1, 0) if dims == 2 else (0, 1, 2)
    starts = tuple(_intervals(samples[..., j], n, o, k) for j, n, o, k in zip(order, sizes, out_size, kernel))
    out, idx = FractionalMaxPool.apply(x, kernel, starts)
    return (out, idx) if batched else (out.squeeze(0), idx.squeeze(0))


def _fractional_samples(op, dims, x, samples) -> np.ndarray:
    """The (N, C, dims) uniform samples that place the windows: given, or drawn from Ember's generator."""
    n, c = x.shape[:2]
    dtype = x._data.dtype
    if samples is None:
        return default_generator.np.random((n, c, dims), dtype=np.float64).astype(dtype)
    if not isinstance(samples, Tensor):
        raise TypeError(f"{op}: _random_samples must be a Tensor, not {type(samples).__name__}")
    if samples._data.dtype != dtype:
        raise RuntimeError(f"{op}: Expect _random_samples to have the same dtype as input "
                           f"({samples.dtype} vs {x.dtype})")
    if samples.ndim != 3:
        raise RuntimeError(f"{op}: Expect _random_samples to have 3 dimensions, got {samples.ndim} "
                           f"(shape {tuple(samples.shape)})")
    if samples.shape[0] < n:
        raise RuntimeError(f"{op}: Expect _random_samples.size(0) no less then input batch size "
                           f"(_random_samples shape {tuple(samples.shape)}, batch size {n})")
    if samples.shape[1] != c:
        raise RuntimeError(f"{op}: Expect _random_samples.size(1) equals to input channel size "
                           f"(_random_samples shape {tuple(samples.shape)}, {c} channels)")
    if samples.shape[2] != dims:
        raise RuntimeError(f"{op}: Expect _random_samples.size(2) equals to {dims}; got {samples.shape[2]}.")
    return samples._data[:n]


def fractional_max_pool2d_with_indices(input: Tensor, kernel_size, output_size=None, output_ratio=None,
                                       return_indices: bool = False, _random_samples=None):
    """:func:`fractional_max_pool2d` that always returns ``(output, indices)``."""
    return _fractional("fractional_max_pool2d", 2, input, kernel_size, output_size, output_ratio,
                       _random_samples)


def fractional_max_pool3d_with_indices(input: Tensor, kernel_size, output_size=None, output_ratio=None,
                                       return_indices: bool = False, _random_samples=None):
    """:func:`fractional_max_pool3d` that always returns ``(output, indices)``."""
    return _fractional("fractional_max_pool3d", 3, input, kernel_size, output_size, output_ratio,
                       _random_samples)


def fractional_max_pool2d(input: Tensor, kernel_size, output_size=None, output_ratio=None,
                          return_indices: bool = False, _random_samples=None):
    """Fractional max pooling (Graham, 2014): ``kH x kW`` windows at pseudo-random steps that shrink the
    input to ``output_size`` (or ``output_ratio`` of it). The steps come from ``_random_samples``
    ((N, C, 2) uniform numbers, ``(w, h)`` per plane), drawn from Ember's generator when not given.

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.fractional_max_pool2d(ember.randn(1, 3, 10, 9), 3, output_ratio=0.5).shape
        ember.Size([1, 3, 5, 4])
    """
    out, idx = _fractional("fractional_max_pool2d", 2, input, kernel_size, output_size, output_ratio,
                           _random_samples)
    return (out, idx) if return_indices else out


def fractional_max_pool3d(input: Tensor, kernel_size, output_size=None, output_ratio=None,
                          return_indices: bool = False, _random_samples=None):
    """Fractional max pooling over (N, C, T, H, W); ``_random_samples`` is (N, C, 3), ``(t, h, w)`` per plane.

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.fractional_max_pool3d(ember.randn(1, 2, 6, 6, 6), 2, output_size=(3, 4, 5)).shape
        ember.Size([1, 2, 3, 4, 5])
    """
    out, idx = _fractional("fractional_max_pool3d", 3, input, kernel_size, output_size, output_ratio,
                           _random_samples)
    return (out, idx) if return_indices else out
