"""Indexing: ``__getitem__`` (basic and advanced), gather/scatter, index_select, masked_fill."""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from ._op import Op
from ._util import as_operand, data_of, normalize_dim
from .arithmetic import where
from .inplace import apply_inplace
from .shape import Slice, _view_of


def _convert_index(index):
    """Tensors inside an index become arrays; tells whether the index is basic (gives a view)."""
    if not isinstance(index, tuple):
        index = (index,)
    converted, basic = [], True
    for i in index:
        if isinstance(i, Tensor):
            i = i._data
            basic = False
        elif isinstance(i, (list, np.ndarray)):
            i = np.asarray(i)
            basic = False
        elif isinstance(i, bool):
            basic = False
        if isinstance(i, np.ndarray) and i.dtype.kind == "f":
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        converted.append(i)
    return tuple(converted), basic


class Index(Op):
    """Advanced (integer / boolean array) indexing: a copy; its gradient is a scatter-add."""

    @staticmethod
    def forward(ctx, a, index):
        ctx.shape, ctx.index = a._data.shape, index
        return a._data[index]

    @staticmethod
    def backward(ctx, grad):
        return _IndexBackward.apply(grad, ctx.shape, ctx.index), None


class _IndexBackward(Op):
    @staticmethod
    def forward(ctx, grad, shape, index):
        ctx.index = index
        out = np.zeros(shape, grad._data.dtype)
        np.add.at(out, index, grad._data)  # repeated indices accumulate
        return out

    @staticmethod
    def backward(ctx, grad):
        return grad[ctx.index], None, None


def getitem(input, index):
    index, basic = _convert_index(index)
    try:
        if basic:
            return _view_of(Slice.apply(input, index), input)
        return Index.apply(input, index)
    except IndexError as error:
        raise IndexError(f"{error} (indexing a tensor of shape {tuple(input.shape)})") from None


class IndexPut(Op):
    """Out-of-place ``input[index] = values``; what an in-place ``__setitem__`` records."""

    @staticmethod
    def forward(ctx, a, index, values):
        ctx.index = index
        out = a._data.copy()
        out[index] = data_of(values)
        return out

    @staticmethod
    def backward(ctx, grad):
        ga = None
        if ctx.needs_input_grad[0]:
            mask = np.ones(grad.shape, dtype=bool)
            mask[ctx.index] = False
            ga = grad * Tensor(mask)
        gv = grad[ctx.index] if ctx.needs_input_grad[2] else None
        return ga, None, gv


def index_put(input, index, values):
    index, _ = _convert_index(index)
    values = as_operand(values)
    if isinstance(values, Tensor) and values.dtype != input.dtype:
        values = values.to(input.dtype)
    return IndexPut.apply(input, index, values)


def setitem(input, index, value):
    """``input[index] = value``, in place (recorded in the graph when gradients are involved)."""
    apply_inplace(input, index_put, index, value)


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
        zeros = Tensor(np.zeros(ctx.shape, grad._data.dtype))
        return scatter_add(zeros, ctx.dim, Tensor(ctx.index), grad), None, None


class ScatterAdd(Op):
    @staticmethod
    def forward(ctx, a, dim, index, src):
        ctx.dim, ctx.index = dim, index._data
        out = a._data.copy()
        np.add.at(out, _gather_index(dim, index._data, a._data.ndim), data_of(src)[_src_view(index._data)])
        return out

    @staticmethod
    def backward(ctx, grad):
        gsrc = gather(grad, ctx.dim, Tensor(ctx.index)) if ctx.needs_input_grad[3] else None
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
        ga = grad * Tensor(mask) if ctx.needs_input_grad[0] else None
        gsrc = gather(grad, ctx.dim, Tensor(ctx.index)) if ctx.needs_input_grad[3] else None
        return ga, None, None, gsrc


def _take_along(x: np.ndarray, dim: int, index: np.ndarray) -> np.ndarray:
    """torch's gather on arrays: only the leading block of the other axes is read (numpy's
    ``take_along_axis`` would broadcast a smaller index instead)."""
    block = tuple(slice(None) if d == dim else slice(0, n) for d, n in enumerate(index.shape))
    return np.take_along_axis(x[block], index, axis=dim)


def _src_view(index: np.ndarray):
    """``src`` may be larger than ``index``; only its leading block of index's shape is used."""
    return tuple(slice(0, n) for n in index.shape)


def _check_index(index, op):
    if not isinstance(index, Tensor) or index._data.dtype.kind not in "iu":
        raise RuntimeError(f"{op}(): Expected dtype int64 for index")


def gather(input, dim: int, index, *, sparse_grad: bool = False):
    _check_index(index, "gather")
    dim = normalize_dim(dim, input._data.ndim, "gather")
    if index._data.ndim != input._data.ndim:
        raise RuntimeError("gather(): Index tensor must have the same number of dimensions as input tensor")
    return Gather.apply(input, dim, index)


def scatter(input, dim: int, index, src=None, *, value=None, reduce=None):
    _check_index(index, "scatter")
    dim = normalize_dim(dim, input._data.ndim, "scatter")
    source = src if src is not None else value
    if reduce is not None:
        if reduce not in ("add", "multiply"):
            raise RuntimeError(f"reduce argument must be either add or multiply, got {reduce}")
        if not isinstance(source, Tensor):  # a number, scattered at every index position
            source = Tensor._wrap(np.full(index._data.shape, source, input._data.dtype))
        return scatter_reduce(input, dim, index, source, "sum" if reduce == "add" else "prod")
    return Scatter.apply(input, dim, index, as_operand(source))


def scatter_add(input, dim: int, index, src):
    _check_index(index, "scatter_add")
    dim = normalize_dim(dim, input._data.ndim, "scatter_add")
    return ScatterAdd.apply(input, dim, index, as_operand(src))


def index_select(input, dim: int, index):
    dim = normalize_dim(dim, input._data.ndim, "index_select")
    _check_index(index, "index_select")
    if index._data.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    return getitem(input, (slice(None),) * dim + (index.reshape(-1),))


def masked_fill(input, mask, value):
    mask = as_operand(mask)
    if mask._data.dtype != np.bool_:
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype {mask.dtype}")
    value = value.to(input.dtype) if isinstance(value, Tensor) else value
    return where(mask, value if isinstance(value, Tensor) else Tensor(np.asarray(value, input._data.dtype)), input)


def masked_select(input, mask):
    mask = as_operand(mask)
    input, mask = np.broadcast_shapes(input.shape, mask.shape) and input.expand(
        np.broadcast_shapes(input.shape, mask.shape)), mask.expand(np.broadcast_shapes(input.shape, mask.shape))
    return getitem(input, mask)


def take_along_dim(input, indices, dim=None):
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


def nonzero(input, *, as_tuple: bool = False):
    if as_tuple:
        return tuple(Tensor._wrap(i.astype(np.int64)) for i in np.nonzero(input._data))
    return Tensor._wrap(np.argwhere(input._data).astype(np.int64))


def _diagonal_view(x: np.ndarray, offset: int, d1: int, d2: int) -> np.ndarray:
    """The diagonal of ``x`` over axes ``d1``, ``d2`` as a strided view (last axis), so that writes through
    it reach ``x``, as through torch's ``diagonal``."""
    moved = np.moveaxis(x, (d1, d2), (-2, -1))
    row, col = max(0, -offset), max(0, offset)
    length = max(0, min(moved.shape[-2] - row, moved.shape[-1] - col))
    corner = moved[..., row:, col:] if length else moved[..., :0, :0]
    return np.lib.stride_tricks.as_strided(corner, moved.shape[:-2] + (length,),
                                           moved.strides[:-2] + (moved.strides[-2] + moved.strides[-1],),
                                           writeable=x.flags.writeable)


class Diagonal(Op):
    @staticmethod
    def forward(ctx, a, offset, d1, d2):
        ctx.shape, ctx.args = a._data.shape, (offset, d1, d2)
        return _diagonal_view(a._data, offset, d1, d2)

    @staticmethod
    def backward(ctx, grad):
        # the gradient lands on the diagonal of zeros shaped like the input
        zeros = Tensor._wrap(np.zeros(ctx.shape, grad._data.dtype))
        return DiagonalScatter.apply(zeros, grad, *ctx.args), None, None, None


class DiagonalScatter(Op):
    """``input`` with its diagonal replaced by ``src`` (torch's ``diagonal_scatter``)."""

    @staticmethod
    def forward(ctx, a, src, offset, d1, d2):
        ctx.args = (offset, d1, d2)
        out = a._data.copy()
        _diagonal_view(out, offset, d1, d2)[...] = data_of(src)
        return out

    @staticmethod
    def backward(ctx, grad):
        ga = gs = None
        if ctx.needs_input_grad[0]:  # what the diagonal held is overwritten: no gradient there
            zeros = Tensor._wrap(np.zeros(_diagonal_view(grad._data, *ctx.args).shape, grad._data.dtype))
            ga = DiagonalScatter.apply(grad, zeros, *ctx.args)
        if ctx.needs_input_grad[1]:
            gs = Diagonal.apply(grad, *ctx.args)
        return ga, gs, None, None, None


def diagonal(input, offset: int = 0, dim1: int = 0, dim2: int = 1):
    """The diagonal over ``dim1``, ``dim2`` as the last axis: a view, as in torch (``d.fill_(0)`` changes
    ``input``)."""
    ndim = input._data.ndim
    d1, d2 = normalize_dim(dim1, ndim, "diagonal"), normalize_dim(dim2, ndim, "diagonal")
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return _view_of(Diagonal.apply(input, offset, d1, d2), input)


def diagonal_scatter(input, src, offset: int = 0, dim1: int = 0, dim2: int = 1):
    ndim = input._data.ndim
    d1, d2 = normalize_dim(dim1, ndim, "diagonal_scatter"), normalize_dim(dim2, ndim, "diagonal_scatter")
    expected = _diagonal_view(input._data, offset, d1, d2).shape
    if tuple(src.shape) != expected:
        raise RuntimeError(f"diagonal_scatter: expected src to have a size equal to the slice of self. "
                           f"src size = {list(src.shape)}, slice size = {list(expected)}")
    return DiagonalScatter.apply(input, src, offset, d1, d2)


def index_add(input, dim: int, index, source, *, alpha=1):
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


def scatter_reduce(input, dim: int, index, src, reduce: str, *, include_self: bool = True):
    """Reduces ``src`` into ``input`` at ``index`` along ``dim``: ``reduce`` is "sum", "prod", "mean",
    "amax" or "amin"; with ``include_self=False`` the old values take no part where something is scattered."""
    _check_index(index, "scatter_reduce")
    reduce = {"max": "amax", "min": "amin"}.get(reduce, reduce)  # torch still takes the old names
    if reduce not in _REDUCE_UFUNC:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    dim = normalize_dim(dim, input._data.ndim, "scatter_reduce")
    if index._data.ndim != input._data.ndim or src._data.ndim != input._data.ndim:
        raise RuntimeError("scatter_reduce(): Index tensor must have the same number of dimensions as self tensor")
    if src._data.dtype != input._data.dtype:
        raise RuntimeError(f"scatter_reduce(): Expected self.dtype to be equal to src.dtype, got {input.dtype} "
                           f"and {src.dtype}")
    if tuple(src.shape) != tuple(index.shape):  # only the leading block of index's shape is used
        src = src[_src_view(index._data)]
    return ScatterReduce.apply(input, dim, index, src, reduce, include_self)


def _expanded_index(input, dim: int, index, source):
    """``index`` (1-D, positions along ``dim``) spread over ``source``'s shape, for the scatter ops."""
    shape = [1] * input._data.ndim
    shape[dim] = -1
    return index.reshape(shape).expand(source.shape)


def index_reduce(input, dim: int, index, source, reduce: str, *, include_self: bool = True):
    """Reduces the slices of ``source`` into ``input``'s slices ``index`` along ``dim`` ("prod", "mean",
    "amax" or "amin")."""
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise RuntimeError(f"index_reduce(): Expected reduce to be one of prod, mean, amax or amin but got {reduce}.")
    dim = normalize_dim(dim, input._data.ndim, "index_reduce")
    return scatter_reduce(input, dim, _expanded_index(input, dim, index, source), source, reduce,
                          include_self=include_self)


def index_fill(input, dim: int, index, value):
    """``input`` with the slices ``index`` along ``dim`` set to ``value`` (a number or a 0-d tensor)."""
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


def index_copy(input, dim: int, index, source):
    """``input`` with its slices ``index`` along ``dim`` replaced by the slices of ``source``."""
    dim = normalize_dim(dim, input._data.ndim, "index_copy")
    if source.dtype != input.dtype:
        raise RuntimeError(f"index_copy_(): self and source expected to have the same dtype, but got (self) "
                           f"{input.dtype} and (source) {source.dtype}")
    return scatter(input, dim, _expanded_index(input, dim, index, source), source)


def masked_scatter(input, mask, source):
    """``input`` with the elements where ``mask`` holds taken, in order, from ``source``."""
    mask = as_operand(mask)
    if mask._data.dtype != np.bool_:
        raise RuntimeError(f"masked_scatter_ only supports boolean masks, but got mask with dtype {mask.dtype}")
    full = np.broadcast_to(mask._data, input._data.shape)
    count = int(full.sum())
    if source._data.size < count:
        raise RuntimeError("Number of elements of source < number of ones in mask")
    values = source.reshape(-1)[:count]
    return index_put(input, (Tensor._wrap(full),), values)


# --- diagonal matrices ---------------------------------------------------------------------------
class DiagEmbed(Op):
    """A tensor whose diagonals over ``dim1``, ``dim2`` hold the last axis of the input, zeros elsewhere."""

    @staticmethod
    def forward(ctx, a, offset, d1, d2):
        ctx.args = (offset, d1, d2)
        x = a._data
        size = x.shape[-1] + abs(offset) if x.ndim else 1 + abs(offset)
        shape = list(x.shape[:-1])
        for d in sorted((d1, d2)):
            shape.insert(d, size)
        out = np.zeros(shape, x.dtype)
        _diagonal_view(out, offset, d1, d2)[...] = x
        return out

    @staticmethod
    def backward(ctx, grad):
        return Diagonal.apply(grad, *ctx.args), None, None, None


def diag_embed(input, offset: int = 0, dim1: int = -2, dim2: int = -1):
    """Batched diagonal matrices: the last axis of ``input`` goes on the ``offset`` diagonal of the new
    dimensions ``dim1`` and ``dim2``."""
    ndim = input._data.ndim + 1
    d1, d2 = normalize_dim(dim1, ndim, "diag_embed"), normalize_dim(dim2, ndim, "diag_embed")
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return DiagEmbed.apply(input, offset, d1, d2)


def diag(input, diagonal: int = 0):
    """A 1-D input becomes the ``diagonal``-th diagonal of a square matrix; of a 2-D input, the
    ``diagonal``-th diagonal is taken (a copy)."""
    if input._data.ndim == 1:
        return DiagEmbed.apply(input, diagonal, 0, 1)
    if input._data.ndim == 2:
        return Diagonal.apply(input, diagonal, 0, 1) * 1  # a copy, as torch.diag's
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input._data.ndim}D")


def diagflat(input, offset: int = 0):
    """The flattened input on the ``offset`` diagonal of a square matrix."""
    return DiagEmbed.apply(input.reshape(-1), offset, 0, 1)


# --- select / slice scatter, put, argwhere, unravel_index -------------------------------------------
def argwhere(input):
    """The indices of the nonzero elements, one row each (``nonzero``)."""
    return nonzero(input)


def select(input, dim: int, index: int):
    """The slice at ``index`` along ``dim``, without that dimension (a view, as ``input[..., index]``)."""
    dim = normalize_dim(dim, input._data.ndim, "select")
    size = input._data.shape[dim]
    if not -size <= index < size:
        raise IndexError(f"select(): index {index} out of range for tensor of size {list(input.shape)} at "
                         f"dimension {dim}")
    return getitem(input, (slice(None),) * dim + (int(index),))


def _scatter_into(input, src, index, expected_shape):
    if tuple(src.shape) != tuple(expected_shape):
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = {list(src.shape)}, "
                           f"slice size = {list(expected_shape)}")
    if src.dtype != input.dtype:
        src = src.to(input.dtype)
    return IndexPut.apply(input, index, src)


def select_scatter(input, src, dim: int, index: int):
    """``input`` with its slice ``index`` along ``dim`` replaced by ``src``."""
    dim = normalize_dim(dim, input._data.ndim, "select_scatter")
    position = (slice(None),) * dim + (int(index),)
    return _scatter_into(input, src, position, input._data[position].shape)


def slice_scatter(input, src, dim: int = 0, start: int | None = None, end: int | None = None, step: int = 1):
    """``input`` with ``input[start:end:step]`` along ``dim`` replaced by ``src``."""
    dim = normalize_dim(dim, input._data.ndim, "slice_scatter")
    position = (slice(None),) * dim + (slice(start, end, step),)
    return _scatter_into(input, src, position, input._data[position].shape)


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


def unravel_index(indices, shape):
    """The coordinates in a tensor of ``shape`` of the flat positions ``indices``, one tensor per dimension."""
    if not isinstance(indices, Tensor):
        raise TypeError(f"expected 'indices' to be a Tensor, but got {type(indices).__name__}")
    if indices._data.dtype.kind not in "iu":
        raise TypeError(f"expected 'indices' to be integer dtype, but got {indices.dtype}")
    shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
    total = int(np.prod(shape))
    flat = indices._data  # wrapped modulo the size, as torch does (a negative index counts from the end)
    return tuple(Tensor._wrap(np.asarray(c, np.int64)) for c in np.unravel_index(flat % max(total, 1), shape))


def fill_diagonal_(input, fill_value, wrap: bool = False):
    """Fills the main diagonal (of a matrix, or of a tensor whose dimensions are all equal) in place; a tall
    matrix's diagonal starts again below the square with ``wrap=True``."""
    return apply_inplace(input, _fill_diagonal, fill_value, wrap)


def _fill_diagonal(input, fill_value, wrap):
    x = input._data
    if x.ndim < 2:
        raise RuntimeError("dimensions must larger than 1")
    if x.ndim > 2 and len(set(x.shape)) != 1:
        raise RuntimeError("all dimensions of input must be of equal length")
    mask = np.zeros(x.shape, bool)
    if x.ndim == 2:
        rows, cols = x.shape
        step = cols + 1
        last = rows * cols if wrap else min(rows, cols) * cols
        mask.reshape(-1)[:last:step] = True
    else:
        mask[(np.arange(x.shape[0]),) * x.ndim] = True
    return masked_fill(input, Tensor._wrap(mask), fill_value)


def nonzero_static(input, *, size: int, fill_value: int = -1):
    """``nonzero`` padded with ``fill_value`` (or cut) to exactly ``size`` rows."""
    found = np.argwhere(input._data).astype(np.int64)[:size]
    padding = np.full((size - found.shape[0], input._data.ndim), fill_value, np.int64)
    return Tensor._wrap(np.concatenate([found, padding]))
