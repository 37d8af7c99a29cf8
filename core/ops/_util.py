"""Shared helpers for ops: type promotion and dimension arguments."""

from __future__ import annotations

import numpy as np

from .. import _dtype
from ..creation import tensor
from ..tensor import Tensor


def result_type(*operands) -> _dtype.dtype:
    """PyTorch's result type: tensors with dimensions outrank 0-d tensors, which outrank Python
    scalars, except that a higher category (bool < integer < floating point) always wins."""
    dim = zero = wrapped = None
    for o in operands:
        if isinstance(o, Tensor):
            d = _dtype.from_numpy_dtype(o._data.dtype)
            if o._data.ndim:
                dim = d if dim is None else _dtype.promote_types(dim, d)
            else:
                zero = d if zero is None else _dtype.promote_types(zero, d)
        else:
            category = _dtype.category_of_scalar(o)
            d = (_dtype.bool_, _dtype.int64, _dtype.get_default_dtype(),
                 _dtype.get_default_complex_dtype())[category]
            wrapped = d if wrapped is None else _dtype.promote_types(wrapped, d)
    return _combine(dim, _combine(zero, wrapped))


def _combine(higher, lower):
    if higher is None:
        return lower
    if lower is None or higher.is_complex:
        return higher
    if lower.is_complex:  # a float tensor keeps its precision: float64 tensor + 1j -> complex128, as torch
        return higher.to_complex() if higher.is_floating_point else lower
    if higher.is_floating_point:
        return higher
    if higher is _dtype.bool_ or lower.is_floating_point:
        return _dtype.promote_types(higher, lower)
    return higher


def binary_operands(a, b):
    """Casts the tensor operands of a binary op to their common dtype. Python scalars stay
    scalars (numpy treats them as weak, as PyTorch does) unless they outrank the tensor."""
    a_is_tensor, b_is_tensor = isinstance(a, Tensor), isinstance(b, Tensor)
    if a_is_tensor and b_is_tensor:
        if a._data.dtype == b._data.dtype:
            return a, b
    elif a_is_tensor:
        if not isinstance(b, (int, float, complex, bool, np.number, np.bool_)):
            b = as_operand(b)
            return binary_operands(a, b)
        kind = a._data.dtype.kind
        if kind == "c" or (kind == "f" and not isinstance(b, complex)) or (
                kind in "iu" and isinstance(b, (int, np.integer)) and not isinstance(b, bool)):
            return a, b
    elif b_is_tensor:
        if not isinstance(a, (int, float, complex, bool, np.number, np.bool_)):
            return binary_operands(as_operand(a), b)
        if b._data.dtype.kind == "c" or (b._data.dtype.kind == "f" and not isinstance(a, complex)):
            return a, b
    else:
        raise TypeError(f"expected at least one Tensor operand, got {type(a).__name__} and {type(b).__name__}")
    target = result_type(a, b).numpy
    return _cast(a, target), _cast(b, target)


def _cast(x, np_dtype):
    if isinstance(x, Tensor):
        return x if x._data.dtype == np_dtype else x.to(np_dtype)
    return np_dtype.type(x)


def as_operand(x):
    """Turns lists and arrays given as operands into tensors; Tensors and Python scalars pass."""
    if isinstance(x, Tensor) or isinstance(x, (int, float, complex, bool)):
        return x
    if isinstance(x, np.ndarray):
        return Tensor._wrap(x)
    if isinstance(x, (np.number, np.bool_)):
        return x.item()
    if isinstance(x, (list, tuple)):
        return tensor(x)
    raise TypeError(f"unsupported operand type {type(x).__name__}; expected a Tensor or a number")


def data_of(x):
    return x._data if isinstance(x, Tensor) else x


def normalize_dim(dim: int, ndim: int, op: str = "op") -> int:
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(
            f"{op}: dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})"
        )
    return dim % n


def normalize_dims(dim, ndim: int, op: str = "op"):
    """``None`` -> all axes; an int or a tuple -> a sorted tuple of non-negative axes."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (int, np.integer)):
        return (normalize_dim(int(dim), ndim, op),)
    dims = tuple(sorted(normalize_dim(int(d), ndim, op) for d in dim))
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"{op}: dim {tuple(dim)} appears multiple times in the list of dims")
    return dims


def default_float(x: Tensor) -> Tensor:
    """Integer and bool tensors are cast to the default float dtype (for ops such as exp or mean)."""
    if x._data.dtype.kind in "fc":
        return x
    return x.to(_dtype.get_default_dtype())
