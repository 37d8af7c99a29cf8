"""Sorting and selection: sort, argsort, topk, median, unique, bincount.

Indices never carry gradients; values are gathered from the input, so their gradient flows
back to the selected elements through ``gather``.
"""

from __future__ import annotations

from builtins import range as builtins_range  # ``range`` is an argument name below, as torch's
from typing import NamedTuple

import numpy as np

from .._numpy_names import dim_from_axis, numpy_names
from ..tensor import Tensor
from ._op import Op, _not_implemented_for
from ._results import _MinMaxResult
from ._util import normalize_dim
from .arithmetic import where
from .gather_scatter import gather
from .joining import stack


def _order(data: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    """Stable argsort; descending keeps equal elements in their original order, as PyTorch's stable sort."""
    if not descending:
        return np.argsort(data, axis=axis, kind="stable")
    if data.dtype.kind in "bu":
        data = data.astype(np.int64)
    return np.argsort(-data, axis=axis, kind="stable")


def sort(input, dim: int = -1, descending: bool = False, stable: bool = False, *, axis=None):
    """``(values, indices)`` sorted along ``dim``; NaNs sort last (ascending), as in PyTorch."""
    if axis is not None:
        dim = dim_from_axis("sort", dim, axis, -1)
    if input._data.ndim == 0:
        return _MinMaxResult(input, Tensor._wrap(np.zeros((), np.int64)), "sort")
    axis = normalize_dim(dim, input._data.ndim, "sort")
    indices = Tensor._wrap(_order(input._data, axis, descending).astype(np.int64))
    return _MinMaxResult(gather(input, axis, indices), indices, "sort")


def argsort(input, dim: int = -1, descending: bool = False, stable: bool = False, *, axis=None):
    if axis is not None:
        dim = dim_from_axis("argsort", dim, axis, -1)
    return sort(input, dim, descending, stable).indices


def topk(input, k: int, dim: int = -1, largest: bool = True, sorted: bool = True, *, axis=None):  # noqa: A002
    """The ``k`` largest (or smallest) elements along ``dim`` and their indices."""
    if axis is not None:
        dim = dim_from_axis("topk", dim, axis, -1)
    axis = normalize_dim(dim, input._data.ndim, "topk")
    size = input._data.shape[axis] if input._data.ndim else 1
    if not 0 <= k <= size:
        raise RuntimeError(f"topk: k ({k}) is out of range for dimension {dim} of size {size}")
    order = _order(input._data, axis, descending=largest)
    indices = Tensor._wrap(np.take(order, np.arange(k), axis=axis).astype(np.int64))
    return _MinMaxResult(gather(input, axis, indices), indices, "topk")


def kthvalue(input, k: int, dim: int = -1, keepdim: bool = False, *, axis=None, keepdims=None):
    if axis is not None or keepdims is not None:
        dim, keepdim = numpy_names("kthvalue", dim, keepdim, axis, keepdims, -1)
    axis = normalize_dim(dim, input._data.ndim, "kthvalue")
    order = _order(input._data, axis, descending=False)
    indices = Tensor._wrap(np.take(order, [k - 1], axis=axis).astype(np.int64))
    values = gather(input, axis, indices)
    if not keepdim:
        values, indices = values.squeeze(axis), indices.squeeze(axis)
    return _MinMaxResult(values, indices, "kthvalue")


def median(input, dim: int | None = None, keepdim: bool = False, *, axis=None, keepdims=None):
    """The lower median (PyTorch's: no averaging of the two middle values), NaN where there is a NaN; with
    ``dim``, also the indices."""
    if axis is not None or keepdims is not None:
        dim, keepdim = numpy_names("median", dim, keepdim, axis, keepdims)
    return _median(input, dim, keepdim, ignore_nan=False, name="median")


def nanmedian(input, dim: int | None = None, keepdim: bool = False, *, axis=None, keepdims=None):
    """``median`` of the non-NaN elements (NaN where all are NaN); with ``dim``, also the indices."""
    if axis is not None or keepdims is not None:
        dim, keepdim = numpy_names("nanmedian", dim, keepdim, axis, keepdims)
    return _median(input, dim, keepdim, ignore_nan=True, name="nanmedian")


def _median(input, dim, keepdim, ignore_nan, name):
    if input._data.dtype == np.bool_:
        raise _not_implemented_for("median_cpu" if dim is None else "median_out", input)
    if dim is None:
        if input._data.size == 0:  # NaN, as torch
            return Tensor._wrap(np.full((), np.nan, input._data.dtype if input._data.dtype.kind == "f" else None))
        value = _median(input.reshape(-1), 0, False, ignore_nan, name).values
        return _SharedByTies.apply(input, value._data)
    axis = normalize_dim(dim, input._data.ndim, name)
    if input._data.ndim == 0:
        return _MinMaxResult(input * 1, Tensor._wrap(np.zeros((), np.int64)), name)
    x = input._data
    size = x.shape[axis]
    nans = np.isnan(x).sum(axis=axis, keepdims=True) if x.dtype.kind == "f" else np.zeros(
        [1 if i == axis else n for i, n in enumerate(x.shape)], np.int64)
    if ignore_nan:  # the lower median of the valid elements
        position = np.maximum(size - nans - 1, 0) // 2
    else:  # a NaN wins: the first one (NaNs sort last, in their order)
        position = np.where(nans > 0, size - nans, (size - 1) // 2)
    order = _order(x, axis, descending=False)
    indices = Tensor._wrap(np.take_along_axis(order, position, axis=axis).astype(np.int64))
    values = gather(input, axis, indices)
    if not keepdim:
        values, indices = values.squeeze(axis), indices.squeeze(axis)
    return _MinMaxResult(values, indices, name)


class _SharedByTies(Op):
    """A value chosen from ``a`` (the median of all elements), whose gradient is shared evenly between the
    elements equal to it (NaNs, for a NaN), as torch does."""

    @staticmethod
    def forward(ctx, a, value):
        ctx.save_for_backward(a)
        ctx.value = value
        return value.copy()

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        hits = np.isnan(a._data) if np.isnan(ctx.value) else a._data == ctx.value
        share = hits.astype(grad._data.dtype) / max(int(hits.sum()), 1)
        return grad * Tensor._wrap(share), None


def unique(input, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False,  # noqa: A002
           dim: int | None = None):
    values, inverse, counts = np.unique(input._data, return_inverse=True, return_counts=True, axis=dim)
    out = [Tensor._wrap(values)]
    if return_inverse:
        out.append(Tensor._wrap(inverse.reshape(input._data.shape if dim is None else -1).astype(np.int64)))
    if return_counts:
        out.append(Tensor._wrap(counts.astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


def bincount(input, weights=None, minlength: int = 0):
    if input._data.ndim != 1 or input._data.dtype.kind not in "iu":
        raise RuntimeError(f"bincount only supports 1-d non-negative integral inputs, got {input.dtype} "
                           f"of shape {tuple(input.shape)}")
    w = None if weights is None else weights._data
    counts = np.bincount(input._data, weights=w, minlength=minlength)
    return Tensor._wrap(counts.astype(np.int64) if w is None else counts.astype(w.dtype))



# --- searching and counting (no gradients) -------------------------------------------------------
def searchsorted(sorted_sequence, input, *, out_int32: bool = False, right: bool = False, side: str | None = None,
                 sorter=None):
    """For each value in ``input``, the index at which inserting it keeps ``sorted_sequence`` sorted
    (``side="right"``: after equal elements). An N-D sequence is searched row by row."""
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but got {side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, got side of left "
                               "while right was True")
        right = side == "right"
    boundaries = sorted_sequence._data
    if sorter is not None:
        boundaries = np.take_along_axis(boundaries, sorter._data, axis=-1)
    values = input._data if isinstance(input, Tensor) else np.asarray(input)
    side = "right" if right else "left"
    if boundaries.ndim <= 1:
        out = np.searchsorted(boundaries, values, side=side)
    else:
        if values.shape[:-1] != boundaries.shape[:-1]:
            raise RuntimeError(
                f"torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 dimensions of "
                f"boundaries tensor and input value tensor must match, but we got boundaries tensor "
                f"{list(boundaries.shape)} and input value tensor {list(values.shape)}")
        rows = boundaries.reshape(-1, boundaries.shape[-1])
        queries = values.reshape(-1, values.shape[-1])
        out = np.stack([np.searchsorted(r, q, side=side) for r, q in zip(rows, queries)]).reshape(values.shape)
    if values.dtype.kind == "f":  # a NaN goes after everything, as in torch (numpy puts it before NaNs)
        out = np.where(np.isnan(values), boundaries.shape[-1] if boundaries.ndim else 0, out)
    return Tensor._wrap(np.asarray(out, np.int32 if out_int32 else np.int64))


def bucketize(input, boundaries, *, out_int32: bool = False, right: bool = False):
    """The bucket of each value of ``input`` among the 1-D sorted ``boundaries`` (``searchsorted`` with the
    arguments the other way round)."""
    if boundaries._data.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({boundaries._data.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


def histc(input, bins: int = 100, min: float = 0, max: float = 0):  # noqa: A002
    """Counts of ``input`` in ``bins`` equal bins over ``[min, max]`` (the data's range when both are 0);
    values outside are ignored."""
    if input._data.dtype.kind != "f":
        raise _not_implemented_for("histogram_cpu", input)
    x = input._data.reshape(-1)
    low, high = float(min), float(max)
    if low > high:
        raise RuntimeError("torch.histc: max must be larger than min")
    if low == high and x.size:
        low, high = float(x.min()), float(x.max())
    if low == high:
        low, high = low - 1, high + 1
    if not (np.isfinite(low) and np.isfinite(high)):
        raise RuntimeError(f"torch.histc: range of [{low:g}, {high:g}] is not finite")
    inside = x[(x >= low) & (x <= high)]
    position = ((inside - low) * bins / (high - low)).astype(np.int64)
    position[position == bins] = bins - 1  # the maximum belongs to the last bin
    return Tensor._wrap(np.bincount(position, minlength=bins).astype(input._data.dtype))


# named as torch's return type (the class syntax would clash with the function's name)
_Histogram = NamedTuple("histogram", [("hist", Tensor), ("bin_edges", Tensor)])  # noqa: UP014


def histogram(input, bins=100, *, range=None, weight=None, density: bool = False):  # noqa: A002
    """``(hist, bin_edges)`` as ``numpy.histogram``: ``bins`` a count or a tensor of edges."""
    if input._data.dtype.kind != "f":
        raise _not_implemented_for("histogram_cpu", input)
    edges = bins._data if isinstance(bins, Tensor) else int(bins)
    hist, bin_edges = np.histogram(input._data.reshape(-1), bins=edges, range=range, density=density,
                                   weights=None if weight is None else weight._data.reshape(-1))
    dtype = input._data.dtype
    return _Histogram(Tensor._wrap(hist.astype(dtype)), Tensor._wrap(bin_edges.astype(dtype)))


# named as torch's return type (the class syntax would clash with the function's name)
_Histogramdd = NamedTuple("histogramdd", [("hist", Tensor), ("bin_edges", tuple)])  # noqa: UP014


def histogramdd(input, bins, *, range=None, weight=None, density: bool = False):  # noqa: A002
    """The histogram of the points in the rows of ``input`` (``(N, D)``): ``bins`` a count, one count per
    dimension or one tensor of edges per dimension; ``range`` is ``[low_0, high_0, low_1, high_1, ...]``."""
    if input._data.dtype.kind != "f":
        raise _not_implemented_for("histogramdd", input)
    points = input._data.reshape(-1, input._data.shape[-1])
    dims = points.shape[1]
    if isinstance(bins, (list, tuple)):
        bins = [b._data if isinstance(b, Tensor) else int(b) for b in bins]
    else:
        bins = int(bins)
    ranges = None if range is None else [(range[2 * d], range[2 * d + 1]) for d in builtins_range(dims)]
    hist, edges = np.histogramdd(points, bins=bins, range=ranges, density=density,
                                 weights=None if weight is None else weight._data.reshape(-1))
    dtype = input._data.dtype
    return _Histogramdd(Tensor._wrap(hist.astype(dtype)), tuple(Tensor._wrap(e.astype(dtype)) for e in edges))


def isin(elements, test_elements, *, assume_unique: bool = False, invert: bool = False):
    """Whether each element of ``elements`` occurs in ``test_elements`` (either may be a number)."""
    values = elements._data if isinstance(elements, Tensor) else np.asarray(elements)
    tests = test_elements._data if isinstance(test_elements, Tensor) else np.asarray(test_elements)
    return Tensor._wrap(np.asarray(np.isin(values, tests, assume_unique=assume_unique, invert=invert)))


def unique_consecutive(input, return_inverse: bool = False, return_counts: bool = False, dim: int | None = None):
    """Removes consecutive repeats (of elements, or of slices along ``dim``), like the Unix ``uniq``."""
    x = input._data
    if dim is None:
        flat = x.reshape(-1)
        starts = np.concatenate([[True], flat[1:] != flat[:-1]]) if flat.size else np.zeros(0, bool)
        values = flat[starts]
        shape = x.shape
    else:
        axis = normalize_dim(dim, x.ndim, "unique_consecutive")
        moved = np.moveaxis(x, axis, 0).reshape(x.shape[axis], -1)
        changed = np.any(moved[1:] != moved[:-1], axis=1)
        starts = np.concatenate([[True], changed]) if moved.shape[0] else np.zeros(0, bool)
        values = np.compress(starts, x, axis=axis)
        shape = (x.shape[axis],)
    out = [Tensor._wrap(np.ascontiguousarray(values))]
    if return_inverse:
        out.append(Tensor._wrap((np.cumsum(starts) - 1).astype(np.int64).reshape(shape)))
    if return_counts:
        bounds = np.append(np.flatnonzero(starts), starts.size)
        out.append(Tensor._wrap(np.diff(bounds).astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


# --- quantiles and mode ----------------------------------------------------------------------------
_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(input, q, dim, keepdim, interpolation, ignore_nan, name):
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"{name}() input tensor must be either float or double dtype")
    q_values = np.asarray(q._data if isinstance(q, Tensor) else q, dtype=np.float64)
    if q_values.ndim > 1:
        raise RuntimeError(f"{name}() q must be a scalar or 1D tensor")
    if np.any((q_values < 0) | (q_values > 1)):
        raise RuntimeError(f"{name}() q must be in the range [0, 1] but got {q_values.tolist()}")
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError(f"{name}() interpolation must be one of linear, lower, higher, midpoint or nearest. "
                           f"Got {interpolation}")
    if input._data.size == 0:
        raise RuntimeError(f"{name}() input tensor must be non-empty")
    x, axis = (input.reshape(-1), 0) if dim is None else (input, normalize_dim(dim, input._data.ndim, name))
    if x._data.ndim == 0:
        x, axis = x.reshape(1), 0
    ordered = sort(x, axis).values  # NaNs last
    nans = np.isnan(x._data).sum(axis=axis, keepdims=True)
    count = x.shape[axis] - (nans if ignore_nan else 0) * np.ones_like(nans)
    results = []
    for q_k in q_values.reshape(-1):
        rank = q_k * (np.maximum(count, 1) - 1)
        if interpolation == "nearest":
            rank = np.round(rank)  # half to even, as torch's round
        below, above = np.floor(rank).astype(np.int64), np.ceil(rank).astype(np.int64)
        low = gather(ordered, axis, Tensor._wrap(below))
        high = gather(ordered, axis, Tensor._wrap(above))
        if interpolation in ("lower", "nearest"):
            value = low
        elif interpolation == "higher":
            value = high
        elif interpolation == "midpoint":
            value = (low + high) / 2
        else:
            weight = Tensor._wrap((rank - below).astype(x._data.dtype))
            value = low + weight * (high - low)
        # quantile of a slice with a NaN is NaN; nanquantile of an all-NaN slice too
        undefined = (count == 0) if ignore_nan else (nans > 0)
        if undefined.any():
            value = where(Tensor._wrap(undefined), Tensor._wrap(np.full((), np.nan, x._data.dtype)), value)
        results.append(value if keepdim else value.squeeze(axis))
    out = results[0] if q_values.ndim == 0 else stack(results, 0)
    if keepdim and dim is None:  # every dimension kept as size 1, after the q axis
        out = out.reshape(tuple(out.shape[:-1]) + (1,) * input._data.ndim)
    return out


def quantile(input, q, dim: int | None = None, keepdim: bool = False, *, interpolation: str = "linear", axis=None, keepdims=None):
    """The ``q``-th quantiles (a number or a 1-D tensor, the new first axis) along ``dim`` or of all
    elements; a slice holding a NaN gives NaN."""
    if axis is not None or keepdims is not None:
        dim, keepdim = numpy_names("quantile", dim, keepdim, axis, keepdims)
    return _quantile(input, q, dim, keepdim, interpolation, False, "quantile")


def nanquantile(input, q, dim: int | None = None, keepdim: bool = False, *, interpolation: str = "linear", axis=None, keepdims=None):
    """``quantile`` ignoring NaNs (NaN only where a slice is all NaN)."""
    if axis is not None or keepdims is not None:
        dim, keepdim = numpy_names("nanquantile", dim, keepdim, axis, keepdims)
    return _quantile(input, q, dim, keepdim, interpolation, True, "nanquantile")


def mode(input, dim: int = -1, keepdim: bool = False, *, axis=None, keepdims=None):
    """The most frequent value along ``dim`` (the smallest among equally frequent ones) and the index of
    its last occurrence."""
    if axis is not None or keepdims is not None:
        dim, keepdim = numpy_names("mode", dim, keepdim, axis, keepdims, -1)
    if input._data.ndim == 0:
        return _MinMaxResult(input * 1, Tensor._wrap(np.zeros((), np.int64)), "mode")
    axis = normalize_dim(dim, input._data.ndim, "mode")
    if input._data.shape[axis] == 0:
        raise IndexError(f"mode(): Expected reduction dim {axis} to have non-zero size.")
    rows = np.moveaxis(input._data, axis, -1)
    flat = rows.reshape(-1, rows.shape[-1])
    found = np.zeros(flat.shape[0], np.int64)
    for r, row in enumerate(flat):
        # sorted, so argmax takes the smallest; NaNs count one by one (NaN != NaN)
        values, counts = np.unique(row, return_counts=True, equal_nan=False)
        best = values[np.argmax(counts)]
        found[r] = np.flatnonzero((row == best) | (np.isnan(row) & np.isnan(best)) if row.dtype.kind == "f"
                                  else row == best)[-1]
    indices = Tensor._wrap(np.expand_dims(found.reshape(rows.shape[:-1]), axis))
    values = gather(input, axis, indices)
    if not keepdim:
        values, indices = values.squeeze(axis), indices.squeeze(axis)
    return _MinMaxResult(values, indices, "mode")


def msort(input):
    """``input`` sorted along its first dimension."""
    return sort(input, 0).values
