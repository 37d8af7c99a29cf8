"""Running ops along a dimension and their discrete inverses: cumsum, cumprod, logcumsumexp, cummax /
cummin, diff and gradient, trapezoid and cumulative_trapezoid."""

from __future__ import annotations

import numpy as np

from .. import _dtype
from .._numpy_names import dim_from_axis
from ..tensor import Tensor
from ._op import Op
from ._results import _MinMaxResult, _type_name
from ._util import default_float, normalize_dim
from .arithmetic import where
from .complex_ops import conj_of
from .gather_scatter import gather
from .joining import cat, stack
from .shape import narrow
from .unary import exp, log


class Cumsum(Op):
    @staticmethod
    def forward(ctx, a, dim):
        ctx.dim = dim
        return np.cumsum(a._data, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        # the gradient of a running sum is the reversed running sum of the gradient
        return grad.flip(ctx.dim).cumsum(ctx.dim).flip(ctx.dim), None


class Cumprod(Op):
    @staticmethod
    def forward(ctx, a, dim):
        ctx.save_for_backward(a)
        ctx.dim = dim
        ctx.save_output()
        return np.cumprod(a._data, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        dim = ctx.dim
        if not np.any(a._data == 0):
            # d out_j / d a_i = out_j / a_i for j >= i
            out = conj_of(ctx.output)
            return (grad * out).flip(dim).cumsum(dim).flip(dim) / conj_of(a), None
        # with zeros: sum_j>=i grad_j prod_{k<=j, k!=i} a_k, by an explicit (small) loop over the axis
        n = a.shape[dim]
        slices = a.unbind(dim)
        grads = grad.unbind(dim)
        result = []
        for i in range(n):
            total = None
            running = None
            for j in range(i, n):
                if j == i:
                    running = _prefix_product(slices, i)
                else:
                    running = running * slices[j]
                term = grads[j] * conj_of(running)
                total = term if total is None else total + term
            result.append(total)
        return stack(result, dim), None


def _prefix_product(slices, i):
    out = slices[0] * 0 + 1
    for k in range(i):
        out = out * slices[k]
    return out


def cumsum(input, dim: int | None = None, *, dtype=None, axis=None):
    if dim is None or axis is not None:
        dim = dim_from_axis("cumsum", dim, axis)
    if dtype is not None:
        input = input.to(dtype)
    elif input._data.dtype.kind in "biu":
        input = input.to(_dtype.int64)
    return Cumsum.apply(input, normalize_dim(dim, input._data.ndim, "cumsum"))


def cumprod(input, dim: int | None = None, *, dtype=None, axis=None):
    if dim is None or axis is not None:
        dim = dim_from_axis("cumprod", dim, axis)
    if dtype is not None:
        input = input.to(dtype)
    return Cumprod.apply(input, normalize_dim(dim, input._data.ndim, "cumprod"))


# --- cumulative ----------------------------------------------------------------------------------
class LogCumSumExp(Op):
    @staticmethod
    def forward(ctx, a, dim):
        ctx.save_for_backward(a)
        ctx.save_output()
        ctx.dim = dim
        return np.logaddexp.accumulate(a._data, axis=dim) if a._data.ndim else a._data.copy()

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        out, dim = ctx.output, ctx.dim
        if a.ndim == 0:
            return grad, None
        # d out_j / d a_i = exp(a_i - out_j) for j >= i: a reversed logcumsumexp of log|grad| - out, done
        # separately for the positive and negative parts of grad so that nothing overflows (torch's way;
        # the lowest finite number stands for log 0, as there, so that a second derivative stays finite)
        lowest = Tensor._wrap(np.asarray(np.finfo(grad._data.dtype).min, grad._data.dtype))
        log_abs = log(where(grad != 0, grad.abs(), Tensor._wrap(np.ones((), grad._data.dtype))))

        def reverse_part(selected):
            log_part = where(selected, log_abs, lowest)
            return exp(a + logcumsumexp((log_part - out).flip(dim), dim).flip(dim))

        return reverse_part(grad > 0) - reverse_part(grad < 0), None


def logcumsumexp(input, dim: int | None = None, *, axis=None):
    """``log(cumsum(exp(input), dim))``, computed stably."""
    if dim is None or axis is not None:
        dim = dim_from_axis("logcumsumexp", dim, axis)
    if input._data.dtype.kind != "f":
        raise NotImplementedError(f'"logcumsumexp_out_cpu" not implemented for {_type_name(input)!r}')
    return LogCumSumExp.apply(input, normalize_dim(dim, input._data.ndim, "logcumsumexp"))


def _cumulative_extreme(input, dim: int, is_max: bool, name: str):
    axis = normalize_dim(dim, input._data.ndim, name)
    if input._data.ndim == 0:
        return _MinMaxResult(input * 1, Tensor._wrap(np.zeros((), np.int64)), name)
    x = input._data
    best = (np.maximum if is_max else np.minimum).accumulate(x, axis=axis)  # a NaN propagates, as in torch
    # the index is the last position so far holding the running extreme (torch's >=: a later tie takes over)
    holds = (x == best) | np.isnan(x) if x.dtype.kind == "f" else x == best
    positions = np.arange(x.shape[axis]).reshape([-1 if d == axis else 1 for d in range(x.ndim)])
    indices = np.maximum.accumulate(np.where(holds, positions, 0), axis=axis)
    indices = Tensor._wrap(indices.astype(np.int64))
    return _MinMaxResult(gather(input, axis, indices), indices, name)


def cummax(input, dim: int | None = None, *, axis=None):
    """Running maximum along ``dim``: ``(values, indices)``; the gradient goes to the selected elements."""
    if dim is None or axis is not None:
        dim = dim_from_axis("cummax", dim, axis)
    return _cumulative_extreme(input, dim, True, "cummax")


def cummin(input, dim: int | None = None, *, axis=None):
    """Running minimum along ``dim``: ``(values, indices)``; the gradient goes to the selected elements."""
    if dim is None or axis is not None:
        dim = dim_from_axis("cummin", dim, axis)
    return _cumulative_extreme(input, dim, False, "cummin")


# --- differences, integrals, statistics ----------------------------------------------------------
def diff(input, n: int = 1, dim: int = -1, prepend=None, append=None, *, axis=None):
    """The ``n``-th forward difference along ``dim`` (``prepend`` / ``append`` joined first); bool
    inputs give ``!=`` of neighbours, as in torch."""
    if axis is not None:
        dim = dim_from_axis("diff", dim, axis, -1)
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    if input._data.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    axis = normalize_dim(dim, input._data.ndim, "diff")
    parts = [t for t in (prepend, input, append) if t is not None]
    x = cat(parts, axis) if len(parts) > 1 else input
    for _ in range(n):
        length = x.shape[axis]
        if length == 0:
            break
        ahead, behind = narrow(x, axis, 1, length - 1), narrow(x, axis, 0, length - 1)
        x = ahead != behind if x._data.dtype == np.bool_ else ahead - behind
    return x


def trapezoid(y, x=None, *, dx=None, dim: int = -1, axis=None):
    """The integral of ``y`` along ``dim`` by the trapezoidal rule, at sample points ``x`` (1-D, or
    ``y``'s shape) or spaced ``dx`` apart (1 by default)."""
    if axis is not None:
        dim = dim_from_axis("trapezoid", dim, axis, -1)
    return _trapezoid_sums(y, x, dx, dim, "trapezoid").sum(dim)


trapz = trapezoid


def cumulative_trapezoid(y, x=None, *, dx=None, dim: int = -1, axis=None):
    """The running trapezoidal integral of ``y`` along ``dim``: one element fewer than ``y`` there."""
    if axis is not None:
        dim = dim_from_axis("cumulative_trapezoid", dim, axis, -1)
    return cumsum(_trapezoid_sums(y, x, dx, dim, "cumulative_trapezoid"), dim)


def _trapezoid_sums(y, x, dx, dim, name):
    """The area of each trapezoid between neighbouring samples."""
    if x is not None and dx is not None:
        raise TypeError(f"{name}() received both x and dx; pass one of them")
    if y._data.dtype == np.bool_:
        raise RuntimeError(f"{name}: received a bool input for `y`, but bool is not supported")
    y = default_float(y)
    axis = normalize_dim(dim, y._data.ndim, name)
    length = y.shape[axis]
    if length == 0:
        return narrow(y, axis, 0, 0)
    mean_heights = (narrow(y, axis, 1, length - 1) + narrow(y, axis, 0, length - 1)) / 2
    if x is None:
        return mean_heights * (1.0 if dx is None else dx)
    if x._data.ndim == 1:  # the sample points of every slice along dim
        if x.shape[0] != length:
            raise RuntimeError(f"{name}: There must be one `x` value for each sample point")
        shape = [1] * y._data.ndim
        shape[axis] = length
        x = x.reshape(shape)
        spacing = x.narrow(axis, 1, length - 1) - x.narrow(axis, 0, length - 1)
    else:
        x_axis = normalize_dim(dim, x._data.ndim, name)
        spacing = narrow(x, x_axis, 1, length - 1) - narrow(x, x_axis, 0, length - 1)
    return mean_heights * spacing


def gradient(input, *, spacing=1, dim=None, edge_order: int = 1, axis=None):
    """Estimates the derivative of ``input`` along each of ``dim`` (every dimension by default) by central
    differences inside and one-sided differences (of order ``edge_order``) at the ends, as numpy's.

    ``spacing`` is a number, one number per dimension, or one 1-D tensor of coordinates per dimension.
    Returns a tuple with one tensor per dimension.
    """
    if axis is not None:
        dim = dim_from_axis("gradient", dim, axis)
    if edge_order not in (1, 2):
        raise RuntimeError(f"torch.gradient only supports edge_order=1 and edge_order=2, got {edge_order}")
    if input._data.dtype in (np.bool_, np.uint8):
        raise RuntimeError(f"torch.gradient does not support {input._data.dtype.name} input.")
    ndim = input._data.ndim
    dims = list(range(ndim)) if dim is None else [dim] if isinstance(dim, int) else list(dim)
    dims = [normalize_dim(d, ndim, "gradient") for d in dims]
    spacings = list(spacing) if isinstance(spacing, (list, tuple)) else [spacing] * len(dims)
    if len(spacings) != len(dims):
        raise RuntimeError(f"torch.gradient expected spacing to be unspecified, a scalar or it's spacing and dim "
                           f"arguments to have the same length, but got a spacing argument of length "
                           f"{len(spacings)} and a dim argument of length {len(dims)}.")
    for d in dims:
        if input._data.shape[d] < edge_order + 1:
            raise RuntimeError("torch.gradient expected each dimension size to be at least edge_order+1")
    f = default_float(input)
    return tuple(_gradient_along(f, d, s, edge_order) for d, s in zip(dims, spacings))


def _gradient_along(f, axis, spacing, edge_order):
    n = f.shape[axis]
    if isinstance(spacing, Tensor):  # sample coordinates along the axis
        x = spacing._data.astype(np.float64)
    else:
        x = np.arange(n, dtype=np.float64) * float(spacing.item() if hasattr(spacing, "item") else spacing)
    dtype = f._data.dtype

    def part(start, length):
        return narrow(f, axis, start, length)

    def coefficient(values):  # per-position weights, broadcast along the axis
        shape = [1] * f._data.ndim
        shape[axis] = -1
        return Tensor._wrap(np.asarray(values, dtype).reshape(shape))

    # inside: the second-order central difference for uneven steps (numpy's formula)
    left, right = x[1:-1] - x[:-2], x[2:] - x[1:-1]
    inside = (part(0, n - 2) * coefficient(-right / (left * (left + right)))
              + part(1, n - 2) * coefficient((right - left) / (left * right))
              + part(2, n - 2) * coefficient(left / (right * (left + right))))
    if edge_order == 1:
        first = (part(1, 1) - part(0, 1)) / float(x[1] - x[0])
        last = (part(n - 1, 1) - part(n - 2, 1)) / float(x[-1] - x[-2])
    else:
        h1, h2 = x[1] - x[0], x[2] - x[1]
        first = (part(0, 1) * float(-(2 * h1 + h2) / (h1 * (h1 + h2))) + part(1, 1) * float((h1 + h2) / (h1 * h2))
                 + part(2, 1) * float(-h1 / (h2 * (h1 + h2))))
        h1, h2 = x[-2] - x[-3], x[-1] - x[-2]
        last = (part(n - 3, 1) * float(h2 / (h1 * (h1 + h2))) + part(n - 2, 1) * float(-(h1 + h2) / (h1 * h2))
                + part(n - 1, 1) * float((2 * h2 + h1) / (h2 * (h1 + h2))))
    return cat([first, inside, last], axis)
