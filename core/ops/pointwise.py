"""Pointwise math beyond arithmetic: atan2, hypot, copysign, logaddexp, addcmul, heaviside, gcd, ...

Binary ops promote like ``add`` (integers give the default float dtype where the result is not
whole); gradients w.r.t. broadcast inputs are summed back by the engine.

This module also binds the Tensor-only methods of the older op modules (``Tensor.unfold``, ``t_``,
``resize_``, ...): torch has no top-level function of those names, so they stay out of ``__all__``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .. import _dtype
from ..tensor import Tensor
from ._op import Op, _not_implemented_for
from ._util import as_operand, binary_operands, data_of, default_float
from .arithmetic import _check_integer_divisor, add, div, mul, pow, sub
from .arithmetic import where as _where
from .diagonals import fill_diagonal_  # noqa: F401 (a Tensor method, below)
from .inplace import apply_inplace
from .reduce import sum_to_size  # noqa: F401 (a Tensor method, below)
from .inplace_views import (as_strided_, resize_, resize_as_, squeeze_, swapaxes_,  # noqa: F401 (methods)
                            swapdims_, t_, transpose_, unsqueeze_)
from .shape import unfold  # noqa: F401 (a Tensor method, below)
from .unary import exp, exp2, trunc

__all__ = ["addcdiv", "addcmul", "arctan2", "atan2", "bitwise_left_shift", "bitwise_right_shift", "copysign",
           "fix", "float_power", "fmod", "frexp", "gcd", "heaviside", "hypot", "lcm", "ldexp", "logaddexp",
           "logaddexp2", "nan_to_num", "nextafter", "positive", "rsub"]
METHODS = [name for name in __all__ if name != "rsub"] + ["float_power_"]
# Tensor-only methods torch has no top-level function for: listed here, outside __all__ (``ember.unfold``
# would not be torch's)
METHODS += ["unfold", "where", "fill_diagonal_", "sum_to_size", "t_", "transpose_", "swapaxes_", "swapdims_",
            "squeeze_", "unsqueeze_", "resize_", "resize_as_", "apply_", "map_", "map2_", "as_strided_"]
INPLACE = ["addcdiv", "addcmul", "arctan2", "atan2", "bitwise_left_shift", "bitwise_right_shift", "copysign",
           "fix", "fmod", "gcd", "heaviside", "hypot", "lcm", "ldexp", "nan_to_num", "nextafter"]


def _tensor_operands(op: str, input, other, *, floating: bool, integer_ok: bool = True):
    """Both operands as tensors of their promoted dtype (torch takes no Python number here)."""
    if not isinstance(other, Tensor):
        raise TypeError(f"{op}(): argument 'other' (position 2) must be Tensor, not {type(other).__name__}")
    a, b = binary_operands(input, other)
    if not integer_ok and a._data.dtype.kind != "f":
        raise _not_implemented_for(f"{op}_cpu", a)
    if floating:
        a, b = default_float(a), default_float(b)
    return a, b


class Atan2(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.arctan2(a._data, b._data)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        # d/da atan2(a, b) = b / (a^2 + b^2), d/db = -a / (a^2 + b^2)
        scale = grad / (a * a + b * b)
        ga = scale * b if ctx.needs_input_grad[0] else None
        gb = -scale * a if ctx.needs_input_grad[1] else None
        return ga, gb


def atan2(input, other):
    """The angle of the point ``(other, input)``: ``atan(input / other)`` in the right quadrant."""
    return Atan2.apply(*_tensor_operands("atan2", input, other, floating=True))


arctan2 = atan2


class Hypot(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        ctx.save_output()
        return np.hypot(a._data, b._data)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        # d/da sqrt(a^2 + b^2) = a / out
        scale = grad / ctx.output
        ga = scale * a if ctx.needs_input_grad[0] else None
        gb = scale * b if ctx.needs_input_grad[1] else None
        return ga, gb


def hypot(input, other):
    """``sqrt(input^2 + other^2)`` without overflow in the squares."""
    return Hypot.apply(*_tensor_operands("hypot", input, other, floating=False, integer_ok=False))


class Copysign(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a)
        ctx.save_output()
        return np.copysign(a._data, data_of(b))

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        # +-1 where the sign flipped; torch takes it as 0 at a == 0. The sign's own gradient is zero.
        ga = _where(a == 0, 0.0, grad * ctx.output / a) if ctx.needs_input_grad[0] else None
        gb = Tensor._wrap(np.zeros(grad.shape, grad._data.dtype)) if ctx.needs_input_grad[1] else None
        return ga, gb


def copysign(input, other):
    """The magnitude of ``input`` with the sign of ``other`` (a tensor or a number); always floating."""
    a, b = binary_operands(input, as_operand(other))
    if isinstance(a, Tensor) and a._data.dtype.kind != "f":
        a = default_float(a)
        b = default_float(b) if isinstance(b, Tensor) else float(b)
    elif isinstance(b, Tensor) and b._data.dtype.kind != "f":
        b = b.to(a.dtype)
    return Copysign.apply(a, b)


def heaviside(input, values):
    """The step function: 0 where ``input < 0``, 1 where ``input > 0`` and ``values`` where it is 0.
    Not differentiable (as in torch)."""
    if not isinstance(values, Tensor):
        raise TypeError(f"heaviside(): argument 'values' (position 2) must be Tensor, not {type(values).__name__}")
    if input._data.dtype != values._data.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
    x = input._data
    step = np.where(x == 0, values._data, x > 0)  # NaN counts as not positive, as in torch
    return Tensor._wrap(np.asarray(step, dtype=x.dtype))


class LogAddExp(Op):
    """``log(exp(a) + exp(b))`` (``base=2``: ``log2(2^a + 2^b)``) without overflow."""

    @staticmethod
    def forward(ctx, a, b, base):
        ctx.save_for_backward(a, b)
        ctx.save_output()
        ctx.base = base
        return (np.logaddexp if base == math.e else np.logaddexp2)(a._data, b._data)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        out, power = ctx.output, (exp if ctx.base == math.e else exp2)
        # d/da = base^(a - out): each input's share of the sum
        ga = grad * power(a - out) if ctx.needs_input_grad[0] else None
        gb = grad * power(b - out) if ctx.needs_input_grad[1] else None
        return ga, gb, None


def logaddexp(input, other):
    """``log(exp(input) + exp(other))``, computed stably."""
    a, b = _tensor_operands("logaddexp", input, other, floating=False, integer_ok=False)
    return LogAddExp.apply(a, b, math.e)


def logaddexp2(input, other):
    """``log2(2^input + 2^other)``, computed stably."""
    a, b = _tensor_operands("logaddexp2", input, other, floating=False, integer_ok=False)
    return LogAddExp.apply(a, b, 2)


def addcmul(input, tensor1, tensor2, *, value=1):
    """``input + value * tensor1 * tensor2``."""
    product = mul(tensor1, tensor2)
    if product._data.dtype == np.bool_ and isinstance(input, Tensor) and input._data.dtype == np.bool_:
        raise _not_implemented_for("addcmul_cpu_out", input)
    return add(input, product if value == 1 else mul(product, value))


def addcdiv(input, tensor1, tensor2, *, value=1):
    """``input + value * tensor1 / tensor2``; integer ``tensor1`` and ``tensor2`` are refused, as in torch."""
    if all(isinstance(t, Tensor) and t._data.dtype.kind in "biu" for t in (tensor1, tensor2)):
        raise RuntimeError(
            "Integer division with addcdiv is no longer supported, and in a future  release addcdiv will perform "
            "a true division of tensor1 and tensor2. The historic addcdiv behavior can be implemented as "
            "(input + value * torch.trunc(tensor1 / tensor2)).to(input.dtype) for integer inputs and as "
            "(input + value * tensor1 / tensor2) for float inputs. The future addcdiv behavior is just the latter "
            "implementation: (input + value * tensor1 / tensor2), for all dtypes."
        )
    quotient = div(tensor1, tensor2)
    return add(input, quotient if value == 1 else mul(quotient, value))


def float_power(input, exponent):
    """``input ** exponent`` computed in double precision (the result is float64)."""
    base = input.to(_dtype.float64) if isinstance(input, Tensor) else float(input)
    exponent = exponent.to(_dtype.float64) if isinstance(exponent, Tensor) else float(exponent)
    if not isinstance(base, Tensor):
        base = Tensor._wrap(np.asarray(base, np.float64))
    return pow(base, exponent)


def float_power_(input, exponent):
    """In-place ``float_power``: only a float64 tensor can hold its result."""
    if input._data.dtype != np.float64:
        name = _dtype.from_numpy_dtype(input._data.dtype)
        raise RuntimeError(f"the base given to float_power_ has dtype {str(name).split('.')[-1].capitalize()} "
                           "but the operation's result requires dtype Double")
    return apply_inplace(input, float_power, exponent)


def fmod(input, other):
    """C's remainder: the result has the sign of ``input`` (``remainder`` takes the divisor's)."""
    a, b = binary_operands(input, as_operand(other))
    if isinstance(a, Tensor) and a._data.dtype == np.bool_:
        raise _not_implemented_for("fmod_cpu", a)
    if any(isinstance(t, Tensor) and t.requires_grad for t in (a, b)):
        # a - trunc(a / b) * b: the gradient is 1 for input and -trunc(a / b) for other, as in torch
        return sub(a, mul(trunc(div(a, b)).detach(), b))
    _check_integer_divisor(a, b)
    with np.errstate(all="ignore"):
        return Tensor._wrap(np.asarray(np.fmod(data_of(a), data_of(b))))


class NanToNum(Op):
    @staticmethod
    def forward(ctx, a, nan, posinf, neginf):
        ctx.finite = np.isfinite(a._data)
        return np.nan_to_num(a._data, nan=nan, posinf=posinf, neginf=neginf)

    @staticmethod
    def backward(ctx, grad):
        # the replaced elements are constants
        return grad * Tensor._wrap(ctx.finite.astype(grad._data.dtype)), None, None, None


def nan_to_num(input, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None):
    """NaN -> ``nan``, +inf -> ``posinf``, -inf -> ``neginf`` (by default the dtype's largest and lowest)."""
    if input._data.dtype.kind != "f":
        return input.clone()
    return NanToNum.apply(input, nan, posinf, neginf)



def where(self, condition, y):
    """``Tensor.where(condition, y)``: ``self`` where ``condition`` holds, else ``y`` (``ember.where`` with
    the tensor first; ``ember.where`` itself is arithmetic's)."""
    return _where(condition, self, y)


# --- integer and bit-level math (no gradients) ---------------------------------------------------
def _integer_operands(op: str, input, other):
    a, b = binary_operands(input, as_operand(other))
    for t in (a, b):
        if isinstance(t, Tensor) and t._data.dtype.kind not in "iu":  # floats and bools: torch has no kernel
            raise _not_implemented_for(f"{op}_cpu", t)
    return data_of(a), data_of(b)


def gcd(input, other):
    """Greatest common divisor of integer tensors (non-negative)."""
    a, b = _integer_operands("gcd", input, other)
    return Tensor._wrap(np.asarray(np.gcd(a, b)))


def lcm(input, other):
    """Least common multiple of integer tensors (non-negative)."""
    a, b = _integer_operands("lcm", input, other)
    return Tensor._wrap(np.asarray(np.lcm(a, b)))


def bitwise_left_shift(input, other):
    """``input << other`` for integer tensors."""
    a, b = _integer_operands("lshift", input, other)
    return Tensor._wrap(np.asarray(np.left_shift(a, b)))


def bitwise_right_shift(input, other):
    """``input >> other`` (arithmetic shift) for integer tensors."""
    a, b = _integer_operands("rshift", input, other)
    return Tensor._wrap(np.asarray(np.right_shift(a, b)))


def nextafter(input, other):
    """The next floating-point value after ``input`` towards ``other``."""
    a, b = _tensor_operands("nextafter", input, other, floating=False, integer_ok=False)
    return Tensor._wrap(np.asarray(np.nextafter(a._data, b._data)))


# named as torch's return type (the class syntax would clash with the function's name)
_Frexp = NamedTuple("frexp", [("mantissa", Tensor), ("exponent", Tensor)])  # noqa: UP014


def frexp(input):
    """``(mantissa, exponent)`` with ``input = mantissa * 2 ** exponent`` and ``0.5 <= |mantissa| < 1``."""
    if input._data.dtype.kind != "f":
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    mantissa, exponent = np.frexp(input._data)
    return _Frexp(Tensor._wrap(mantissa), Tensor._wrap(exponent.astype(np.int32)))


def ldexp(input, other):
    """``input * 2 ** other``."""
    if isinstance(other, Tensor) and other._data.dtype == np.bool_ and input._data.dtype.kind == "f":
        raise _not_implemented_for("ldexp_cpu_exp", other)  # torch's float kernel takes no bool exponent
    return mul(input, exp2(other))


def fix(input):
    """``trunc``: rounds towards zero."""
    return trunc(input)


def positive(input):
    """``+input``: the tensor itself (bool tensors are refused, as in torch)."""
    if input._data.dtype == np.bool_:
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


def rsub(input, other, *, alpha=1):
    """``other - alpha * input``."""
    return sub(other, input, alpha=alpha)


# --- Python functions applied element by element, in place (CPU only in torch too) --------------
def apply_(input, callable):  # noqa: A002 (torch's name)
    """Replaces each element ``x`` by ``callable(x)`` (results cast to the tensor's dtype); no gradients."""
    if input.requires_grad:
        raise RuntimeError("Can't call apply_() on Variable that requires grad. Use var.detach().apply_() instead.")
    return _write_elementwise(input, callable, input._data)


def map_(input, tensor, callable):  # noqa: A002 (torch's name)
    """Replaces each element ``x`` by ``callable(x, y)``, ``y`` the matching element of ``tensor`` (broadcast)."""
    return _write_elementwise(input, callable, input._data, np.broadcast_to(tensor._data, input._data.shape))


def map2_(input, x, y, callable):  # noqa: A002 (torch's name)
    """Replaces each element ``a`` by ``callable(a, b, c)`` with the matching elements of ``x`` and ``y``."""
    shape = input._data.shape
    return _write_elementwise(input, callable, input._data, np.broadcast_to(x._data, shape),
                              np.broadcast_to(y._data, shape))


def _write_elementwise(input, fn, *arrays):
    values = np.frompyfunc(fn, len(arrays), 1)(*(a.astype(object) for a in arrays))  # Python numbers in and out
    # torch casts each result to the tensor's dtype (an int tensor truncates 2 / 3 to 0)
    np.copyto(input._data, np.asarray(np.asarray(values, dtype=object).tolist()).astype(input._data.dtype), casting="unsafe")
    input._vc[0] += 1
    return input
