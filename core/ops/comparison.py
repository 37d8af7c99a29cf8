"""Comparisons, logical and bitwise ops, and the NaN / inf tests: never differentiable, so they
compute on arrays and return tensors without a graph."""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from ._op import _not_implemented_for, wrap
from ._util import as_operand, binary_operands, data_of


def _comparison(np_fn, name):
    def fn(input, other):
        a, b = binary_operands(input, as_operand(other))
        if name not in ("eq", "ne"):  # complex numbers have no order (numpy's is lexicographic)
            for x in (a, b):
                if isinstance(x, Tensor) and x._data.dtype.kind == "c":
                    raise _not_implemented_for(f"{name}_cpu", x)
        return wrap(np_fn(data_of(a), data_of(b)))

    fn.__name__ = name
    fn.__doc__ = f"Elementwise ``{name}`` with broadcasting; returns a bool tensor."
    return fn


eq = _comparison(np.equal, "eq")
ne = _comparison(np.not_equal, "ne")
lt = _comparison(np.less, "lt")
le = _comparison(np.less_equal, "le")
gt = _comparison(np.greater, "gt")
ge = _comparison(np.greater_equal, "ge")
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


def _logical(np_fn, name):
    def fn(input, other):
        return wrap(np_fn(data_of(input), data_of(as_operand(other))))

    fn.__name__ = name
    return fn


logical_and = _logical(np.logical_and, "logical_and")
logical_or = _logical(np.logical_or, "logical_or")
logical_xor = _logical(np.logical_xor, "logical_xor")


def _bitwise(np_fn, name):
    def fn(input, other):
        a, b = binary_operands(input, as_operand(other))
        if any(isinstance(x, Tensor) and x._data.dtype.kind == "f" for x in (a, b)):
            raise TypeError(
                f"{name}: bitwise operations need integer or bool tensors, got a floating point tensor"
            )
        return wrap(np_fn(data_of(a), data_of(b)))

    fn.__name__ = name
    return fn


bitwise_and = _bitwise(np.bitwise_and, "bitwise_and")
bitwise_or = _bitwise(np.bitwise_or, "bitwise_or")
bitwise_xor = _bitwise(np.bitwise_xor, "bitwise_xor")


def logical_not(input):
    return Tensor._wrap(np.logical_not(input._data))


def bitwise_not(input):
    if input._data.dtype.kind == "f":
        raise TypeError("bitwise_not: needs an integer or bool tensor, got a floating point tensor")
    return Tensor._wrap(np.invert(input._data))


def isnan(input):
    return Tensor._wrap(np.isnan(input._data))


def isinf(input):
    return Tensor._wrap(np.isinf(input._data))


def isfinite(input):
    return Tensor._wrap(np.isfinite(input._data))


def equal(input, other) -> bool:
    """True when both tensors have the same shape and elements."""
    return input.shape == other.shape and bool(np.array_equal(input._data, other._data))


def allclose(input, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    other = data_of(as_operand(other))
    return bool(np.allclose(input._data, other, rtol=rtol, atol=atol, equal_nan=equal_nan))


def isclose(input, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False):
    other = data_of(as_operand(other))
    return Tensor._wrap(np.isclose(input._data, other, rtol=rtol, atol=atol, equal_nan=equal_nan))


def signbit(input):
    """Whether each element's sign bit is set (true for -0.0, as in torch)."""
    return Tensor._wrap(np.signbit(input._data))


def isposinf(input):
    """True where an element is +inf."""
    return Tensor._wrap(np.isposinf(input._data) if input._data.dtype.kind == "f" else np.zeros(input.shape, bool))


def isneginf(input):
    """True where an element is -inf."""
    return Tensor._wrap(np.isneginf(input._data) if input._data.dtype.kind == "f" else np.zeros(input.shape, bool))


def isreal(input):
    """True where the imaginary part is zero (everywhere, for a real tensor)."""
    return Tensor._wrap(np.isreal(input._data))


def is_nonzero(input) -> bool:
    """The truth of a one-element tensor (more elements raise, as ``bool(t)`` does)."""
    if input._data.size == 0:
        raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
    if input._data.size > 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return bool(input._data.reshape(-1)[0])


def is_same_size(input, other) -> bool:
    """Whether both tensors have the same shape."""
    return tuple(input.shape) == tuple(other.shape)


def is_signed(input) -> bool:
    """Whether the dtype holds negative numbers (false for bool and unsigned integers)."""
    return input._data.dtype.kind in "ifc"


# ``from .comparison import *`` (and so ``ember``) gets the functions defined here, not the imports
# (keep this at the end of the file, after every function)
__all__ = [name for name, value in globals().items()
           if not name.startswith("_") and callable(value) and not isinstance(value, type)
           and getattr(value, "__module__", None) == __name__]
