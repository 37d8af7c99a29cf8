"""Arithmetic: add, sub, mul, div, pow, neg, abs, reciprocal, remainder and floor division, clamp,
maximum / minimum, where and lerp, with broadcasting and PyTorch's type promotion.

Gradients w.r.t. broadcast inputs are summed back to shape by the engine, never here.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .. import _dtype, creation
from ..tensor import Tensor
from ._op import _TORCH_TYPE_NAMES, Op, Stepwise, conj_data, on_arrays, wrap
from ._util import as_operand, binary_operands, data_of, default_float, result_type
from .complex_ops import conj_of, sgn
from .unary import log, sign, trunc


class Add(Op):
    @staticmethod
    def forward(ctx, a, b):
        return np.add(data_of(a), data_of(b))

    @staticmethod
    def backward(ctx, grad):
        return grad, grad


class Sub(Op):
    @staticmethod
    def forward(ctx, a, b):
        return np.subtract(data_of(a), data_of(b))

    @staticmethod
    def backward(ctx, grad):
        if not ctx.needs_input_grad[1]:
            return grad, None
        return grad, (wrap(np.negative(grad._data)) if on_arrays() else -grad)


class Mul(Op):
    @staticmethod
    def forward(ctx, a, b):
        # only what the other gradient needs; a Python scalar is kept as it is
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b if ctx.needs_input_grad[0] else None)
        return np.multiply(data_of(a), data_of(b))

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        if on_arrays():
            g = grad._data
            return (wrap(np.multiply(g, conj_data(b))) if ctx.needs_input_grad[0] else None,
                    wrap(np.multiply(g, conj_data(a))) if ctx.needs_input_grad[1] else None)
        ga = grad * conj_of(b) if ctx.needs_input_grad[0] else None
        gb = grad * conj_of(a) if ctx.needs_input_grad[1] else None
        return ga, gb


class Div(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if isinstance(a, Tensor) else None, b if isinstance(b, Tensor) else None)
        ctx.scalars = (data_of(a), data_of(b))
        return np.true_divide(data_of(a), data_of(b))

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        if on_arrays():
            g, b = grad._data, conj_data(b if b is not None else ctx.scalars[1])
            ga = wrap(np.true_divide(g, b)) if ctx.needs_input_grad[0] else None
            if not ctx.needs_input_grad[1]:
                return ga, None
            return ga, wrap(np.negative(g) * conj_data(a if a is not None else ctx.scalars[0]) / (b * b))
        b = conj_of(b if b is not None else ctx.scalars[1])
        ga = grad / b if ctx.needs_input_grad[0] else None
        # d(a/b)/db = -a / b^2 (conjugated for complex operands)
        gb = -grad * conj_of(a if a is not None else ctx.scalars[0]) / (b * b) if ctx.needs_input_grad[1] else None
        return ga, gb


class Neg(Op):
    @staticmethod
    def forward(ctx, a):
        return np.negative(a._data)

    @staticmethod
    def backward(ctx, grad):
        return wrap(np.negative(grad._data)) if on_arrays() else -grad


class Pow(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if isinstance(a, Tensor) else None, b if isinstance(b, Tensor) else None)
        ctx.scalars = (data_of(a), data_of(b))
        out = _power(data_of(a), data_of(b))
        if ctx.needs_input_grad[1]:
            ctx.save_output()
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        base = a if a is not None else ctx.scalars[0]
        exponent = b if b is not None else ctx.scalars[1]
        ga = gb = None
        if ctx.needs_input_grad[0]:
            # d(a^b)/da = b * a^(b-1); a zero exponent has zero gradient everywhere
            if b is None and exponent == 0:
                ga = grad * 0
            else:
                ga = grad * conj_of(exponent * base ** (exponent - 1))
        if ctx.needs_input_grad[1]:
            # d(a^b)/db = a^b * log(a), taken as 0 where a == 0 (PyTorch's convention)
            log_base = log(base) if isinstance(base, Tensor) else math.log(base) if base > 0 else float("nan")
            gb = grad * conj_of(ctx.output * log_base)
            if isinstance(base, Tensor):
                gb = where(base == 0, 0.0, gb)
        return ga, gb


def _power(x, exponent):
    """``np.power``, with the common small exponents done by multiplication (numpy's generic float
    power is far slower than ``x * x * x``)."""
    if isinstance(x, np.ndarray) and x.dtype.kind == "f" and isinstance(exponent, (int, float)):
        if exponent == 2:
            return x * x
        if exponent == 3:
            return x * x * x
        if exponent == 0.5:
            return np.sqrt(x)
        if exponent == 1:
            return x.copy()
    return np.power(x, exponent)


class Abs(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.abs(a._data)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * sgn(a) if a._data.dtype.kind == "c" else grad * sign(a)


class Reciprocal(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_output()  # the output, not the input: the input may be changed in place afterwards (torch)
        return np.reciprocal(a._data)

    @staticmethod
    def backward(ctx, grad):
        # d/dx 1/x = -1/x^2
        return -grad * conj_of(ctx.output * ctx.output)


class Clamp(Op):
    @staticmethod
    def forward(ctx, a, low, high):
        low_t, high_t = (bound if isinstance(bound, Tensor) else None for bound in (low, high))
        ctx.save_for_backward(a, low_t, high_t)
        ctx.bounds = (data_of(low), data_of(high))
        out = a._data
        if low is not None:
            out = np.maximum(out, data_of(low))
        if high is not None:
            out = np.minimum(out, data_of(high))
        return out if out is not a._data else out.copy()

    @staticmethod
    def backward(ctx, grad):
        a, low_t, high_t = ctx.saved_tensors
        low, high = ctx.bounds
        x = a._data
        inside = np.ones(grad._data.shape, dtype=bool)  # bounds may broadcast the output
        if low is not None:
            inside = inside & (x >= low)
        if high is not None:
            inside = inside & (x <= high)
        # where(), not grad * mask: as torch, a masked element gets 0 even when its incoming gradient is nan
        if on_arrays():
            g, zero = grad._data, np.zeros((), grad._data.dtype)
            return (wrap(np.where(inside, g, zero)) if ctx.needs_input_grad[0] else None,
                    wrap(np.where(x < low, g, zero)) if low_t is not None and ctx.needs_input_grad[1] else None,
                    wrap(np.where(x > high, g, zero)) if high_t is not None and ctx.needs_input_grad[2] else None)
        zero = Tensor._wrap(np.zeros((), grad._data.dtype))
        ga = where(Tensor._wrap(inside), grad, zero) if ctx.needs_input_grad[0] else None
        g_low = where(Tensor._wrap(x < low), grad, zero) if low_t is not None and ctx.needs_input_grad[1] else None
        g_high = where(Tensor._wrap(x > high), grad, zero) if high_t is not None and ctx.needs_input_grad[2] else None
        return ga, g_low, g_high


class Extremum(Op):
    """``maximum`` / ``minimum`` (NaN wins) and ``fmax`` / ``fmin`` (NaN loses), with PyTorch's gradients:
    for maximum / minimum a tie shares the gradient and a NaN gives all of it to both inputs; for fmax /
    fmin it goes to ``a`` where ``a`` wins or ties or ``b`` is NaN, and to ``b`` elsewhere."""

    @staticmethod
    def forward(ctx, a, b, kind):
        ctx.save_for_backward(a, b)
        ctx.kind = kind
        return _EXTREMA[kind](data_of(a), data_of(b))

    @staticmethod
    def backward(ctx, grad):
        a, b = (data_of(t) for t in ctx.saved_tensors)
        dtype = grad._data.dtype
        if ctx.kind in ("fmax", "fmin"):
            to_a = ((a >= b) if ctx.kind == "fmax" else (a <= b)) | np.isnan(b)
            share_a = to_a.astype(dtype)
            share_b = 1 - share_a
        else:
            a_loses, b_loses = (a < b, a > b) if ctx.kind == "maximum" else (a > b, a < b)
            tie = a == b
            share_a = np.where(tie, 0.5, ~a_loses).astype(dtype)
            share_b = np.where(tie, 0.5, ~b_loses).astype(dtype)
        ga = grad * Tensor._wrap(share_a) if ctx.needs_input_grad[0] else None
        gb = grad * Tensor._wrap(share_b) if ctx.needs_input_grad[1] else None
        return ga, gb, None

    def name(self) -> str:
        return getattr(self, "kind", "extremum").capitalize() + "Backward"  # MaximumBackward, as PyTorch


_EXTREMA = {"maximum": np.maximum, "minimum": np.minimum, "fmax": np.fmax, "fmin": np.fmin}


class Where(Op):
    @staticmethod
    def forward(ctx, condition, a, b):
        ctx.condition = condition._data
        return np.where(condition._data, data_of(a), data_of(b))

    @staticmethod
    def backward(ctx, grad):
        c = Tensor._wrap(ctx.condition)
        zero = Tensor._wrap(np.zeros((), grad._data.dtype))
        ga = where(c, grad, zero) if ctx.needs_input_grad[1] else None
        gb = where(c, zero, grad) if ctx.needs_input_grad[2] else None
        return None, ga, gb


# --- functional forms -----------------------------------------------------------------
def add(input, other, *, alpha=1):
    """``input + alpha * other`` with broadcasting and PyTorch's type promotion."""
    if alpha != 1:
        other = mul(other, alpha)
    a, b = binary_operands(input, other)
    return Add.apply(a, b)


def sub(input, other, *, alpha=1):
    bools = [t.__class__ is bool or (isinstance(t, Tensor) and t._data.dtype == np.bool_) for t in (input, other)]
    if bools[0] != bools[1]:
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying "
                           "to invert a mask, use the `~` or `logical_not()` operator instead.")
    if alpha != 1:
        other = mul(other, alpha)
    a, b = binary_operands(input, other)
    if a.__class__ is bool or (isinstance(a, Tensor) and a._data.dtype == np.bool_):
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. "
                           "Use the `^` or `logical_xor()` operator instead.")
    return Sub.apply(a, b)


subtract = sub


def mul(input, other):
    a, b = binary_operands(input, other)
    return Mul.apply(a, b)


multiply = mul


def div(input, other, *, rounding_mode=None):
    """True division (integers give the default float dtype); ``rounding_mode`` "trunc" or "floor"."""
    if rounding_mode == "floor":
        a, b = binary_operands(input, other)
        if any(isinstance(t, Tensor) and t.requires_grad for t in (a, b)):
            return Stepwise.apply(np.floor_divide, a, b)  # recorded with a zero gradient, as in PyTorch
        return floor_divide(a, b)
    a, b = binary_operands(input, other)
    if rounding_mode == "trunc":
        _check_integer_divisor(a, b)
    common = _dtype.as_dtype(getattr(a, "dtype", None) or getattr(b, "dtype"))
    if not (common.is_floating_point or common.is_complex):
        target = _dtype.get_default_dtype().numpy
        a = a.to(target) if isinstance(a, Tensor) else float(a)
        b = b.to(target) if isinstance(b, Tensor) else float(b)
    if rounding_mode is None and not isinstance(a, Tensor):  # number / tensor: number * reciprocal, as torch
        return mul(Reciprocal.apply(b), a)
    out = Div.apply(a, b)
    if rounding_mode == "trunc":
        result = trunc(out)
        return result if input_is_float(input, other) else result.to(result_type_of(input, other))
    if rounding_mode is not None:
        raise ValueError(
            f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '{rounding_mode}'"
        )
    return out


divide = true_divide = div


def input_is_float(a, b) -> bool:
    return result_type(as_operand(a), as_operand(b)).is_floating_point


def result_type_of(a, b):
    return result_type(as_operand(a), as_operand(b))


def floor_divide(input, other):
    """``floor(input / other)`` (Python's ``//``); integer division by zero raises, as in PyTorch."""
    # zero gradient almost everywhere: not recorded (PyTorch records it but cannot differentiate it)
    a, b = binary_operands(input, other)
    _check_integer_divisor(a, b)
    with np.errstate(all="ignore"):  # float division by zero is inf or nan, silently
        return Tensor._wrap(np.asarray(np.floor_divide(data_of(a), data_of(b))))


def _check_integer_divisor(a, b) -> None:
    divisor = data_of(b)
    if np.result_type(data_of(a), divisor).kind in "biu" and np.any(np.equal(divisor, 0)):
        raise RuntimeError("ZeroDivisionError")


def remainder(input, other):
    """Python's modulo (result has the sign of the divisor): ``a - floor(a / b) * b``, so the gradient
    is 1 for ``input`` and ``-floor(a / b)`` for ``other``, as in torch."""
    a, b = binary_operands(input, other)
    if any(isinstance(t, Tensor) and t.requires_grad for t in (a, b)):
        return a - floor_divide(a, b).detach() * b
    _check_integer_divisor(a, b)
    with np.errstate(all="ignore"):
        return Tensor._wrap(np.asarray(np.remainder(data_of(a), data_of(b))))


def neg(input):
    if input._data.dtype == np.bool_:
        raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported.")
    return Neg.apply(input)


negative = neg


def pow(input, exponent):  # noqa: A001 (PyTorch's name)
    a, b = binary_operands(input, exponent)
    if isinstance(a, Tensor) and a._data.dtype.kind in "iu" and not isinstance(b, Tensor) and b < 0:
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    return Pow.apply(a, b)


def abs(input):  # noqa: A001
    return Abs.apply(input)


absolute = abs


def reciprocal(input):
    return Reciprocal.apply(default_float(input))


def square(input):
    return mul(input, input)


def clamp(input, min=None, max=None):  # noqa: A002
    if min is None and max is None:
        raise RuntimeError("At least one of 'min' or 'max' must not be None")
    if input._data.dtype.kind == "c":
        raise NotImplementedError("clamp is not supported for complex types")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        if isinstance(min, Tensor) and min.dtype != input.dtype:
            min = min.to(input.dtype)
        if isinstance(max, Tensor) and max.dtype != input.dtype:
            max = max.to(input.dtype)
    elif input._data.dtype.kind != "f" and (isinstance(min, float) or isinstance(max, float)):
        input = default_float(input)
    return Clamp.apply(input, min, max)


clip = clamp


def clamp_min(input, min):  # noqa: A002
    return clamp(input, min=min)


def clamp_max(input, max):  # noqa: A002
    return clamp(input, max=max)


def _extremum(kind: str, doc: str):
    def fn(input, other):
        a, b = binary_operands(input, as_operand(other))
        if any(isinstance(x, Tensor) and x._data.dtype.kind == "c" for x in (a, b)):
            raise RuntimeError(f"{kind} not implemented for complex tensors.")
        return Extremum.apply(a, b, kind)

    fn.__name__, fn.__doc__ = kind, doc
    return fn


maximum = _extremum("maximum", "Elementwise maximum; a NaN in either input gives NaN.")
minimum = _extremum("minimum", "Elementwise minimum; a NaN in either input gives NaN.")
fmax = _extremum("fmax", "Elementwise maximum that ignores NaN (NaN only where both are NaN).")
fmin = _extremum("fmin", "Elementwise minimum that ignores NaN (NaN only where both are NaN).")


def where(condition, input=None, other=None):
    """``input`` where ``condition`` holds, else ``other``; with one argument, ``nonzero`` as tuple."""
    if input is None and other is None:
        return tuple(Tensor._wrap(i) for i in np.nonzero(condition._data))
    condition = as_operand(condition)
    if condition._data.dtype == np.uint8:  # torch still takes uint8, with a deprecation warning
        warnings.warn("where received a uint8 condition tensor. This behavior is deprecated and will be removed "
                      "in a future version of PyTorch. Use a boolean condition instead.", UserWarning, stacklevel=2)
        condition = Tensor._wrap(condition._data.astype(bool))
    elif condition._data.dtype != np.bool_:
        name = _TORCH_TYPE_NAMES.get(condition._data.dtype.name, condition._data.dtype.name)
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor with dtype {name}")
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):  # where(c, 1, 0): numbers' dtypes
        input, other = creation.tensor(input), creation.tensor(other)
    a, b = binary_operands(as_operand(input), as_operand(other))
    return Where.apply(condition, a, b)


def lerp(input, end, weight):
    """``input + weight * (end - input)``."""
    return add(input, mul(weight, sub(end, input)))


# ``from .arithmetic import *`` (and so ``ember``) gets the functions defined here, not the Op classes, the
# imports or the promotion helpers other op files import by name (keep this at the end of the file)
__all__ = [name for name, value in globals().items()
           if not name.startswith("_") and callable(value) and not isinstance(value, type)
           and getattr(value, "__module__", None) == __name__ and name not in ("input_is_float", "result_type_of")]
