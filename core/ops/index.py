"""Indexing with ``[]``: ``__getitem__`` (basic and advanced), ``__setitem__`` / index_put, select, nonzero
and argwhere. gather/scatter are in gather_scatter.py, masked writes in masked.py, diagonals in diagonals.py."""

from __future__ import annotations

import math

import numpy as np

from .._numpy_names import dim_from_axis
from ..autograd.grad_mode import state
from ..tensor import Tensor
from ._op import Op
from ._util import as_operand, data_of, normalize_dim
from .inplace import apply_inplace
from .shape import Slice, _as_view, _view_of


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


def _one_axis(index):
    """``(axis, positions)`` when ``index`` picks positions along one axis, ``(slice(None),) * axis +
    (positions,)`` with a 1-d integer array (``index_select``'s, reflection padding's and nearest
    upsampling's form); None for any other index."""
    *lead, last = index
    if type(last) is np.ndarray and last.ndim == 1 and last.dtype.kind in "iu" and all(
            type(i) is slice and i == slice(None) for i in lead):
        return len(lead), last
    return None


def _add_along(out: np.ndarray, axis: int, positions: np.ndarray, values: np.ndarray) -> None:
    """``np.add.at(out, (slice(None),) * axis + (positions,), values)`` (the same sums, added in the same
    order), several times faster: ``np.add.at`` adds element by element, this adds whole slices along the axis, in
    as many passes as the most repeated position occurs (the k-th pass adds each position's k-th value)."""
    positions = np.where(positions < 0, positions + out.shape[axis], positions)
    order = np.argsort(positions, kind="stable")
    ordered = positions[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    rank = np.empty_like(order)  # how many earlier values go to the same position
    rank[order] = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    out, values = np.moveaxis(out, axis, 0), np.moveaxis(values, axis, 0)
    for k in range(int(rank.max()) + 1 if len(rank) else 0):
        picked = np.flatnonzero(rank == k)
        out[positions[picked]] += values[picked]  # (no position twice within a pass)


class Index(Op):
    """Advanced (integer / boolean array) indexing: a copy; its gradient is a scatter-add."""

    @staticmethod
    def forward(ctx, a, index):
        ctx.shape, ctx.index = a._data.shape, index
        along = _one_axis(index)
        if along is not None:
            return np.take(a._data, along[1], axis=along[0])  # (faster than the fancy index)
        return a._data[index]

    @staticmethod
    def backward(ctx, grad):
        return _IndexBackward.apply(grad, ctx.shape, ctx.index), None


class _IndexBackward(Op):
    @staticmethod
    def forward(ctx, grad, shape, index):
        ctx.index = index
        out = np.zeros(shape, grad._data.dtype)
        along = _one_axis(index)
        if along is not None:
            _add_along(out, along[0], along[1], grad._data)
        else:
            np.add.at(out, index, grad._data)  # repeated indices accumulate
        return out

    @staticmethod
    def backward(ctx, grad):
        return grad[ctx.index], None, None


def getitem(input, index):
    if (type(index) is int and type(input._data) is np.ndarray and input._data.ndim
            and not (input._requires_grad and state.grad_enabled)):
        return _row(input, index)  # x[i] recorded by no graph (a data loader's samples): no op needed
    index, basic = _convert_index(index)
    try:
        if basic:
            return _view_of(Slice.apply(input, index), input)
        return Index.apply(input, index)
    except IndexError as error:
        raise IndexError(f"{error} (indexing a tensor of shape {tuple(input.shape)})") from None


def iterate(input):
    """``iter(x)``: the rows of ``x``, as ``x.unbind(0)``; recorded by no graph, each row a view without an op
    (``for i in ix`` over a batch of positions, as nanoGPT's ``get_batch`` writes it; timings:
    benchmarks/README.md, 2026-12-07, sixth session)."""
    if input._data.ndim == 0:
        raise TypeError("iteration over a 0-d tensor")
    if type(input._data) is np.ndarray and not (input._requires_grad and state.grad_enabled):
        return (_row(input, i) for i in range(input._data.shape[0]))
    return iter(input.unbind(0))


def _row(input, i: int) -> Tensor:
    """``input[i]`` as a view sharing ``input``'s version counter (what ``Slice`` gives, unrecorded)."""
    try:
        out = input._data[i, ...]  # (``...``: a 0-d view, not numpy's scalar copy, for a 1-d input)
    except IndexError as error:
        raise IndexError(f"{error} (indexing a tensor of shape {tuple(input.shape)})") from None
    return _as_view(Tensor._wrap(out), input) if out.size else Tensor._wrap(out)


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
            ga = grad * Tensor._wrap(mask)
        gv = grad[ctx.index] if ctx.needs_input_grad[2] else None
        return ga, None, gv


class IndexPutAccumulate(Op):
    """Out-of-place ``input[index] += values`` where repeated indices add up (``accumulate=True``)."""

    @staticmethod
    def forward(ctx, a, index, values):
        ctx.index = index
        out = a._data.copy()
        np.add.at(out, index, data_of(values))
        return out

    @staticmethod
    def backward(ctx, grad):
        return grad, None, grad[ctx.index] if ctx.needs_input_grad[2] else None


def index_put(input, index, values, accumulate: bool = False):
    """``input`` with ``input[index] = values`` (``accumulate``: ``+=``, repeated indices adding up)."""
    index, _ = _convert_index(index)
    values = as_operand(values)
    if isinstance(values, Tensor) and values.dtype != input.dtype:
        values = values.to(input.dtype)
    return (IndexPutAccumulate if accumulate else IndexPut).apply(input, index, values)


def setitem(input, index, value):
    """``input[index] = value``, in place (recorded in the graph when gradients are involved)."""
    apply_inplace(input, index_put, index, value)


def nonzero(input, *, as_tuple: bool = False):
    if as_tuple:
        return tuple(Tensor._wrap(i.astype(np.int64)) for i in np.nonzero(input._data))
    return Tensor._wrap(np.argwhere(input._data).astype(np.int64))


# --- select / slice scatter, put, argwhere, unravel_index -------------------------------------------
def argwhere(input):
    """The indices of the nonzero elements, one row each (``nonzero``)."""
    return nonzero(input)


def select(input, dim: int | None = None, index: int | None = None, *, axis=None):
    """The slice at ``index`` along ``dim``, without that dimension (a view, as ``input[..., index]``)."""
    if axis is not None or index is None or dim is None:
        dim = dim_from_axis("select", dim, axis, index=index)
    dim = normalize_dim(dim, input._data.ndim, "select")
    size = input._data.shape[dim]
    if not -size <= index < size:
        raise IndexError(f"select(): index {index} out of range for tensor of size {list(input.shape)} at "
                         f"dimension {dim}")
    return getitem(input, (slice(None),) * dim + (int(index),))


def unravel_index(indices, shape):
    """The coordinates in a tensor of ``shape`` of the flat positions ``indices``, one tensor per dimension."""
    if not isinstance(indices, Tensor):
        raise TypeError(f"expected 'indices' to be a Tensor, but got {type(indices).__name__}")
    if indices._data.dtype.kind not in "iu":
        raise TypeError(f"expected 'indices' to be integer dtype, but got {indices.dtype}")
    shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
    total = math.prod(shape)
    flat = indices._data  # wrapped modulo the size, as torch does (a negative index counts from the end)
    return tuple(Tensor._wrap(np.asarray(c, np.int64)) for c in np.unravel_index(flat % max(total, 1), shape))


def nonzero_static(input, *, size: int, fill_value: int = -1):
    """``nonzero`` padded with ``fill_value`` (or cut) to exactly ``size`` rows."""
    found = np.argwhere(input._data).astype(np.int64)[:size]
    padding = np.full((size - found.shape[0], input._data.ndim), fill_value, np.int64)
    return Tensor._wrap(np.concatenate([found, padding]))
