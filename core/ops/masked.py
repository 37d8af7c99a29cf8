"""Masked and slice writes: masked_fill / masked_select / masked_scatter, select_scatter and
slice_scatter."""

from __future__ import annotations

import numpy as np

from .._numpy_names import dim_from_axis
from ..tensor import Tensor
from ._util import as_operand, normalize_dim
from .arithmetic import where
from .index import IndexPut, getitem, index_put


def masked_fill(input, mask, value):
    mask = as_operand(mask)
    if mask._data.dtype != np.bool_:
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype {mask.dtype}")
    value = value.to(input.dtype) if isinstance(value, Tensor) else value
    return where(mask, value if isinstance(value, Tensor) else Tensor._wrap(np.asarray(value, input._data.dtype)), input)


def masked_select(input, mask):
    mask = as_operand(mask)
    input, mask = np.broadcast_shapes(input.shape, mask.shape) and input.expand(
        np.broadcast_shapes(input.shape, mask.shape)), mask.expand(np.broadcast_shapes(input.shape, mask.shape))
    return getitem(input, mask)


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


def _scatter_into(input, src, index, expected_shape):
    if tuple(src.shape) != tuple(expected_shape):
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = {list(src.shape)}, "
                           f"slice size = {list(expected_shape)}")
    if src.dtype != input.dtype:
        src = src.to(input.dtype)
    return IndexPut.apply(input, index, src)


def select_scatter(input, src, dim: int | None = None, index: int | None = None, *, axis=None):
    """``input`` with its slice ``index`` along ``dim`` replaced by ``src``."""
    if axis is not None or index is None or dim is None:
        dim = dim_from_axis("select_scatter", dim, axis, index=index)
    dim = normalize_dim(dim, input._data.ndim, "select_scatter")
    position = (slice(None),) * dim + (int(index),)
    return _scatter_into(input, src, position, input._data[position].shape)


def slice_scatter(input, src, dim: int = 0, start: int | None = None, end: int | None = None, step: int = 1, *, axis=None):
    """``input`` with ``input[start:end:step]`` along ``dim`` replaced by ``src``."""
    if axis is not None:
        dim = dim_from_axis("slice_scatter", dim, axis, 0)
    dim = normalize_dim(dim, input._data.ndim, "slice_scatter")
    position = (slice(None),) * dim + (slice(start, end, step),)
    return _scatter_into(input, src, position, input._data[position].shape)
