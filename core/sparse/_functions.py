"""The functions on sparse COO tensors: construction, conversion, arithmetic, sums, softmax, products."""

from __future__ import annotations

import numbers

import numpy as np

from .. import _dtype
from .._device import resolve
from .._sparse_tensor import COO, SparseTensor, unsupported
from ..ops.arithmetic import add as add_dense, mul as mul_dense
from ..ops.shape import reshape, t as dense_t
from ..tensor import Tensor, _array_from_data
from . import _ops


# --- construction and conversion ------------------------------------------------------------------
def sparse_coo_tensor(indices, values, size=None, *, dtype=None, device=None, pin_memory=False,
                      requires_grad: bool = False, check_invariants=None, is_coalesced=None) -> SparseTensor:
    """A sparse COO tensor with ``values[k]`` at position ``indices[:, k]`` (repeated indices add up).

    ``size`` defaults to the smallest shape that holds the indices. The result's values keep their graph:
    the gradient of ``values`` is the gradient at each one's index.

    Example:
        >>> import ember
        >>> i = ember.tensor([[0, 1, 1], [2, 0, 2]])
        >>> s = ember.sparse_coo_tensor(i, ember.tensor([3.0, 4.0, 5.0]), (2, 3))
        >>> s.to_dense()
        tensor([[0., 0., 3.],
                [4., 0., 5.]])
    """
    if device is not None and resolve(device) != "cpu":
        raise NotImplementedError("sparse_coo_tensor: sparse tensors live on the CPU; the meta device has none")
    index_array = indices._data if isinstance(indices, Tensor) else _array_from_data(indices, None)
    if index_array.ndim != 2:
        raise RuntimeError(f"sparse_coo_tensor: indices must be sparse_dim x nnz, but got: {list(index_array.shape)}")
    if index_array.dtype.kind not in "iuf":
        raise RuntimeError(f"sparse_coo_tensor: indices must be an int64 tensor, got {index_array.dtype}")
    index_array = index_array.astype(np.int64)
    value_tensor = values if isinstance(values, Tensor) else Tensor._wrap(_array_from_data(values, None))
    if dtype is not None and value_tensor._data.dtype != _dtype.to_numpy_dtype(dtype):
        value_tensor = value_tensor.to(dtype)
    value_array = value_tensor._data
    if value_array.ndim == 0:
        raise RuntimeError("sparse_coo_tensor: values must have at least one dimension (nnz)")
    sparse_dim, nnz = index_array.shape
    if value_array.shape[0] != nnz:
        raise RuntimeError(f"indices and values must have same nnz, but got nnz from indices: {nnz}, nnz from "
                           f"values: {value_array.shape[0]}")
    shape = _size(index_array, value_array, size)
    _check_indices(index_array, shape)
    coalesced = bool(is_coalesced) if is_coalesced is not None else nnz <= 1
    coo = COO(index_array, value_array, shape, coalesced)
    result = _ops.sparse_result(_ops.SparseCooTensorWithDimsAndTensors.apply(value_tensor, coo), coo)
    if requires_grad:
        result.requires_grad_(True)
    return result


def _size(indices: np.ndarray, values: np.ndarray, size) -> tuple:
    sparse_dim = indices.shape[0]
    dense_shape = tuple(values.shape[1:])
    if size is None:
        sparse_shape = tuple(int(m) + 1 for m in indices.max(axis=1)) if indices.shape[1] else (0,) * sparse_dim
        return sparse_shape + dense_shape
    shape = tuple(int(s) for s in size)
    if len(shape) != sparse_dim + len(dense_shape):
        raise RuntimeError(f"'len(size) == sparse_dim + dense_dim' is not satisfied: len(size) = {len(shape)}, "
                           f"sparse_dim = {sparse_dim}, dense_dim = {len(dense_shape)}")
    if shape[sparse_dim:] != dense_shape:
        raise RuntimeError(f"sparse_coo_tensor: values have the dense shape {list(dense_shape)} but size says "
                           f"{list(shape[sparse_dim:])}")
    return shape


def _check_indices(indices: np.ndarray, shape: tuple) -> None:
    """torch's invariants (checked always: an index outside the size would read past an array here)."""
    if not indices.shape[1]:
        return
    low, high = indices.min(axis=1), indices.max(axis=1)
    for dim in range(indices.shape[0]):
        if low[dim] < 0:
            raise RuntimeError(f"found negative index {low[dim]} for dim {dim}")
        if high[dim] >= shape[dim]:
            raise RuntimeError(f"size is inconsistent with indices: for dim {dim}, size is {shape[dim]} but found "
                               f"index {high[dim]}")


def to_sparse(input: Tensor, sparse_dim: int | None = None, *, layout=None, blocksize=None,
              dense_dim=None) -> SparseTensor:
    """The nonzero entries of a dense tensor as a sparse COO tensor (``sparse_dim`` leading dimensions sparse;
    a slice over the remaining ones is kept when any of its values is nonzero)."""
    if isinstance(input, SparseTensor):
        if sparse_dim is not None and sparse_dim != input.sparse_dim():
            raise RuntimeError(f"to_sparse: conversion from Sparse to Sparse with sparse_dim={sparse_dim} is not "
                               "supported")
        return input
    if layout is not None and getattr(layout, "name", None) != "sparse_coo":
        raise NotImplementedError(f"to_sparse: layout {layout} is not supported (only ember.sparse_coo)")
    data = input._data
    sparse_dim = data.ndim if sparse_dim is None else int(sparse_dim)
    if not 0 < sparse_dim <= data.ndim:
        raise RuntimeError(f"to_sparse: sparse_dim must be in [1, {data.ndim}], got {sparse_dim}")
    mask = data != 0
    if sparse_dim < data.ndim:
        mask = mask.any(axis=tuple(range(sparse_dim, data.ndim)))
    indices = np.array(np.nonzero(mask), dtype=np.int64).reshape(sparse_dim, -1)
    coo = COO(indices, data[tuple(indices)], data.shape, True)
    return _ops.sparse_result(_ops.ToSparse.apply(input, coo), coo)


def sparse_mask(input: Tensor, mask: SparseTensor) -> SparseTensor:
    """``input`` (dense) at the indices of the sparse ``mask``: a sparse tensor of ``mask``'s pattern.

    Example:
        >>> import ember
        >>> mask = ember.sparse_coo_tensor([[0, 1], [1, 0]], [1.0, 1.0], (2, 2))
        >>> ember.tensor([[1.0, 2.0], [3.0, 4.0]]).sparse_mask(mask).to_dense()
        tensor([[0., 2.],
                [3., 0.]])
    """
    if isinstance(input, SparseTensor) or not isinstance(mask, SparseTensor):
        raise unsupported("sparse_mask of a sparse tensor or with a dense mask")
    m = mask._data
    if tuple(input.shape) != m.shape:
        raise RuntimeError(f"sparse_mask(): operands have incompatible sizes; self has size {list(input.shape)} "
                           f"but mask has size {list(m.shape)}")
    out = COO(m.indices, input._data[tuple(m.indices)], m.shape, m.coalesced)
    return _ops.sparse_result(_ops.SparseMask.apply(input, out), out)


def to_dense(input: Tensor, dtype=None, *, masked_grad=None) -> Tensor:
    """A sparse tensor as a dense one (repeated indices add up); a dense tensor is returned as is."""
    if not isinstance(input, SparseTensor):
        return input if dtype is None else input.to(dtype)
    out = _ops.ToDense.apply(input)
    return out if dtype is None else out.to(dtype)


def coalesce(input: SparseTensor) -> SparseTensor:
    """The same tensor with sorted, unique indices (values of a repeated index summed)."""
    if input._data.coalesced:
        return input
    out = input._data.coalesce()
    return _ops.sparse_result(_ops.SparseReshape.apply(input, out, None, "Coalesce"), out)


def values(input: SparseTensor) -> Tensor:
    if not input._data.coalesced:
        raise RuntimeError("Cannot get values on an uncoalesced tensor, please call .coalesce() first")
    return _ops.SparseValues.apply(input)


def cast(input: SparseTensor, dtype) -> SparseTensor:
    """A copy with values of ``dtype`` (the same dtype: a clone)."""
    coo = input._data
    out = COO(coo.indices.copy(), coo.values.astype(_dtype.to_numpy_dtype(dtype)), coo.shape, coo.coalesced)
    if out.dtype.kind not in "fc":  # not differentiable
        return SparseTensor._wrap(out)
    return _ops.sparse_result(_ops.SparseReshape.apply(input, out, None, "ToCopy"), out)


# --- arithmetic -----------------------------------------------------------------------------------------
def _number(value):
    """``value`` as a Python number if it is one (or a one-element tensor without a graph), else None."""
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        return value
    if isinstance(value, Tensor) and not isinstance(value, SparseTensor) and value.ndim == 0 \
            and not value.requires_grad:
        return value.item()
    return None


def mul(input: SparseTensor, other) -> SparseTensor:
    """A sparse tensor times a number (a 0-d tensor); other operands are not supported."""
    if isinstance(other, SparseTensor) and not isinstance(input, SparseTensor):
        input, other = other, input
    scale = _number(other)
    if scale is None:
        raise unsupported("mul of a sparse tensor by a tensor")
    coo = input._data
    with np.errstate(all="ignore"):
        values = coo.values * np.asarray(scale, coo.dtype) if coo.dtype.kind in "fc" else coo.values * scale
    out = COO(coo.indices, values, coo.shape, coo.coalesced)
    if values.dtype.kind not in "fc":
        return SparseTensor._wrap(out)
    return _ops.sparse_result(_ops.SparseReshape.apply(input, out, scale, "Mul"), out)


def add(input, other, *, alpha=1):
    """sparse + alpha * sparse (sparse result), dense + alpha * sparse (dense result)."""
    if isinstance(input, SparseTensor) and isinstance(other, SparseTensor):
        a, b = input._data, other._data
        if a.shape != b.shape:
            raise RuntimeError(f"add: expected sizes to match, got {list(a.shape)} and {list(b.shape)}")
        if a.sparse_dim != b.sparse_dim:
            raise RuntimeError(f"add: sparse dims differ ({a.sparse_dim} and {b.sparse_dim})")
        scaled = b.values if alpha == 1 else b.values * alpha
        out = COO(np.concatenate([a.indices, b.indices], axis=1), np.concatenate([a.values, scaled]), a.shape,
                  False)
        if a.coalesced and b.coalesced:  # as torch: two coalesced operands give a coalesced sum
            out = out.coalesce()
        return _ops.sparse_result(_ops.SparseAdd.apply(input, other, out, alpha), out)
    if isinstance(input, SparseTensor):
        raise RuntimeError("add(sparse, dense) is not supported. Use add(dense, sparse) instead.")
    dense = _ops.ToDense.apply(other, True)  # the sparse operand's gradient is dense here, as torch's
    return add_dense(input, dense if alpha == 1 else mul_dense(dense, alpha))


def transpose(input: SparseTensor, dim0: int, dim1: int) -> SparseTensor:
    """Swaps two sparse dimensions (indices rows swapped; the result is not coalesced)."""
    coo = input._data
    ndim = coo.ndim
    d0, d1 = (d + ndim if d < 0 else d for d in (dim0, dim1))
    if not (0 <= d0 < ndim and 0 <= d1 < ndim):
        raise IndexError(f"transpose: dimension out of range (expected to be in range of [{-ndim}, {ndim - 1}], "
                         f"but got {dim0}, {dim1})")
    if max(d0, d1) >= coo.sparse_dim:
        raise unsupported("transpose of a dense dimension of a sparse tensor")
    indices = coo.indices.copy()
    indices[[d0, d1]] = indices[[d1, d0]]
    shape = list(coo.shape)
    shape[d0], shape[d1] = shape[d1], shape[d0]
    out = COO(indices, coo.values, tuple(shape), coo.coalesced and d0 == d1)
    return _ops.sparse_result(_ops.SparseTranspose.apply(input, out, (d0, d1)), out)


def t(input: SparseTensor) -> SparseTensor:
    if input._data.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {input._data.ndim}D")
    return transpose(input, 0, 1) if input._data.ndim == 2 else input


# --- reductions and softmax -------------------------------------------------------------------------
def sum(input, dim=None, dtype=None, *, dense_grad: bool = False):
    """The sum of a sparse tensor: all of it (a 0-d dense tensor) or over ``dim`` (sparse while a sparse
    dimension is left, else dense).

    Example:
        >>> import ember
        >>> s = ember.sparse_coo_tensor([[0, 1, 1], [2, 0, 2]], [3.0, 4.0, 5.0], (2, 3))
        >>> ember.sparse.sum(s, 0).to_dense()
        tensor([4., 0., 8.])
    """
    if not isinstance(input, SparseTensor):
        return input.sum() if dim is None else input.sum(dim)
    if dtype is not None:
        input = cast(input, dtype)
    pattern = input._data.coalesce()
    ndim, sparse_dim = pattern.ndim, pattern.sparse_dim
    dims = tuple(range(ndim)) if dim is None else (dim,) if isinstance(dim, int) else tuple(dim)
    dims = sorted({d + ndim if d < 0 else d for d in dims})
    if any(not 0 <= d < ndim for d in dims):
        raise IndexError(f"sum: dimension out of range for a {ndim}-D sparse tensor: {dim}")
    kept = [d for d in range(sparse_dim) if d not in dims]
    dense_axes = tuple(1 + d - sparse_dim for d in dims if d >= sparse_dim)
    summed = pattern.values.sum(axis=dense_axes) if dense_axes else pattern.values
    dense_shape = tuple(s for d, s in enumerate(pattern.shape) if d >= sparse_dim and d not in dims)
    if not kept:  # no sparse dimension left: a dense result
        out_values = summed.sum(axis=0) if pattern.nnz else np.zeros(dense_shape, pattern.dtype)
        return _ops.SparseSum.apply(input, pattern, None, dense_axes, np.asarray(out_values, pattern.dtype), None,
                                    dense_grad and dim is None)
    shape = tuple(pattern.shape[d] for d in kept) + dense_shape
    keys = np.ravel_multi_index(tuple(pattern.indices[kept]), shape[: len(kept)]) if pattern.nnz else \
        np.zeros(0, np.int64)
    unique, keep = np.unique(keys, return_inverse=True)
    out_values = np.zeros((unique.size,) + dense_shape, pattern.dtype)
    np.add.at(out_values, keep.reshape(-1), summed)
    indices = np.array(np.unravel_index(unique, shape[: len(kept)]), dtype=np.int64).reshape(len(kept), -1)
    out = COO(indices, out_values, shape, True)
    values_out = _ops.SparseSum.apply(input, pattern, keep.reshape(-1), dense_axes, out_values, out)
    return _ops.sparse_result(values_out, out)


def _softmax(input: SparseTensor, dim: int, dtype, log: bool) -> SparseTensor:
    if not isinstance(input, SparseTensor):
        raise TypeError(f"ember.sparse.{'log_' if log else ''}softmax expects a sparse tensor, got a dense one")
    if dtype is not None:
        input = cast(input, dtype)
    pattern = input._data.coalesce()
    ndim = pattern.ndim
    dim = dim + ndim if dim < 0 else dim
    if not 0 <= dim < ndim:
        raise IndexError(f"softmax: dimension out of range (expected to be in range of [{-ndim}, {ndim - 1}], "
                         f"but got {dim})")
    if pattern.ndim != pattern.sparse_dim:
        raise unsupported("softmax of a sparse tensor with dense dimensions")
    others = [d for d in range(ndim) if d != dim]
    groups = (np.ravel_multi_index(tuple(pattern.indices[others]), tuple(pattern.shape[d] for d in others))
              if others else np.zeros(pattern.nnz, np.int64))
    groups = np.unique(groups, return_inverse=True)[1].reshape(-1)
    values = _ops.SparseSoftmax.apply(input, pattern, groups, log)
    return _ops.sparse_result(values, COO(pattern.indices, values._data, pattern.shape, True))


def softmax(input: SparseTensor, dim: int, dtype=None) -> SparseTensor:
    """Softmax over the specified entries of each slice along ``dim`` (unspecified entries count as -inf:
    they stay unspecified), as ``torch.sparse.softmax``."""
    return _softmax(input, dim, dtype, log=False)


def log_softmax(input: SparseTensor, dim: int, dtype=None) -> SparseTensor:
    """The log of ``softmax`` over the specified entries, as ``torch.sparse.log_softmax``."""
    return _softmax(input, dim, dtype, log=True)


# --- products -----------------------------------------------------------------------------------------
def _product(sparse: SparseTensor, dense: Tensor, sparse_grad: bool, op: str) -> Tensor:
    coo = sparse._data
    if isinstance(dense, SparseTensor):
        return _sparse_sparse(sparse, dense, op)
    if coo.ndim != 2 or coo.sparse_dim != 2:
        raise RuntimeError(f"{op}: expected a 2-D sparse matrix (2 sparse dimensions), got size {list(coo.shape)} "
                           f"with {coo.sparse_dim} sparse dimensions")
    if dense.ndim not in (1, 2):
        raise RuntimeError(f"{op}: expected a 1-D or 2-D dense operand, got {dense.ndim}-D")
    if coo.shape[1] != dense.shape[0]:
        raise RuntimeError(f"{op}: mat1 and mat2 shapes cannot be multiplied ({coo.shape[0]}x{coo.shape[1]} and "
                           f"{'x'.join(str(s) for s in dense.shape)})")
    if coo.dtype != dense._data.dtype:
        raise RuntimeError(f"{op}: expected mat1 and mat2 to have the same dtype, but got: {sparse.dtype} != "
                           f"{dense.dtype}")
    if dense.ndim == 1:
        return reshape(_ops.SparseMM.apply(sparse, reshape(dense, (-1, 1)), sparse_grad), (-1,))
    return _ops.SparseMM.apply(sparse, dense, sparse_grad)


def _sparse_sparse(a: SparseTensor, b: SparseTensor, op: str) -> SparseTensor:
    """sparse @ sparse -> sparse (no gradient: torch's is rarely used; refused rather than wrong)."""
    if a.requires_grad or b.requires_grad:
        raise unsupported(f"{op} of two sparse tensors with gradients")
    if a._data.shape[1] != b._data.shape[0]:
        raise RuntimeError(f"{op}: mat1 and mat2 shapes cannot be multiplied ({a.shape[0]}x{a.shape[1]} and "
                           f"{b.shape[0]}x{b.shape[1]})")
    result = (_ops.csr(a._data) @ _ops.csr(b._data)).tocoo()
    result.sum_duplicates()
    indices = np.array([result.row, result.col], dtype=np.int64).reshape(2, -1)
    return SparseTensor._wrap(COO(indices, result.data.astype(a._data.dtype), (a.shape[0], b.shape[1]), True))


def mm(mat1, mat2, reduce: str | None = None) -> Tensor:
    """sparse @ dense -> dense (sparse @ sparse -> sparse). The gradient of a sparse ``mat1`` is sparse, on its
    pattern (as ``torch.sparse.mm``); ``ember.mm`` / ``@`` / ``spmm`` give it dense.

    Example:
        >>> import ember
        >>> s = ember.sparse_coo_tensor([[0, 1], [1, 0]], [2.0, 3.0], (2, 2))
        >>> ember.sparse.mm(s, ember.ones(2, 1))
        tensor([[2.],
                [3.]])
    """
    if reduce is not None:
        raise unsupported(f"mm(reduce={reduce!r}) (torch's takes it for CSR tensors only)")
    if not isinstance(mat1, SparseTensor):
        if isinstance(mat2, SparseTensor):
            return dense_t(_product(t(mat2), dense_t(mat1), True, "mm"))
        return mat1.mm(mat2)
    return _product(mat1, mat2, True, "mm")


def dense_grad_mm(mat1, mat2) -> Tensor:
    """``ember.mm`` / ``matmul`` / ``@`` / ``spmm`` with a sparse operand (the sparse gradient is dense)."""
    if not isinstance(mat1, SparseTensor):
        return dense_t(_product(t(mat2), dense_t(mat1), False, "mm"))
    return _product(mat1, mat2, False, "mm")


def spmm(input, mat2) -> Tensor:
    """``ember.spmm``: sparse @ dense -> dense."""
    return dense_grad_mm(input, mat2)


def addmm(input, mat1, mat2, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)`` with a sparse ``mat1``."""
    product = mm(mat1, mat2)
    return _scaled_sum(input, product, beta, alpha)


def dense_grad_addmm(input, mat1, mat2, *, beta=1, alpha=1) -> Tensor:
    return _scaled_sum(input, dense_grad_mm(mat1, mat2), beta, alpha)


def _scaled_sum(input, product, beta, alpha):
    if alpha != 1:
        product = mul(product, alpha) if isinstance(product, SparseTensor) else mul_dense(product, alpha)
    if beta == 0:
        return product
    return add_dense(input if beta == 1 else mul_dense(input, beta), product)

