"""Joining and splitting: cat / stack (and hstack, vstack, dstack, column_stack), split, chunk,
tensor_split, unbind and hsplit / vsplit / dsplit. The pieces of a split are views of the input."""

from __future__ import annotations

import numpy as np

from .._numpy_names import dim_from_axis
from ._op import Op, on_arrays, wrap
from ._util import normalize_dim, result_type
from .shape import Slice, _view_of, _with_dims, narrow, reshape


class Cat(Op):
    @staticmethod
    def forward(ctx, dim, *tensors):
        ctx.dim = dim
        ctx.sizes = [t._data.shape[dim] for t in tensors]
        return np.concatenate([t._data for t in tensors], axis=dim)

    @staticmethod
    def backward(ctx, grad):
        return (None,) + tuple(grad.split(ctx.sizes, ctx.dim))


class Stack(Op):
    @staticmethod
    def forward(ctx, dim, *tensors):
        ctx.dim = dim
        return np.stack([t._data for t in tensors], axis=dim)

    @staticmethod
    def backward(ctx, grad):
        if on_arrays():  # each input's gradient a view of ``grad``
            g, before = grad._data, (slice(None),) * ctx.dim
            return (None,) + tuple([wrap(g[before + (i,)]) for i in range(g.shape[ctx.dim])])
        return (None,) + tuple(grad.unbind(ctx.dim))


def _check_same_shapes(tensors, dim, op):
    first = tensors[0].shape
    for i, t in enumerate(tensors[1:], 1):
        if t._data.ndim != len(first) or any(a != b for k, (a, b) in enumerate(zip(t.shape, first)) if k != dim):
            raise RuntimeError(
                f"{op}: sizes of tensors must match except in dimension {dim}. Expected {tuple(first)} "
                f"but got {tuple(t.shape)} for tensor number {i} in the list"
            )


def cat(tensors, dim: int = 0, *, axis=None):
    if axis is not None:
        dim = dim_from_axis("cat", dim, axis, 0)
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("cat(): expected a non-empty list of Tensors")
    target = result_type(*tensors).numpy
    tensors = [t if t._data.dtype == target else t.to(target) for t in tensors]
    tensors = [t for t in tensors if not (t._data.ndim == 1 and t._data.size == 0)] or tensors[:1]
    dim = normalize_dim(dim, tensors[0]._data.ndim, "cat")
    _check_same_shapes(tensors, dim, "cat")
    return Cat.apply(dim, *tensors)


concat = concatenate = cat


def stack(tensors, dim: int = 0, *, axis=None):
    if axis is not None:
        dim = dim_from_axis("stack", dim, axis, 0)
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    for i, t in enumerate(tensors[1:], 1):
        if t.shape != tensors[0].shape:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {tuple(tensors[0].shape)} at entry 0 "
                f"and {tuple(t.shape)} at entry {i}"
            )
    target = result_type(*tensors).numpy
    tensors = [t if t._data.dtype == target else t.to(target) for t in tensors]
    dim = normalize_dim(dim, tensors[0]._data.ndim + 1, "stack")
    return Stack.apply(dim, *tensors)


def hstack(tensors):
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors):
    return cat([t.reshape(1, -1) if t.ndim == 1 else t for t in tensors], 0)


def split(input, split_size_or_sections, dim: int = 0, *, axis=None):
    if axis is not None:
        dim = dim_from_axis("split", dim, axis, 0)
    dim = normalize_dim(dim, input._data.ndim, "split")
    n = input._data.shape[dim]
    if isinstance(split_size_or_sections, int):
        size = split_size_or_sections
        sizes = [size] * (n // size) + ([n % size] if n % size else [])
        if n == 0:
            sizes = [0]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise RuntimeError(
                f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size at dimension "
                f"{dim}), but got split_sizes={sizes}"
            )
    out, start = [], 0
    for s in sizes:
        out.append(narrow(input, dim, start, s))
        start += s
    return tuple(out)


def chunk(input, chunks: int, dim: int = 0, *, axis=None):
    if axis is not None:
        dim = dim_from_axis("chunk", dim, axis, 0)
    n = input.shape[normalize_dim(dim, input._data.ndim, "chunk")]
    size = -(-n // chunks) if n else 1
    return split(input, max(size, 1), dim)


def tensor_split(input, sections, dim: int = 0, *, axis=None):
    if axis is not None:
        dim = dim_from_axis("tensor_split", dim, axis, 0)
    dim = normalize_dim(dim, input._data.ndim, "tensor_split")
    n = input._data.shape[dim]
    if isinstance(sections, int):
        base, extra = divmod(n, sections)
        sizes = [base + 1] * extra + [base] * (sections - extra)
    else:
        bounds = [0] + [min(int(i), n) for i in sections] + [n]
        sizes = [max(b - a, 0) for a, b in zip(bounds, bounds[1:])]
    return split(input, sizes, dim)


def unbind(input, dim: int = 0, *, axis=None):
    if axis is not None:
        dim = dim_from_axis("unbind", dim, axis, 0)
    dim = normalize_dim(dim, input._data.ndim, "unbind")
    return tuple(
        _view_of(Slice.apply(input, (slice(None),) * dim + (i,)), input) for i in range(input._data.shape[dim])
    )


def column_stack(tensors):
    """Joins 0-D and 1-D tensors as columns (and wider tensors along their second axis)."""
    return hstack([reshape(t, (-1, 1)) if t._data.ndim < 2 else t for t in tensors])


def row_stack(tensors):
    """``vstack``: joins tensors as rows."""
    return vstack(tensors)


def dstack(tensors):
    """Joins tensors along their third axis (after ``atleast_3d``)."""
    return cat([_with_dims(t, 3) for t in tensors], 2)


def _numpy_split(input, indices_or_sections, dim, name, min_ndim):
    if input._data.ndim < min_ndim:
        raise RuntimeError(f"torch.{name} requires a tensor with at least {min_ndim} dimension, but got a tensor "
                           f"with {input._data.ndim} dimensions!")
    if isinstance(indices_or_sections, int):
        size = input._data.shape[dim]
        if indices_or_sections == 0 or size % indices_or_sections:
            raise RuntimeError(f"torch.{name} attempted to split along dimension {dim}, but the size of the "
                               f"dimension {size} is not divisible by the split_size {indices_or_sections}!")
    return tensor_split(input, indices_or_sections, dim)


def hsplit(input, indices_or_sections):
    """Splits along the second axis (the first for 1-D tensors), as ``numpy.hsplit``."""
    return _numpy_split(input, indices_or_sections, 1 if input._data.ndim > 1 else 0, "hsplit", 1)


def vsplit(input, indices_or_sections):
    """Splits along the first axis, as ``numpy.vsplit``."""
    return _numpy_split(input, indices_or_sections, 0, "vsplit", 2)


def dsplit(input, indices_or_sections):
    """Splits along the third axis, as ``numpy.dsplit``."""
    return _numpy_split(input, indices_or_sections, 2, "dsplit", 3)


def split_with_sizes(input, split_sizes, dim: int = 0, *, axis=None):
    """``split`` into pieces of the given sizes along ``dim``."""
    if axis is not None:
        dim = dim_from_axis("split_with_sizes", dim, axis, 0)
    return split(input, list(split_sizes), dim)


unsafe_split, unsafe_chunk, unsafe_split_with_sizes = split, chunk, split_with_sizes
