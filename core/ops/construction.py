"""Tensors built from others by repetition or combination: repeat, tile, repeat_interleave, meshgrid,
cartesian_prod, combinations, tril_indices / triu_indices and broadcast_shapes."""

from __future__ import annotations

import itertools
import warnings

import numpy as np

from .._dtype import to_numpy_dtype
from .._numpy_names import dim_from_axis
from ..creation import shape_arg
from ..tensor import Size, Tensor
from ._op import Op
from ._util import normalize_dim
from .joining import stack
from .shape import expand, flatten, reshape


class Repeat(Op):
    @staticmethod
    def forward(ctx, a, repeats):
        ctx.shape, ctx.repeats = a._data.shape, repeats
        return np.tile(a._data, repeats)

    @staticmethod
    def backward(ctx, grad):
        # fold every tiled copy back: reshape to (r0, s0, r1, s1, ...) and sum the r axes
        shape = ctx.shape
        lead = len(ctx.repeats) - len(shape)
        full = (1,) * lead + tuple(shape)
        split = []
        for r, s in zip(ctx.repeats, full):
            split += [r, s]
        summed = grad.reshape(tuple(split)).sum(dim=tuple(range(0, 2 * len(full), 2)))
        return summed.reshape(shape), None


def repeat(input, *repeats):
    repeats = shape_arg(repeats)
    if len(repeats) < input._data.ndim:
        raise RuntimeError(
            "Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor"
        )
    return Repeat.apply(input, repeats)


def tile(input, dims):
    dims = tuple(dims)
    if len(dims) < input._data.ndim:
        dims = (1,) * (input._data.ndim - len(dims)) + dims
    return Repeat.apply(input, dims)


def meshgrid(*tensors, indexing: str | None = None):
    """Coordinate grids from 1-D tensors: ``indexing="ij"`` (matrix, the default) or ``"xy"`` (Cartesian,
    the first two axes swapped)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the indexing argument.",
                      UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but received: {indexing}")
    if not tensors:
        return ()
    for t in tensors:
        if t._data.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got a "
                               f"{t._data.ndim}-D tensor of shape {tuple(t.shape)}")
        if t._data.dtype != tensors[0]._data.dtype:
            raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    order = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) > 1:
        order[0], order[1] = 1, 0
    sizes = [tensors[i]._data.size for i in order]
    grids = []
    for position, t in enumerate(tensors):
        axis = order.index(position)
        shape = [1] * len(tensors)
        shape[axis] = sizes[axis]
        grids.append(expand(reshape(t, tuple(shape)), tuple(sizes)))
    return tuple(grids)


def cartesian_prod(*tensors):
    """Every combination of one element from each 1-D tensor, as the rows of a 2-D tensor."""
    if len(tensors) == 1:
        return tensors[0]
    return stack([flatten(g) for g in meshgrid(*tensors, indexing="ij")], 1)


def tril_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None, layout=None):
    """The ``(2, N)`` coordinates of the lower triangle of a ``row x col`` matrix, row by row."""
    return _triangle_indices(np.tril_indices(row, offset, col), dtype)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None, layout=None):
    """The ``(2, N)`` coordinates of the upper triangle of a ``row x col`` matrix, row by row."""
    return _triangle_indices(np.triu_indices(row, offset, col), dtype)


def _triangle_indices(rows_cols, dtype):
    np_dtype = np.int64 if dtype is None else to_numpy_dtype(dtype)
    return Tensor._wrap(np.stack(rows_cols).astype(np_dtype).reshape(2, -1))


def repeat_interleave(input, repeats=None, dim: int | None = None, *, output_size: int | None = None, axis=None):
    """Repeats each element (or each slice along ``dim``) ``repeats`` times, in place of ``repeat``'s tiling.
    With ``input`` alone, ``input`` holds the repeats of ``0, 1, 2, ...``."""
    if axis is not None:
        dim = dim_from_axis("repeat_interleave", dim, axis)
    if repeats is None:
        counts = input._data
        if counts.ndim != 1 or counts.dtype.kind not in "iu":
            raise RuntimeError("repeat_interleave only accept 1D vector as repeat")
        return Tensor._wrap(np.repeat(np.arange(counts.size, dtype=np.int64), counts))
    if dim is None:
        input, dim = reshape(input, (-1,)), 0
    dim = normalize_dim(dim, input._data.ndim, "repeat_interleave")
    n = input._data.shape[dim] if input._data.ndim else 1
    counts = repeats._data if isinstance(repeats, Tensor) else np.asarray(repeats)
    if counts.ndim > 1 or (counts.ndim == 1 and counts.size not in (1, n)):
        raise RuntimeError(f"repeats must have the same size as input along dim, but got repeats.size(0) = "
                           f"{counts.size} and input.size({dim}) = {n}")
    if np.any(counts < 0):
        raise RuntimeError("repeats can not be negative")
    index = np.repeat(np.arange(n, dtype=np.int64), counts.reshape(-1) if counts.ndim else int(counts))
    if output_size is not None and index.size != output_size:
        raise RuntimeError(f"repeat_interleave: output_size ({output_size}) does not match the repeated size "
                           f"({index.size})")
    if input._data.ndim == 0:
        input = reshape(input, (1,))
    return input[(slice(None),) * dim + (Tensor._wrap(index),)]


def combinations(input, r: int = 2, with_replacement: bool = False):
    """The length-``r`` combinations of a 1-D tensor's elements (as ``itertools.combinations``), as rows."""
    if input._data.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return Tensor._wrap(np.empty((0,), input._data.dtype))
    choose = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    rows = np.array(list(choose(range(input._data.shape[0]), r)), dtype=np.int64).reshape(-1, r)
    return input[Tensor._wrap(rows)]


def broadcast_shapes(*shapes):
    """The shape tensors of ``shapes`` broadcast to, without making them."""
    try:
        return Size(np.broadcast_shapes(*(tuple(s) if isinstance(s, (list, tuple)) else (s,) for s in shapes)))
    except ValueError:
        raise RuntimeError(
            f"Shape mismatch: objects cannot be broadcast to a single shape: {list(shapes)}") from None
