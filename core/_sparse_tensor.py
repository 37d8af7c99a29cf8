"""Sparse COO tensors: a ``Tensor`` whose storage is a small COO holder instead of a dense array.

``SparseTensor`` subclasses ``Tensor`` so that autograd, ``requires_grad``, ``grad`` and hooks work
unchanged: its ``_data`` is a ``COO`` (``indices`` of shape ``(sparse_dim, nnz)``, ``values`` of shape
``(nnz, *dense_shape)``, the full ``shape``) that answers ``shape`` / ``dtype`` / ``ndim`` / ``size`` as an
array would, so the engine can check and route gradients of sparse tensors as of any other. Every other use
of it as an array raises "... is not supported for sparse tensors" (``NotImplementedError``, as torch's
sparse backend), never a silently densified result. The differentiable sparse ops are in ``ember.sparse``,
which binds them onto the class (as ``ember/__init__.py`` binds the dense ops onto ``Tensor``).
"""

from __future__ import annotations

import numpy as np

from . import _dtype
from ._device import layout
from ._format import format_array
from .tensor import Tensor

sparse_coo = layout("sparse_coo")


class SparseUnsupported(NotImplementedError, AttributeError):
    """An operation a sparse tensor does not support (also an ``AttributeError``, so ``hasattr`` is False)."""


def unsupported(op: str) -> SparseUnsupported:
    return SparseUnsupported(
        f"{op!r} is not supported for sparse tensors (layout=ember.sparse_coo); convert with .to_dense() first"
    )


class COO:
    """The storage of a sparse COO tensor: ``indices`` (int64, ``(sparse_dim, nnz)``), ``values``
    (``(nnz, *dense_shape)``), the full ``shape`` and whether the indices are known to be coalesced
    (sorted, without duplicates)."""

    __slots__ = ("indices", "values", "shape", "coalesced")
    base = None  # the engine asks whether a gradient's array is a view

    def __init__(self, indices: np.ndarray, values: np.ndarray, shape: tuple, coalesced: bool):
        self.indices, self.values, self.shape, self.coalesced = indices, values, tuple(shape), coalesced

    # --- what an array would answer ---------------------------------------------------------
    @property
    def dtype(self) -> np.dtype:
        return self.values.dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def itemsize(self) -> int:
        return self.values.itemsize

    @property
    def sparse_dim(self) -> int:
        return self.indices.shape[0]

    @property
    def nnz(self) -> int:
        return self.indices.shape[1]

    def copy(self) -> COO:
        return COO(self.indices.copy(), self.values.copy(), self.shape, self.coalesced)

    def __neg__(self) -> COO:
        return COO(self.indices, -self.values, self.shape, self.coalesced)

    def __array__(self, dtype=None, copy=None):
        raise unsupported("this operation")

    # a dense op computing on the holder names itself: np.exp(holder) -> "'exp' is not supported ..."
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        raise unsupported(ufunc.__name__)

    def __array_function__(self, func, types, args, kwargs):
        raise unsupported(func.__name__)

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        raise unsupported(name)

    def __reduce__(self):
        return (COO, (self.indices, self.values, self.shape, self.coalesced))

    # --- the two conversions everything else is built on --------------------------------------
    def linear(self) -> np.ndarray:
        """Each entry's row-major position among the sparse dimensions."""
        if self.sparse_dim == 0:
            return np.zeros(self.nnz, np.int64)
        return np.ravel_multi_index(tuple(self.indices), self.shape[: self.sparse_dim])

    def to_dense(self) -> np.ndarray:
        sparse_shape = self.shape[: self.sparse_dim]
        out = np.zeros((int(np.prod(sparse_shape, dtype=np.int64)),) + self.shape[self.sparse_dim:], self.dtype)
        np.add.at(out, self.linear(), self.values)  # duplicates add up, as in torch
        return out.reshape(self.shape)

    def coalesce(self) -> COO:
        """Sorted indices without duplicates (the values of a repeated index summed)."""
        if self.coalesced:
            return self
        unique, inverse = np.unique(self.linear(), return_inverse=True)
        values = np.zeros((unique.size,) + self.values.shape[1:], self.dtype)
        np.add.at(values, inverse.reshape(-1), self.values)
        indices = np.array(np.unravel_index(unique, self.shape[: self.sparse_dim]), dtype=np.int64)
        return COO(indices.reshape(self.sparse_dim, -1), values, self.shape, True)


class SparseTensor(Tensor):
    """A sparse COO tensor (``layout=ember.sparse_coo``); build it with ``ember.sparse_coo_tensor`` or
    ``Tensor.to_sparse()``.

    Example:
        >>> import ember
        >>> s = ember.sparse_coo_tensor([[0, 1], [2, 0]], [3.0, 4.0], (2, 3))
        >>> s.to_dense()
        tensor([[0., 0., 3.],
                [4., 0., 0.]])
    """

    __slots__ = ()
    is_sparse = True

    @property
    def layout(self):
        return sparse_coo

    @property
    def data(self) -> SparseTensor:
        return SparseTensor._wrap(self._data)

    @data.setter
    def data(self, value) -> None:
        if not isinstance(value, SparseTensor):
            raise TypeError("data of a sparse tensor must be a sparse tensor")
        self._data = value._data

    def detach(self) -> SparseTensor:
        return SparseTensor._wrap(self._data, False, None, 0, self._vc)

    # --- the COO accessors (torch's names) -----------------------------------------------------
    def _indices(self) -> Tensor:
        return Tensor._wrap(self._data.indices)

    def _values(self) -> Tensor:
        return Tensor._wrap(self._data.values)

    def indices(self) -> Tensor:
        if not self._data.coalesced:
            raise RuntimeError("Cannot get indices on an uncoalesced tensor, please call .coalesce() first")
        return Tensor._wrap(self._data.indices)

    def _nnz(self) -> int:
        return self._data.nnz

    def sparse_dim(self) -> int:
        return self._data.sparse_dim

    def dense_dim(self) -> int:
        return self._data.ndim - self._data.sparse_dim

    def is_coalesced(self) -> bool:
        return self._data.coalesced

    # --- what a strided tensor has and a sparse one has not ------------------------------------
    def stride(self, dim=None):
        raise RuntimeError("Sparse tensors do not have strides")

    def is_contiguous(self, memory_format=None) -> bool:
        raise RuntimeError("Sparse tensors do not have is_contiguous")

    def data_ptr(self) -> int:
        raise RuntimeError("Cannot access data pointer of Tensor that doesn't have storage (a sparse tensor)")

    def numpy(self, force: bool = False):
        raise TypeError("can't convert Sparse layout tensor to numpy. Use Tensor.to_dense() first.")

    def __array__(self, dtype=None, copy=None):
        raise TypeError("can't convert Sparse layout tensor to numpy. Use Tensor.to_dense() first.")

    def item(self):
        raise unsupported("item")

    def tolist(self):
        raise unsupported("tolist")

    def __iter__(self):
        raise unsupported("iteration")

    def __bool__(self) -> bool:
        raise unsupported("bool")

    def __repr__(self) -> str:
        return format_sparse(self)

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __reduce_ex__(self, protocol):
        return (_rebuild_sparse, (self._data, self._requires_grad))


def _rebuild_sparse(data, requires_grad):
    return SparseTensor._wrap(data, requires_grad)


def format_sparse(t: SparseTensor) -> str:
    """torch's repr: ``tensor(indices=..., values=..., size=(2, 3), nnz=4, layout=ember.sparse_coo)``."""
    coo = t._data
    prefix = "tensor(indices=tensor("
    lines = [prefix + _body(coo.indices, len(prefix)) + "),"]
    prefix = "       values=tensor("
    lines.append(prefix + _body(coo.values, len(prefix)) + "),")
    extras = [f"size={coo.shape}", f"nnz={coo.nnz}"]
    if coo.dtype not in (_dtype.get_default_dtype().numpy, np.int64, np.bool_):
        extras.append(f"dtype={t.dtype}")
    extras.append("layout=ember.sparse_coo")
    last = "       " + ", ".join(extras)
    if t.grad_fn is not None or t._requires_grad:
        autograd = f"grad_fn=<{t.grad_fn.name()}>" if t.grad_fn is not None else "requires_grad=True"
        if len(last) + len(autograd) + 3 > 80:
            lines.append(last + ",")
            last = "       " + autograd
        else:
            last += ", " + autograd
    lines.append(last + ")")
    return "\n".join(lines)


def _body(array: np.ndarray, indent: int) -> str:
    if array.size == 0:
        return f"[], size={tuple(array.shape)}"
    return format_array(array, indent)

