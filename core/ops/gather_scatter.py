"""Reads and writes along one dimension by an index tensor: gather / scatter (and scatter_add,
scatter_reduce), index_select / index_add / index_copy / index_fill / index_reduce, take, take_along_dim
and put."""

from __future__ import annotations

import numpy as np

from .._numpy_names import dim_from_axis
from ..tensor import Tensor
from ._op import Op, on_arrays
from ._util import as_operand, data_of, normalize_dim
from .arithmetic import where
from .index import getitem, index_put
from .masked import masked_fill


def _gather_index(dim, index, ndim):
    """Open-mesh index selecting ``index`` along ``dim`` and the same position elsewhere."""
    grids = list(np.ogrid[tuple(slice(n) for n in index.shape)])
    grids[dim] = index
    return tuple(grids)


class Gather(Op):
    @staticmethod
    def forward(ctx, a, dim, index):
        ctx.shape, ctx.dim, ctx.index = a._data.shape, dim, index._data
        return _take_along(a._data, dim, index._data)

    @staticmethod
    def backward(ctx, grad):
        if on_arrays() and ctx.index.shape[ctx.dim] == 1:  # one element of each slice: nothing to sum
            out = np.zeros(ctx.shape, grad._data.dtype)
            np.put_along_axis(out[_block(ctx.dim, ctx.index)], ctx.index, grad._data, axis=ctx.dim)
            return Tensor._wrap(out), None, None
        zeros = Tensor._wrap(np.zeros(ctx.shape, grad._data.dtype))
        return scatter_add(zeros, ctx.dim, Tensor._wrap(ctx.index), grad), None, None


class ScatterAdd(Op):
    @staticmethod
    def forward(ctx, a, dim, index, src):
        ctx.dim, ctx.index = dim, index._data
        out = a._data.copy()
        np.add.at(out, _gather_index(dim, index._data, a._data.ndim), data_of(src)[_src_view(index._data)])
        return out

    @staticmethod
    def backward(ctx, grad):
        gsrc = gather(grad, ctx.dim, Tensor._wrap(ctx.index)) if ctx.needs_input_grad[3] else None
        return grad, None, None, gsrc


class Scatter(Op):
    @staticmethod
    def forward(ctx, a, dim, index, src):
        ctx.dim, ctx.index = dim, index._data
        out = a._data.copy()
        value = data_of(src)
        out[_gather_index(dim, index._data, a._data.ndim)] = value[_src_view(index._data)] if isinstance(
            value, np.ndarray) and value.ndim else value
        return out

    @staticmethod
    def backward(ctx, grad):
        index = _gather_index(ctx.dim, ctx.index, grad.ndim)
        mask = np.ones(grad.shape, dtype=bool)
        mask[index] = False
        ga = grad * Tensor._wrap(mask) if ctx.needs_input_grad[0] else None
        gsrc = gather(grad, ctx.dim, Tensor._wrap(ctx.index)) if ctx.needs_input_grad[3] else None
        return ga, None, None, gsrc


def _block(dim: int, index: np.ndarray) -> tuple:
    """The leading block of the axes other than ``dim`` that ``index`` covers: all torch's gather reads (numpy's
    ``take_along_axis`` would broadcast a smaller index instead)."""
    return tuple(slice(None) if d == dim else slice(0, n) for d, n in enumerate(index.shape))


def _take_along(x: np.ndarray, dim: int, index: np.ndarray) -> np.ndarray:
    """torch's gather on arrays."""
    return np.take_along_axis(x[_block(dim, index)], index, axis=dim)


def _src_view(index: np.ndarray):
    """``src`` may be larger than ``index``; only its leading block of index's shape is used."""
    return tuple(slice(0, n) for n in index.shape)


def _check_index(index, op):
    if not isinstance(index, Tensor) or index._data.dtype.kind not in "iu":
        raise RuntimeError(f"{op}(): Expected dtype int64 for index")


def _zero_d(input, *operands) -> bool:
    """torch's rule for 0-d operands: where ``input`` has at most one dimension, a 0-d input, index or source
    counts as one element (``zeros(10).scatter_(0, tensor(3), value=1)``, the one-hot of the tutorials)."""
    return input._data.ndim <= 1 and any(isinstance(t, Tensor) and t._data.ndim == 0 for t in (input, *operands))


def _check_ndim(op, input, index, name="self"):
    """torch's error for an index of another number of dimensions (``name``: what torch calls the input)."""
    if index._data.ndim != input._data.ndim:
        raise RuntimeError(f"{op}(): Index tensor must have the same number of dimensions as {name} tensor")


def _flat(t):
    return t.reshape(-1) if isinstance(t, Tensor) else t


def gather(input, dim: int | None = None, index=None, *, sparse_grad: bool = False, axis=None):
    if axis is not None or index is None or dim is None:
        dim = dim_from_axis("gather", dim, axis, index=index)
    _check_index(index, "gather")
    if _zero_d(input, index):  # the result has the index's shape
        return gather(input.reshape(-1), normalize_dim(dim, 1, "gather"), index.reshape(-1)).reshape(index.shape)
    dim = normalize_dim(dim, input._data.ndim, "gather")
    _check_ndim("gather", input, index, "input")
    return Gather.apply(input, dim, index)


def scatter(input, dim: int | None = None, index=None, src=None, *, value=None, reduce=None, axis=None):
    if axis is not None or index is None or dim is None:
        dim = dim_from_axis("scatter", dim, axis, index=index)
    _check_index(index, "scatter")
    if _zero_d(input, index, src):
        return scatter(input.reshape(-1), normalize_dim(dim, 1, "scatter"), index.reshape(-1), _flat(src),
                       value=value, reduce=reduce).reshape(input.shape)
    dim = normalize_dim(dim, input._data.ndim, "scatter")
    _check_ndim("scatter", input, index)
    source = src if src is not None else value
    if reduce is not None:
        if reduce not in ("add", "multiply"):
            raise RuntimeError(f"reduce argument must be either add or multiply, got {reduce}")
        if not isinstance(source, Tensor):  # a number, scattered at every index position
            source = Tensor._wrap(np.full(index._data.shape, source, input._data.dtype))
        return scatter_reduce(input, dim, index, source, "sum" if reduce == "add" else "prod")
    return Scatter.apply(input, dim, index, _leading_block(as_operand(source), index))


def scatter_add(input, dim: int | None = None, index=None, src=None, *, axis=None):
    if axis is not None or src is None or dim is None:
        dim = dim_from_axis("scatter_add", dim, axis, index=index, src=src)
    _check_index(index, "scatter_add")
    if _zero_d(input, index, src):
        return scatter_add(input.reshape(-1), normalize_dim(dim, 1, "scatter_add"), index.reshape(-1),
                           _flat(as_operand(src))).reshape(input.shape)
    dim = normalize_dim(dim, input._data.ndim, "scatter_add")
    _check_ndim("scatter_add", input, index)
    return ScatterAdd.apply(input, dim, index, _leading_block(as_operand(src), index))


def index_select(input, dim: int | None = None, index=None, *, axis=None):
    if axis is not None or index is None or dim is None:
        dim = dim_from_axis("index_select", dim, axis, index=index)
    dim = normalize_dim(dim, input._data.ndim, "index_select")
    _check_index(index, "index_select")
    if index._data.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    return getitem(input, (slice(None),) * dim + (index.reshape(-1),))


def take_along_dim(input, indices, dim=None, *, axis=None):
    if axis is not None:
        dim = dim_from_axis("take_along_dim", dim, axis)
    if dim is None:
        return gather(input.reshape(-1), 0, indices.reshape(-1))
    dim = normalize_dim(dim, input._data.ndim, "take_along_dim")
    shape = list(np.broadcast_shapes(
        tuple(n for i, n in enumerate(input.shape) if i != dim),
        tuple(n for i, n in enumerate(indices.shape) if i != dim)))
    input_shape, index_shape = list(shape), list(shape)
    input_shape.insert(dim, input.shape[dim])
    index_shape.insert(dim, indices.shape[dim])
    return gather(input.expand(input_shape), dim, indices.expand(index_shape))


def take(input, index):
    return getitem(input.reshape(-1), index)


def index_add(input, dim: int | None = None, index=None, source=None, *, alpha=1, axis=None):
    if axis is not None or source is None or dim is None:
        dim = dim_from_axis("index_add", dim, axis, index=index, source=source)
    dim = normalize_dim(dim, input._data.ndim, "index_add")
    shape = [1] * input._data.ndim
    shape[dim] = -1
    expanded = index.reshape(shape).expand(source.shape)
    return scatter_add(input, dim, expanded, source * alpha if alpha != 1 else source)


# --- scatter_reduce, index_reduce, index_fill, index_copy, masked_scatter ---------------------------
_REDUCE_UFUNC = {"sum": np.add, "mean": np.add, "prod": np.multiply, "amax": np.maximum, "amin": np.minimum}


def _reduce_identity(reduce: str, dtype: np.dtype):
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    lowest, highest = (-np.inf, np.inf) if dtype.kind == "f" else (np.iinfo(dtype).min, np.iinfo(dtype).max)
    return lowest if reduce == "amax" else highest


class ScatterReduce(Op):
    """``input`` with ``src`` reduced into it at ``index`` along ``dim`` (torch's ``scatter_reduce``)."""

    @staticmethod
    def forward(ctx, a, dim, index, src, reduce, include_self):
        position = _gather_index(dim, index._data, a._data.ndim)
        out = a._data.copy()
        scattered = np.zeros(out.shape, bool)
        scattered[position] = True
        if not include_self:
            out[scattered] = _reduce_identity(reduce, out.dtype)
        _REDUCE_UFUNC[reduce].at(out, position, src._data)
        count = (np.ones if include_self else np.zeros)(out.shape, np.int64)
        np.add.at(count, position, 1)
        count = np.maximum(count, 1)  # an element nothing was scattered into keeps its value
        if reduce == "mean":
            out = out / count if out.dtype.kind == "f" else out // count
        ctx.save_for_backward(a, src)
        ctx.save_output()
        ctx.dim, ctx.index, ctx.reduce, ctx.include_self = dim, index._data, reduce, include_self
        ctx.scattered, ctx.count = scattered, count
        return out.astype(a._data.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        a, src = ctx.saved_tensors
        out, dim, index = ctx.output, ctx.dim, Tensor._wrap(ctx.index)
        dtype = grad._data.dtype
        kept = Tensor._wrap((~ctx.scattered if not ctx.include_self else np.ones(grad.shape, bool)).astype(dtype))
        if ctx.reduce == "sum":
            ga, gs = grad * kept, gather(grad, dim, index)
        elif ctx.reduce == "mean":
            share = grad / Tensor._wrap(ctx.count.astype(dtype))
            ga, gs = share * kept, gather(share, dim, index)
        elif ctx.reduce == "prod":
            # d out / d x is the product of the others: out / x, computed without dividing by zero (torch's way:
            # a zero is replaced by 1 and the product taken again)
            one = Tensor._wrap(np.ones((), dtype))
            a_zero = Tensor._wrap(a._data == 0)
            a_masked = where(a_zero, one, a)
            ga = grad * ScatterReduce.apply(a_masked, dim, index, src, "prod", ctx.include_self) / a_masked * kept
            src_zero = src._data == 0
            zeros_there = np.zeros(grad.shape, dtype)
            np.add.at(zeros_there, _gather_index(dim, ctx.index, grad.ndim), src_zero.astype(dtype))
            single_zero = Tensor._wrap(src_zero & (_take_along(zeros_there, dim, ctx.index) == 1))
            without_zero = ScatterReduce.apply(a, dim, index, where(single_zero, one, src), "prod", ctx.include_self)
            gs = where(single_zero, gather(grad * without_zero, dim, index),
                       gather(grad * out, dim, index) / where(Tensor._wrap(src_zero), one, src))
        else:  # amax / amin: shared evenly between every element equal to the result, as in torch (which
            # counts an equal old value among the ties even with include_self=False, then gives it nothing)
            self_hit = a._data == out._data
            src_hit = src._data == _take_along(out._data, dim, ctx.index)
            ties = self_hit.astype(dtype)
            np.add.at(ties, _gather_index(dim, ctx.index, ties.ndim), src_hit.astype(dtype))
            share = grad / Tensor._wrap(np.maximum(ties, 1))
            ga = share * Tensor._wrap(self_hit.astype(dtype)) * kept
            gs = gather(share, dim, index) * Tensor._wrap(src_hit.astype(dtype))
        return (ga if ctx.needs_input_grad[0] else None), None, None, (gs if ctx.needs_input_grad[3] else None), \
            None, None


def scatter_reduce(input, dim: int | None = None, index=None, src=None, reduce: str | None = None, *,
                   include_self: bool = True, axis=None):
    """Reduces ``src`` into ``input`` at ``index`` along ``dim``: ``reduce`` is "sum", "prod", "mean",
    "amax" or "amin"; with ``include_self=False`` the old values take no part where something is scattered."""
    if axis is not None or reduce is None or dim is None:
        dim = dim_from_axis("scatter_reduce", dim, axis, index=index, src=src, reduce=reduce)
    _check_index(index, "scatter_reduce")
    if _zero_d(input, index, src):
        return scatter_reduce(input.reshape(-1), normalize_dim(dim, 1, "scatter_reduce"), index.reshape(-1),
                              _flat(src), reduce, include_self=include_self).reshape(input.shape)
    reduce = {"max": "amax", "min": "amin"}.get(reduce, reduce)  # torch still takes the old names
    if reduce not in _REDUCE_UFUNC:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    dim = normalize_dim(dim, input._data.ndim, "scatter_reduce")
    if index._data.ndim != input._data.ndim or src._data.ndim != input._data.ndim:
        raise RuntimeError("scatter_reduce(): Index tensor must have the same number of dimensions as self tensor")
    if src._data.dtype != input._data.dtype:
        raise RuntimeError(f"scatter_reduce(): Expected self.dtype to be equal to src.dtype, got {input.dtype} "
                           f"and {src.dtype}")
    return ScatterReduce.apply(input, dim, index, _leading_block(src, index), reduce, include_self)


def _leading_block(src, index):
    """A source tensor larger than ``index``: its leading block of index's shape, all the scatter ops read (as
    an op of the graph, so that the rest of ``src`` gets a zero gradient)."""
    if isinstance(src, Tensor) and src._data.ndim and src._data.shape != index._data.shape:
        return src[_src_view(index._data)]
    return src


def _expanded_index(input, dim: int, index, source):
    """``index`` (1-D, positions along ``dim``) spread over ``source``'s shape, for the scatter ops."""
    shape = [1] * input._data.ndim
    shape[dim] = -1
    return index.reshape(shape).expand(source.shape)


def index_reduce(input, dim: int | None = None, index=None, source=None, reduce: str | None = None, *,
                 include_self: bool = True, axis=None):
    """Reduces the slices of ``source`` into ``input``'s slices ``index`` along ``dim`` ("prod", "mean",
    "amax" or "amin")."""
    if axis is not None or reduce is None or dim is None:
        dim = dim_from_axis("index_reduce", dim, axis, index=index, source=source, reduce=reduce)
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise RuntimeError(f"index_reduce(): Expected reduce to be one of prod, mean, amax or amin but got {reduce}.")
    dim = normalize_dim(dim, input._data.ndim, "index_reduce")
    return scatter_reduce(input, dim, _expanded_index(input, dim, index, source), source, reduce,
                          include_self=include_self)


def index_fill(input, dim: int | None = None, index=None, value=None, *, axis=None):
    """``input`` with the slices ``index`` along ``dim`` set to ``value`` (a number or a 0-d tensor)."""
    if axis is not None or value is None or dim is None:
        dim = dim_from_axis("index_fill", dim, axis, index=index, value=value)
    dim = normalize_dim(dim, input._data.ndim, "index_fill")
    if isinstance(value, Tensor) and value._data.ndim:
        raise RuntimeError(f"index_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                           f"{value._data.ndim} dimension(s).")
    mask = np.zeros(input._data.shape[dim] if input._data.ndim else 1, bool)
    mask[index._data] = True
    shape = [1] * input._data.ndim
    if input._data.ndim:
        shape[dim] = -1
    return masked_fill(input, Tensor._wrap(mask.reshape(shape)), value)


def index_copy(input, dim: int | None = None, index=None, source=None, *, axis=None):
    """``input`` with its slices ``index`` along ``dim`` replaced by the slices of ``source``."""
    if axis is not None or source is None or dim is None:
        dim = dim_from_axis("index_copy", dim, axis, index=index, source=source)
    dim = normalize_dim(dim, input._data.ndim, "index_copy")
    if source.dtype != input.dtype:
        raise RuntimeError(f"index_copy_(): self and source expected to have the same dtype, but got (self) "
                           f"{input.dtype} and (source) {source.dtype}")
    return scatter(input, dim, _expanded_index(input, dim, index, source), source)


def put(input, index, source, accumulate: bool = False):
    """``input`` with the elements at the flat positions ``index`` set to (or, with ``accumulate``,
    increased by) ``source``."""
    flat = input.reshape(-1)
    positions, values = index.reshape(-1), source.reshape(-1)
    size = flat.shape[0]
    bad = (positions._data < -size) | (positions._data >= size)
    if bad.any():
        raise IndexError(f"out of range: tried to access index {int(positions._data[bad][0])} on a tensor of "
                         f"{size} elements.")
    if accumulate:
        return index_add(flat, 0, Tensor._wrap(positions._data % max(size, 1)), values).reshape(input.shape)
    return index_put(flat, (positions,), values).reshape(input.shape)
