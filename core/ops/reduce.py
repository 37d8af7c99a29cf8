"""Reductions: sum, mean, prod, max/min, logsumexp, norm, all/any. Statistics (var, std, cov) are in
statistics.py, cumulative ops in cumulative.py."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .. import _dtype
from .._numpy_names import dim_from_axis, numpy_names
from ..tensor import Tensor
from ._op import Op, on_arrays
from ._results import _MinMaxResult, _type_name  # noqa: F401 (_MinMaxResult: its old pickle path)
from ._util import default_float, normalize_dim, normalize_dims
from .arithmetic import maximum, minimum, where
from .complex_ops import abs_squared, conj_of
from .cumulative import cumprod
from .gather_scatter import gather
from .joining import cat
from .shape import _broadcast, narrow
from .unary import exp, log


def _expand_back(grad: Tensor, shape, axes, keepdim) -> Tensor:
    """Restores reduced axes (as size 1) so the gradient broadcasts against the input (on the array, without
    the ops, when no graph of the backward is recorded)."""
    kept = tuple([1 if i in axes else n for i, n in enumerate(shape)]) if not keepdim and axes else None
    if on_arrays() and type(grad._data) is np.ndarray:
        return Tensor._wrap(_broadcast(grad._data if kept is None else grad._data.reshape(kept), shape))
    return (grad if kept is None else grad.reshape(kept)).expand(shape)


class Sum(Op):
    @staticmethod
    def forward(ctx, a, axes, keepdim, np_dtype):
        ctx.shape, ctx.axes, ctx.keepdim = a._data.shape, axes, keepdim
        return np.asarray(np.add.reduce(a._data, axis=axes, dtype=np_dtype, keepdims=keepdim))  # (np.sum's
        # wrapper around it is a quarter of a small sum's time)

    @staticmethod
    def backward(ctx, grad):
        return _expand_back(grad, ctx.shape, ctx.axes, ctx.keepdim), None, None, None


class Mean(Op):
    @staticmethod
    def forward(ctx, a, axes, keepdim):
        ctx.shape, ctx.axes, ctx.keepdim = a._data.shape, axes, keepdim
        ctx.count = math.prod(a._data.shape[i] for i in axes)
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
    ones = Tensor._wrap(np.ones(ones_shape, a._data.dtype))
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
        return _expand_back(grad, a.shape, ctx.axes, ctx.keepdim) * Tensor._wrap(mask), None, None, None


# --- functional forms -----------------------------------------------------------------
def sum(input, dim=None, keepdim: bool = False, *, dtype=None, axis=None, keepdims=None):  # noqa: A001
    """Sum over ``dim`` (an int, a tuple, or all); bool and integer inputs sum as int64, like PyTorch."""
    if axis is not None or keepdims is not None:
        dim, keepdim = numpy_names("sum", dim, keepdim, axis, keepdims)
    axes = normalize_dims(dim, input._data.ndim, "sum")
    if dtype is not None:
        np_dtype = _dtype.to_numpy_dtype(dtype)
    elif input._data.dtype.kind in "biu":
        np_dtype = np.int64
    else:
        np_dtype = None
    return Sum.apply(input, axes, keepdim, np_dtype)


def mean(input, dim=None, keepdim: bool = False, *, dtype=None, axis=None, keepdims=None):
    if axis is not None or keepdims is not None:
        dim, keepdim = numpy_names("mean", dim, keepdim, axis, keepdims)
    if dtype is not None:
        input = input.to(dtype)
    if input._data.dtype.kind not in "fc":
        raise RuntimeError(
            f"mean(): could not infer output dtype. Input dtype must be either a floating point or complex "
            f"dtype. Got: {input.dtype}"
        )
    return Mean.apply(input, normalize_dims(dim, input._data.ndim, "mean"), keepdim)


def prod(input, dim=None, keepdim: bool = False, *, dtype=None, axis=None, keepdims=None):
    if axis is not None or keepdims is not None:
        dim, keepdim = numpy_names("prod", dim, keepdim, axis, keepdims)
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


def max(input, dim=None, keepdim: bool = False, *, axis=None, keepdims=None):  # noqa: A001
    """The maximum; with ``dim``, a ``(values, indices)`` tuple. ``max(a, b)`` is ``maximum``."""
    if axis is not None or keepdims is not None:
        dim, keepdim = numpy_names("max", dim, keepdim, axis, keepdims)
    if isinstance(dim, Tensor):
        return maximum(input, dim)
    return _extreme(input, dim, keepdim, True)


def min(input, dim=None, keepdim: bool = False, *, axis=None, keepdims=None):  # noqa: A001
    if axis is not None or keepdims is not None:
        dim, keepdim = numpy_names("min", dim, keepdim, axis, keepdims)
    if isinstance(dim, Tensor):
        return minimum(input, dim)
    return _extreme(input, dim, keepdim, False)


def amax(input, dim=(), keepdim: bool = False, *, axis=None, keepdims=None):
    if axis is not None or keepdims is not None:
        dim, keepdim = numpy_names("amax", dim, keepdim, axis, keepdims, ())
    dims = normalize_dims(dim if dim != () else None, input._data.ndim, "amax")
    return MaxMin.apply(input, dims, keepdim, True)


def amin(input, dim=(), keepdim: bool = False, *, axis=None, keepdims=None):
    if axis is not None or keepdims is not None:
        dim, keepdim = numpy_names("amin", dim, keepdim, axis, keepdims, ())
    dims = normalize_dims(dim if dim != () else None, input._data.ndim, "amin")
    return MaxMin.apply(input, dims, keepdim, False)


def argmax(input, dim=None, keepdim: bool = False, *, axis=None, keepdims=None):
    if axis is not None or keepdims is not None:
        dim, keepdim = numpy_names("argmax", dim, keepdim, axis, keepdims)
    if dim is None:  # the index into the flattened input; keepdim keeps every dimension, as size 1
        index = np.asarray(np.argmax(input._data), dtype=np.int64)
        return Tensor._wrap(index.reshape((1,) * input._data.ndim) if keepdim else index)
    axis = normalize_dim(dim, input._data.ndim, "argmax")
    return Tensor._wrap(np.asarray(np.argmax(input._data, axis=axis, keepdims=keepdim), dtype=np.int64))


def argmin(input, dim=None, keepdim: bool = False, *, axis=None, keepdims=None):
    if axis is not None or keepdims is not None:
        dim, keepdim = numpy_names("argmin", dim, keepdim, axis, keepdims)
    if dim is None:  # the index into the flattened input; keepdim keeps every dimension, as size 1
        index = np.asarray(np.argmin(input._data), dtype=np.int64)
        return Tensor._wrap(index.reshape((1,) * input._data.ndim) if keepdim else index)
    axis = normalize_dim(dim, input._data.ndim, "argmin")
    return Tensor._wrap(np.asarray(np.argmin(input._data, axis=axis, keepdims=keepdim), dtype=np.int64))


def logsumexp(input, dim=None, keepdim: bool = False, *, axis=None, keepdims=None):
    """``log(sum(exp(x)))`` computed stably (the maximum is subtracted first)."""
    if dim is None or axis is not None or keepdims is not None:
        dim, keepdim = numpy_names("logsumexp", dim, keepdim, axis, keepdims, required=True)
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


def all(input, dim=None, keepdim: bool = False, *, axis=None, keepdims=None):  # noqa: A001
    if axis is not None or keepdims is not None:
        dim, keepdim = numpy_names("all", dim, keepdim, axis, keepdims)
    axis = None if dim is None else normalize_dims(dim, input._data.ndim, "all")
    return Tensor._wrap(np.asarray(np.all(input._data, axis=axis, keepdims=keepdim)))


def any(input, dim=None, keepdim: bool = False, *, axis=None, keepdims=None):  # noqa: A001
    if axis is not None or keepdims is not None:
        dim, keepdim = numpy_names("any", dim, keepdim, axis, keepdims)
    axis = None if dim is None else normalize_dims(dim, input._data.ndim, "any")
    return Tensor._wrap(np.asarray(np.any(input._data, axis=axis, keepdims=keepdim)))


def count_nonzero(input, dim=None, *, axis=None):
    if axis is not None:
        dim = dim_from_axis("count_nonzero", dim, axis)
    axis = None if dim is None else normalize_dims(dim, input._data.ndim, "count_nonzero")
    return Tensor._wrap(np.asarray(np.count_nonzero(input._data, axis=axis), dtype=np.int64))


# --- NaN-ignoring reductions ---------------------------------------------------------------------
def nansum(input, dim=None, keepdim: bool = False, *, dtype=None, axis=None, keepdims=None):
    """``sum`` treating NaN as zero (NaNs get a zero gradient)."""
    if axis is not None or keepdims is not None:
        dim, keepdim = numpy_names("nansum", dim, keepdim, axis, keepdims)
    if input._data.dtype.kind == "f":
        input = where(_nan_mask(input), Tensor._wrap(np.zeros((), input._data.dtype)), input)
    return sum(input, dim, keepdim, dtype=dtype)


def nanmean(input, dim=None, keepdim: bool = False, *, dtype=None, axis=None, keepdims=None):
    """The mean of the non-NaN elements (NaN where there are none)."""
    if axis is not None or keepdims is not None:
        dim, keepdim = numpy_names("nanmean", dim, keepdim, axis, keepdims)
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


def aminmax(input, *, dim=None, keepdim: bool = False, axis=None, keepdims=None):
    """``(min, max)`` at once, as a named tuple; the gradient is shared between ties, as for amin/amax."""
    if axis is not None or keepdims is not None:
        dim, keepdim = numpy_names("aminmax", dim, keepdim, axis, keepdims)
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


def dist(input, other, p: float = 2):
    """The ``p``-norm of ``input - other`` (broadcast)."""
    return norm(input - other, p)


def renorm(input, p: float, dim: int | None = None, maxnorm: float | None = None, *, axis=None):
    """Each slice of ``input`` along ``dim`` whose ``p``-norm exceeds ``maxnorm`` scaled down to ``maxnorm``."""
    if axis is not None or maxnorm is None or dim is None:
        dim = dim_from_axis("renorm", dim, axis, maxnorm=maxnorm)
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
