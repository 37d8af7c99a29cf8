"""Sparse tensors' methods, bound once by ``ember/__init__.py`` after the dense ops are bound onto ``Tensor``.

A method a sparse tensor does not support raises "'exp' is not supported for sparse tensors"
(``NotImplementedError``) instead of running the dense op on a holder that is not an array.
"""

from __future__ import annotations

import numpy as np

from .. import _dtype
from .._sparse_tensor import COO, SparseTensor, unsupported
from . import _functions as F

# modules whose functions become Tensor methods: every such method is the dense op
_DENSE_OP_MODULES = ("ember.ops", "ember._toplevel", "ember._spectral", "ember.creation")


def _to(self, *args, **kwargs):
    """``to(dtype)`` / ``to(device)`` / ``to(other)``: only the dtype can change (the device is the CPU)."""
    dtype = kwargs.get("dtype")
    for arg in args:
        if isinstance(arg, _dtype.dtype):
            dtype = arg
        elif hasattr(arg, "dtype") and not isinstance(arg, str):
            dtype = arg.dtype
    if dtype is None or _dtype.to_numpy_dtype(dtype) == self._data.dtype:
        return self
    return F.cast(self, dtype)


def _sum(self, dim=None, keepdim=False, dtype=None):
    if keepdim:
        raise unsupported("sum(keepdim=True)")
    return F.sum(self, dim, dtype, dense_grad=True)


def _sparse_product(op: str, *args, **kwargs):
    """The products ``ember.mm`` / ``matmul`` / ``addmm`` hand to a sparse operand (dense gradient)."""
    if op == "addmm":
        return F.dense_grad_addmm(*args, **kwargs)
    return F.dense_grad_mm(*args)


def _reflected_matmul(self, other):
    return F.dense_grad_mm(other, self)


def _zero_(self):
    """Empties the tensor in place (no entries: all zeros), as torch's ``zero_`` of a sparse tensor."""
    coo = self._data
    self._data = COO(np.zeros((coo.sparse_dim, 0), np.int64), np.zeros((0,) + coo.values.shape[1:], coo.dtype),
                     coo.shape, True)
    self._vc[0] += 1
    return self


def _unsupported_method(name: str):
    def method(self, *args, **kwargs):
        raise unsupported(name)

    method.__name__ = name
    return method


_SPARSE_METHODS = {
    "to_dense": F.to_dense, "to_sparse": F.to_sparse, "to_sparse_coo": lambda self: self,
    "coalesce": F.coalesce, "values": F.values, "clone": lambda self, memory_format=None: F.cast(self, self.dtype),
    "to": _to, "float": lambda self: _to(self, _dtype.float32), "double": lambda self: _to(self, _dtype.float64),
    "mul": F.mul, "__mul__": F.mul, "__rmul__": F.mul,
    "div": lambda self, other: F.mul(self, 1 / other), "__truediv__": lambda self, other: F.mul(self, 1 / other),
    "neg": lambda self: F.mul(self, -1), "__neg__": lambda self: F.mul(self, -1),
    "add": F.add, "__add__": F.add, "__radd__": lambda self, other: F.add(other, self),
    "sub": lambda self, other, *, alpha=1: F.add(self, other, alpha=-alpha),
    "__sub__": lambda self, other: F.add(self, other, alpha=-1),
    "__rsub__": lambda self, other: F.add(other, self, alpha=-1),
    "t": F.t, "transpose": F.transpose, "sum": _sum,
    "mm": F.dense_grad_mm, "matmul": F.dense_grad_mm, "__matmul__": F.dense_grad_mm,
    "__rmatmul__": _reflected_matmul, "_sparse_product": staticmethod(_sparse_product), "zero_": _zero_,
}


def bind_methods(Tensor) -> None:
    """Gives ``Tensor`` its ``to_sparse`` / ``to_dense`` and ``SparseTensor`` its methods; every other op
    method of ``Tensor`` raises on a sparse tensor."""
    Tensor.to_sparse = F.to_sparse
    Tensor.to_sparse_coo = lambda self: F.to_sparse(self)
    Tensor.to_dense = F.to_dense
    Tensor.sparse_mask = F.sparse_mask
    for name, value in _SPARSE_METHODS.items():
        setattr(SparseTensor, name, value)
    for name, value in list(vars(Tensor).items()):
        if name in vars(SparseTensor) or name.startswith("_") and not name.startswith("__"):
            continue
        function = value.fget if isinstance(value, property) else value
        module = getattr(function, "__module__", None) or ""
        if callable(function) and module.startswith(_DENSE_OP_MODULES):
            stub = _unsupported_method(name)
            setattr(SparseTensor, name, property(stub) if isinstance(value, property) else stub)
