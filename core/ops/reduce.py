"""Reductions: sum, mean, prod, max/min, var/std, logsumexp, norm, cumulative ops."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import _dtype
from ..tensor import Tensor
from ._op import Op
from ._util import default_float, normalize_dim, normalize_dims
from .arithmetic import maximum, minimum, where
from .complex_ops import abs_squared, conj_of
from .index import gather
from .shape import cat, narrow, stack
from .unary import exp, log, sqrt


def _expand_back(grad: Tensor, shape, axes, keepdim) -> Tensor:
    """Restores reduced axes (as size 1) so the gradient broadcasts against the input."""
    if not keepdim and axes:
        grad = grad.reshape(tuple(1 if i in axes else n for i, n in enumerate(shape)))
    return grad.expand(shape)


class Sum(Op):
    @staticmethod
    def forward(ctx, a, axes, keepdim, np_dtype):
        ctx.shape, ctx.axes, ctx.keepdim = a._data.shape, axes, keepdim
        return np.asarray(np.sum(a._data, axis=axes, keepdims=keepdim, dtype=np_dtype))

    @staticmethod
    def backward(ctx, grad):
        return _expand_back(grad, ctx.shape, ctx.axes, ctx.keepdim), None, None, None


class Mean(Op):
    @staticmethod
    def forward(ctx, a, axes, keepdim):
        ctx.shape, ctx.axes, ctx.keepdim = a._data.shape, axes, keepdim
        ctx.count = int(np.prod([a._data.shape[i] for i in axes])) if axes else 1
        if ctx.count == 0:  # nan, without numpy's "Mean of empty slice" warning (PyTorch is silent)
            return np.asarray(np.sum(a._data, axis=axes, keepdims=keepdim) / a._data.dtype.type(0))
        return np.asarray(np.mean(a._data, axis=axes, keepdims=keepdim))

    @staticmethod
    def backward(ctx, grad):
        return _expand_back(grad / ctx.count, ctx.shape, ctx.axes, ctx.keepdim), None, None


class Prod(Op):
    @staticmethod
    def forward(ctx, a, axis, keepdim):
        ctx.save_for_backward(a)
        ctx.axis, ctx.keepdim = axis, keepdim
        return np.asarray(np.prod(a._data, axis=axis, keepdims=keepdim))

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        axes = tuple(range(a.ndim)) if ctx.axis is None else (ctx.axis,)
        grad = _expand_back(grad, a.shape, axes, ctx.keepdim)
        # d prod / d a_i = product of the others, computed without dividing (zeros are safe)
        if ctx.axis is None:
            flat = a.reshape(-1)
            others = _exclusive_cumprod(flat, 0) * _exclusive_cumprod(flat.flip(0), 0).flip(0)
            return grad * conj_of(others.reshape(a.shape)), None, None
        others = _exclusive_cumprod(a, ctx.axis) * _exclusive_cumprod(a.flip(ctx.axis), ctx.axis).flip(ctx.axis)
        return grad * conj_of(others), None, None


def _exclusive_cumprod(a: Tensor, dim: int) -> Tensor:
    ones_shape = list(a.shape)
    ones_shape[dim] = 1
    ones = Tensor(np.ones(ones_shape, a._data.dtype))
    shifted = cat([ones, narrow(a, dim, 0, a.shape[dim] - 1)], dim)
    return cumprod(shifted, dim)


class MaxMin(Op):
    """max / min of all elements, amax / amin: the gradient goes to the extreme values, shared evenly
    between ties (PyTorch's rule; ``max(dim)`` gives it to the returned index instead)."""

    @staticmethod
    def forward(ctx, a, axes, keepdim, is_max):
        out = (np.amax if is_max else np.amin)(a._data, axis=axes, keepdims=True)
        ctx.save_for_backward(a)
        ctx.axes, ctx.keepdim, ctx.extreme = axes, keepdim, out
        return out if keepdim else np.squeeze(out, axis=axes)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        mask = (a._data == ctx.extreme).astype(grad._data.dtype)
        mask /= mask.sum(axis=ctx.axes, keepdims=True)
        return _expand_back(grad, a.shape, ctx.axes, ctx.keepdim) * Tensor(mask), None, None, None


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


# --- functional forms -----------------------------------------------------------------
def sum(input, dim=None, keepdim: bool = False, *, dtype=None):  # noqa: A001
    """Sum over ``dim`` (an int, a tuple, or all); bool and integer inputs sum as int64, like PyTorch."""
    axes = normalize_dims(dim, input._data.ndim, "sum")
    if dtype is not None:
        np_dtype = _dtype.to_numpy_dtype(dtype)
    elif input._data.dtype.kind in "biu":
        np_dtype = np.int64
    else:
        np_dtype = None
    return Sum.apply(input, axes, keepdim, np_dtype)


def mean(input, dim=None, keepdim: bool = False, *, dtype=None):
    if dtype is not None:
        input = input.to(dtype)
    if input._data.dtype.kind not in "fc":
        raise RuntimeError(
            f"mean(): could not infer output dtype. Input dtype must be either a floating point or complex "
            f"dtype. Got: {input.dtype}"
        )
    return Mean.apply(input, normalize_dims(dim, input._data.ndim, "mean"), keepdim)


def prod(input, dim=None, keepdim: bool = False, *, dtype=None):
    if dtype is not None:
        input = input.to(dtype)
    axis = None if dim is None else normalize_dim(dim, input._data.ndim, "prod")
    return Prod.apply(input, axis, keepdim)


def _extreme(input, dim, keepdim, is_max):
    name = "max" if is_max else "min"
    if dim is None:
        if input._data.size == 0:
            raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0.")
        return MaxMin.apply(input, tuple(range(input._data.ndim)), False, is_max)
    axis = normalize_dim(dim, input._data.ndim, name)
    # the values are gathered at the returned indices, so a tie gives the whole gradient to that index
    indices = (np.argmax if is_max else np.argmin)(input._data, axis=axis, keepdims=True)
    indices = Tensor._wrap(indices.astype(np.int64, copy=False))
    values = gather(input, axis, indices)
    if not keepdim:
        values, indices = values.squeeze(axis), indices.squeeze(axis)
    return _MinMaxResult(values, indices, name)


class _MinMaxResult(tuple):
    """``(values, indices)`` with attribute access and a repr naming the op, like PyTorch's named tuple
    (``torch.return_types.max(values=..., indices=...)``)."""

    def __new__(cls, values, indices, op: str = "values_indices"):
        result = super().__new__(cls, (values, indices))
        result.op = op
        return result

    def __repr__(self) -> str:
        return f"ember.return_types.{self.op}(\nvalues={self[0]!r},\nindices={self[1]!r})"

    def __getnewargs__(self):  # copy.deepcopy and pickle rebuild it from these
        return (self[0], self[1], self.op)

    @property
    def values(self):
        return self[0]

    @property
    def indices(self):
        return self[1]


def max(input, dim=None, keepdim: bool = False):  # noqa: A001
    """The maximum; with ``dim``, a ``(values, indices)`` tuple. ``max(a, b)`` is ``maximum``."""
    if isinstance(dim, Tensor):
        return maximum(input, dim)
    return _extreme(input, dim, keepdim, True)


def min(input, dim=None, keepdim: bool = False):  # noqa: A001
    if isinstance(dim, Tensor):
        return minimum(input, dim)
    return _extreme(input, dim, keepdim, False)


def amax(input, dim=(), keepdim: bool = False):
    dims = normalize_dims(dim if dim != () else None, input._data.ndim, "amax")
    return MaxMin.apply(input, dims, keepdim, True)


def amin(input, dim=(), keepdim: bool = False):
    dims = normalize_dims(dim if dim != () else None, input._data.ndim, "amin")
    return MaxMin.apply(input, dims, keepdim, False)


def argmax(input, dim=None, keepdim: bool = False):
    if dim is None:  # the index into the flattened input; keepdim keeps every dimension, as size 1
        index = np.asarray(np.argmax(input._data), dtype=np.int64)
        return Tensor._wrap(index.reshape((1,) * input._data.ndim) if keepdim else index)
    axis = normalize_dim(dim, input._data.ndim, "argmax")
    return Tensor._wrap(np.asarray(np.argmax(input._data, axis=axis, keepdims=keepdim), dtype=np.int64))


def argmin(input, dim=None, keepdim: bool = False):
    if dim is None:  # the index into the flattened input; keepdim keeps every dimension, as size 1
        index = np.asarray(np.argmin(input._data), dtype=np.int64)
        return Tensor._wrap(index.reshape((1,) * input._data.ndim) if keepdim else index)
    axis = normalize_dim(dim, input._data.ndim, "argmin")
    return Tensor._wrap(np.asarray(np.argmin(input._data, axis=axis, keepdims=keepdim), dtype=np.int64))


def var(input, dim=None, *, correction=1, keepdim: bool = False, unbiased=None):
    """Variance with Bessel's ``correction`` (1 by default, as in PyTorch)."""
    if unbiased is not None:
        correction = 1 if unbiased else 0
    if isinstance(dim, bool):  # var(x, False) is the old unbiased positional form
        correction, dim = (1 if dim else 0), None
    input = default_float(input)
    axes = normalize_dims(dim, input._data.ndim, "var")
    n = int(np.prod([input._data.shape[i] for i in axes])) if axes else 1
    centered = input - mean(input, axes, keepdim=True)
    return sum(abs_squared(centered), axes, keepdim=keepdim) / (n - correction if n > correction else 0)


def std(input, dim=None, *, correction=1, keepdim: bool = False, unbiased=None):
    return sqrt(var(input, dim, correction=correction, keepdim=keepdim, unbiased=unbiased))


def var_mean(input, dim=None, *, correction=1, keepdim: bool = False):
    return var(input, dim, correction=correction, keepdim=keepdim), mean(input, dim, keepdim=keepdim)


def std_mean(input, dim=None, *, correction=1, keepdim: bool = False):
    return std(input, dim, correction=correction, keepdim=keepdim), mean(input, dim, keepdim=keepdim)


def logsumexp(input, dim, keepdim: bool = False):
    """``log(sum(exp(x)))`` computed stably (the maximum is subtracted first)."""
    input = default_float(input)
    axes = normalize_dims(dim, input._data.ndim, "logsumexp")
    peak = np.amax(input._data, axis=axes, keepdims=True)
    peak = Tensor._wrap(np.where(np.isfinite(peak), peak, 0).astype(input._data.dtype))
    out = log(sum(exp(input - peak), axes, keepdim=True)) + peak
    return out if keepdim else out.squeeze(axes)


def norm(input, p="fro", dim=None, keepdim: bool = False, dtype=None):
    """Vector p-norm (``p`` a number, ``inf``, ``-inf``, ``"fro"``) or the Frobenius norm."""
    input = default_float(input if dtype is None else input.to(dtype))
    if p == "fro" or p == 2 or p is None:
        squared = sum(abs_squared(input), dim, keepdim=keepdim)
        # sqrt'(0) is infinite; PyTorch defines the norm's gradient at 0 as 0
        return _SafeSqrt.apply(squared)
    if p == float("inf"):
        return amax(input.abs(), dim if dim is not None else (), keepdim=keepdim)
    if p == float("-inf"):
        return amin(input.abs(), dim if dim is not None else (), keepdim=keepdim)
    if p == 0:
        return sum(input != 0, dim, keepdim=keepdim).to(input.dtype)
    if p == 1:
        return sum(input.abs(), dim, keepdim=keepdim)
    return sum(input.abs() ** p, dim, keepdim=keepdim) ** (1.0 / p)


class _SafeSqrt(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_output()
        return np.sqrt(a._data)

    @staticmethod
    def backward(ctx, grad):
        out = ctx.output
        return where(out == 0, 0.0, grad / (2 * out))


def cumsum(input, dim, *, dtype=None):
    if dtype is not None:
        input = input.to(dtype)
    elif input._data.dtype.kind in "biu":
        input = input.to(_dtype.int64)
    return Cumsum.apply(input, normalize_dim(dim, input._data.ndim, "cumsum"))


def cumprod(input, dim, *, dtype=None):
    if dtype is not None:
        input = input.to(dtype)
    return Cumprod.apply(input, normalize_dim(dim, input._data.ndim, "cumprod"))


def all(input, dim=None, keepdim: bool = False):  # noqa: A001
    axis = None if dim is None else normalize_dims(dim, input._data.ndim, "all")
    return Tensor._wrap(np.asarray(np.all(input._data, axis=axis, keepdims=keepdim)))


def any(input, dim=None, keepdim: bool = False):  # noqa: A001
    axis = None if dim is None else normalize_dims(dim, input._data.ndim, "any")
    return Tensor._wrap(np.asarray(np.any(input._data, axis=axis, keepdims=keepdim)))


def count_nonzero(input, dim=None):
    axis = None if dim is None else normalize_dims(dim, input._data.ndim, "count_nonzero")
    return Tensor._wrap(np.asarray(np.count_nonzero(input._data, axis=axis), dtype=np.int64))


# --- NaN-ignoring reductions ---------------------------------------------------------------------
def nansum(input, dim=None, keepdim: bool = False, *, dtype=None):
    """``sum`` treating NaN as zero (NaNs get a zero gradient)."""
    if input._data.dtype.kind == "f":
        input = where(_nan_mask(input), Tensor._wrap(np.zeros((), input._data.dtype)), input)
    return sum(input, dim, keepdim, dtype=dtype)


def nanmean(input, dim=None, keepdim: bool = False, *, dtype=None):
    """The mean of the non-NaN elements (NaN where there are none)."""
    if dtype is not None:
        input = input.to(dtype)
    if input._data.dtype.kind != "f":
        raise RuntimeError(
            f"nanmean(): expected input to have floating point or complex dtype but got {_type_name(input)}"
        )
    count = sum(~_nan_mask(input), dim, keepdim).to(input.dtype)
    return nansum(input, dim, keepdim) / count


def _nan_mask(input) -> Tensor:
    return Tensor._wrap(np.isnan(input._data))


def _type_name(input) -> str:
    from ._op import _TORCH_TYPE_NAMES

    return _TORCH_TYPE_NAMES.get(input._data.dtype.name, input._data.dtype.name)


def aminmax(input, *, dim=None, keepdim: bool = False):
    """``(min, max)`` at once, as a named tuple; the gradient is shared between ties, as for amin/amax."""
    dims = () if dim is None else dim
    if dim is None and input._data.size == 0:
        raise RuntimeError(
            "aminmax(): cannot compute aminmax over an empty dimension as the operation has no identity."
        )
    if dim is not None and input._data.ndim and input.shape[normalize_dim(dim, input.ndim, "aminmax")] == 0:
        raise IndexError(f"aminmax: Expected reduction dim {dim} to have non-zero size.")
    if dim is None and keepdim:  # torch keeps every dimension as size 1
        dims = tuple(range(input._data.ndim))
    return _Aminmax(amin(input, dims, keepdim), amax(input, dims, keepdim))


# named as torch's return type (the class syntax would clash with the function's name)
_Aminmax = NamedTuple("aminmax", [("min", Tensor), ("max", Tensor)])  # noqa: UP014


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


def logcumsumexp(input, dim: int):
    """``log(cumsum(exp(input), dim))``, computed stably."""
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


def cummax(input, dim: int):
    """Running maximum along ``dim``: ``(values, indices)``; the gradient goes to the selected elements."""
    return _cumulative_extreme(input, dim, True, "cummax")


def cummin(input, dim: int):
    """Running minimum along ``dim``: ``(values, indices)``; the gradient goes to the selected elements."""
    return _cumulative_extreme(input, dim, False, "cummin")


# --- differences, integrals, statistics ----------------------------------------------------------
def diff(input, n: int = 1, dim: int = -1, prepend=None, append=None):
    """The ``n``-th forward difference along ``dim`` (``prepend`` / ``append`` joined first); bool
    inputs give ``!=`` of neighbours, as in torch."""
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


def trapezoid(y, x=None, *, dx=None, dim: int = -1):
    """The integral of ``y`` along ``dim`` by the trapezoidal rule, at sample points ``x`` (1-D, or
    ``y``'s shape) or spaced ``dx`` apart (1 by default)."""
    return _trapezoid_sums(y, x, dx, dim, "trapezoid").sum(dim)


trapz = trapezoid


def cumulative_trapezoid(y, x=None, *, dx=None, dim: int = -1):
    """The running trapezoidal integral of ``y`` along ``dim``: one element fewer than ``y`` there."""
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


def cov(input, *, correction: int = 1, fweights=None, aweights=None):
    """The covariance matrix of the variables in the rows of ``input`` (observations in the columns),
    with integer frequency weights ``fweights`` and observation weights ``aweights``."""
    if input._data.ndim > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an input with "
                           f"{input._data.ndim} dimensions")
    if input._data.dtype == np.bool_:
        raise RuntimeError("cov(): bool dtype is not supported for input")
    x = default_float(input)
    x = x.reshape(1, -1) if x._data.ndim < 2 else x
    observations = x.shape[1]
    weights = None
    if fweights is not None:
        if fweights._data.dtype.kind not in "iu":
            raise RuntimeError(f"cov(): expected fweights to have integral dtype but got fweights with "
                               f"{fweights.dtype} dtype")
        weights = fweights.to(x.dtype)
    if aweights is not None:
        if aweights._data.dtype.kind != "f":
            raise RuntimeError(f"cov(): expected aweights to have floating point dtype but got aweights with "
                               f"{aweights.dtype} dtype")
        weights = aweights.to(x.dtype) if weights is None else weights * aweights.to(x.dtype)
    if weights is None:
        total = observations
        average = mean(x, 1, keepdim=True)
        norm_factor = total - correction
    else:
        total = sum(weights)
        average = sum(x * weights, 1, keepdim=True) / total
        norm_factor = total - correction * (sum(weights * aweights) / total if aweights is not None else 1)
    if not isinstance(norm_factor, Tensor):
        norm_factor = Tensor._wrap(np.asarray(norm_factor, x._data.dtype))
    norm_factor = maximum(norm_factor, Tensor._wrap(np.zeros((), x._data.dtype)))  # as torch: never negative
    centered = x - average
    weighted = centered if weights is None else centered * weights
    out = (weighted @ centered.mT) / norm_factor
    return out.reshape(()) if input._data.ndim < 2 or out.shape == (1, 1) else out  # one variable: 0-d, as torch


def corrcoef(input):
    """Pearson correlation coefficients of the variables in the rows of ``input``."""
    c = cov(input)
    if c._data.ndim == 0:
        return c / c
    std_dev = sqrt(c.diagonal())
    c = c / std_dev.reshape(-1, 1) / std_dev.reshape(1, -1)
    return c.clamp(-1, 1)


def dist(input, other, p: float = 2):
    """The ``p``-norm of ``input - other`` (broadcast)."""
    return norm(input - other, p)


def renorm(input, p: float, dim: int, maxnorm: float):
    """Each slice of ``input`` along ``dim`` whose ``p``-norm exceeds ``maxnorm`` scaled down to ``maxnorm``."""
    if p <= 0:
        raise RuntimeError("renorm: non-positive-norm not supported")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    axis = normalize_dim(dim, input._data.ndim, "renorm")
    others = tuple(d for d in range(input._data.ndim) if d != axis)
    norms = norm(input, p, others, keepdim=True)
    # torch's factor, 1e-7 keeping the division finite
    scale = where(norms > maxnorm, maxnorm / (norms + 1e-7), Tensor._wrap(np.ones((), input._data.dtype)))
    return input * scale


def sum_to_size(input, *size):
    """``input`` summed down to ``size`` (which ``input`` must broadcast from): ``Tensor.sum_to_size``."""
    size = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (list, tuple)) else tuple(size)
    shape = tuple(input._data.shape)
    lead = len(shape) - len(size)
    if lead < 0 or [s for s, n in zip(size, shape[lead:]) if s != 1 and s != n]:  # (``any`` is the op here)
        raise RuntimeError(f"size {list(size)} is not expandable to size {list(shape)}.")
    axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(size) if s == 1 and shape[lead + i] != 1)
    out = sum(input, axes, keepdim=True) if axes else input
    return out.reshape(size) if tuple(out.shape) != size else out


def gradient(input, *, spacing=1, dim=None, edge_order: int = 1):
    """Estimates the derivative of ``input`` along each of ``dim`` (every dimension by default) by central
    differences inside and one-sided differences (of order ``edge_order``) at the ends, as numpy's.

    ``spacing`` is a number, one number per dimension, or one 1-D tensor of coordinates per dimension.
    Returns a tuple with one tensor per dimension.
    """
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
