"""Elementwise ops: arithmetic, unary math, activations, comparisons.

Each differentiable op is a small ``Function`` with forward (on arrays) and backward
(on tensors, so it can be differentiated again). Gradients w.r.t. broadcast inputs
are summed back to shape by the engine, never here.
"""

from __future__ import annotations

import math

import numpy as np

from .. import _dtype
from ..autograd.function import Function
from ..autograd.grad_mode import state
from ..tensor import Tensor
from ._util import as_operand, binary_operands, data_of, default_float


class Op(Function):
    _internal = True


# --- arithmetic ---------------------------------------------------------------------------
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
        return grad, (-grad if ctx.needs_input_grad[1] else None)


class Mul(Op):
    @staticmethod
    def forward(ctx, a, b):
        # only what the other gradient needs; a Python scalar is kept as it is
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b if ctx.needs_input_grad[0] else None)
        return np.multiply(data_of(a), data_of(b))

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        ga = grad * b if ctx.needs_input_grad[0] else None
        gb = grad * a if ctx.needs_input_grad[1] else None
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
        b = b if b is not None else ctx.scalars[1]
        ga = grad / b if ctx.needs_input_grad[0] else None
        # d(a/b)/db = -a / b^2
        gb = -grad * (a if a is not None else ctx.scalars[0]) / (b * b) if ctx.needs_input_grad[1] else None
        return ga, gb


class Neg(Op):
    @staticmethod
    def forward(ctx, a):
        return np.negative(a.data)

    @staticmethod
    def backward(ctx, grad):
        return -grad


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
                ga = grad * exponent * base ** (exponent - 1)
        if ctx.needs_input_grad[1]:
            # d(a^b)/db = a^b * log(a), taken as 0 where a == 0 (PyTorch's convention)
            log_base = log(base) if isinstance(base, Tensor) else math.log(base) if base > 0 else float("nan")
            gb = grad * ctx.output * log_base
            if isinstance(base, Tensor):
                gb = where(base == 0, 0.0, gb)
        return ga, gb


def _power(x, exponent):
    """``np.power``, with the common small exponents done by multiplication (numpy's generic float
    power is ~100x slower than ``x * x * x``)."""
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
        return np.abs(a.data)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * sign(a)


# --- unary math ---------------------------------------------------------------------------
class Exp(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_output()
        return np.exp(a.data)

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.output


class Reciprocal(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_output()  # the output, not the input: the input may be changed in place afterwards (torch)
        return np.reciprocal(a.data)

    @staticmethod
    def backward(ctx, grad):
        # d/dx 1/x = -1/x^2
        return -grad * ctx.output * ctx.output


class Expm1(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_output()
        return np.expm1(a.data)

    @staticmethod
    def backward(ctx, grad):
        return grad * (ctx.output + 1)


class Log(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.log(a.data)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad / a


class Log1p(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.log1p(a.data)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad / (a + 1)


class Log2(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.log2(a.data)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad / (a * math.log(2.0))


class Sqrt(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_output()
        return np.sqrt(a.data)

    @staticmethod
    def backward(ctx, grad):
        return grad / (2 * ctx.output)


class Rsqrt(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_output()
        return 1 / np.sqrt(a.data)

    @staticmethod
    def backward(ctx, grad):
        # d/dx x^(-1/2) = -1/2 x^(-3/2)
        out = ctx.output
        return grad * -0.5 * out * out * out


class Sin(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.sin(a.data)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * cos(a)


class Cos(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.cos(a.data)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return -grad * sin(a)


class Tan(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_output()
        return np.tan(a.data)

    @staticmethod
    def backward(ctx, grad):
        out = ctx.output
        return grad * (1 + out * out)


class Tanh(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_output()
        return np.tanh(a.data)

    @staticmethod
    def backward(ctx, grad):
        # d/dx tanh = 1 - tanh^2
        out = ctx.output
        return grad * (1 - out * out)


class Sigmoid(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_output()
        x = a.data
        # exp of a non-positive number only, so large |x| never overflows
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        out = ctx.output
        return grad * out * (1 - out)


class Relu(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_output()
        return np.maximum(a.data, 0)

    @staticmethod
    def backward(ctx, grad):
        if not state.grad_enabled:  # no double backward: one numpy pass instead of compare, cast, multiply
            return Tensor._wrap(grad.data * (ctx.output.data > 0))
        return grad * (ctx.output.detach() > 0)


class LeakyRelu(Op):
    @staticmethod
    def forward(ctx, a, negative_slope):
        ctx.save_for_backward(a)
        ctx.slope = negative_slope
        x = a.data
        return np.where(x > 0, x, x * np.asarray(negative_slope, x.dtype))

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return where(a.detach() > 0, grad, grad * ctx.slope), None


class Elu(Op):
    @staticmethod
    def forward(ctx, a, alpha, scale, input_scale):
        ctx.save_for_backward(a)
        ctx.params = (alpha, scale, input_scale)
        x = a.data
        negative = np.expm1(np.minimum(x, 0) * input_scale) * alpha
        return (np.where(x > 0, x, negative) * scale).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        alpha, scale, input_scale = ctx.params
        # d/dx alpha*(exp(s x) - 1) = alpha * s * exp(s x)
        negative = exp(minimum(a, 0.0) * input_scale) * (alpha * input_scale * scale)
        return where(a.detach() > 0, grad * scale, grad * negative), None, None, None


class Gelu(Op):
    @staticmethod
    def forward(ctx, a, approximate):
        ctx.save_for_backward(a)
        ctx.approximate = approximate
        x = a.data
        if approximate == "tanh":
            inner = np.sqrt(2 / np.pi) * (x + 0.044715 * (x * x * x))  # x**3 is ~100x slower in float32
            return (0.5 * x * (1 + np.tanh(inner))).astype(x.dtype, copy=False)
        cdf = 0.5 * (1 + _erf(x * (1 / math.sqrt(2))))
        ctx.cdf = cdf  # erf is the costly part (a GPT step spent 25% in it): the backward reuses it
        return (x * cdf).astype(x.dtype, copy=False)  # stays float32

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        if ctx.approximate == "none" and not state.grad_enabled:  # no double backward: plain numpy
            xd = x.data
            pdf = np.exp(-0.5 * xd * xd) * (1 / math.sqrt(2 * math.pi))
            return Tensor._wrap((grad.data * (ctx.cdf + xd * pdf)).astype(xd.dtype, copy=False)), None
        if ctx.approximate == "tanh":
            c = math.sqrt(2 / math.pi)
            t = tanh(c * (x + 0.044715 * x * x * x))
            # d/dx 0.5 x (1 + t) = 0.5 (1 + t) + 0.5 x (1 - t^2) c (1 + 3 * 0.044715 x^2)
            d = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * (c * (1 + 3 * 0.044715 * x * x))
            return grad * d, None
        # d/dx x Phi(x) = Phi(x) + x phi(x)
        cdf = 0.5 * (1 + erf(x * (1 / math.sqrt(2))))
        pdf = exp(-0.5 * x * x) * (1 / math.sqrt(2 * math.pi))
        return grad * (cdf + x * pdf), None


class Erf(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return _erf(a.data).astype(a.data.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        # d/dx erf = 2/sqrt(pi) exp(-x^2)
        return grad * exp(-a * a) * (2 / math.sqrt(math.pi))


def _erf(x: np.ndarray) -> np.ndarray:
    """erf as a compiled ufunc (keeps float32 in float32; numba loads on first use)."""
    from ..kernels.special import erf as erf_kernel

    return erf_kernel(x).astype(x.dtype, copy=False)


class Silu(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        x = a.data
        return x / (1 + np.exp(-x))

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        s = sigmoid(a)
        # d/dx x s(x) = s + x s (1 - s)
        return grad * (s * (1 + a * (1 - s)))


class Softplus(Op):
    @staticmethod
    def forward(ctx, a, beta, threshold):
        ctx.save_for_backward(a)
        ctx.params = (beta, threshold)
        x = a.data
        scaled = x * beta
        soft = np.logaddexp(0, scaled) / beta
        return np.where(scaled > threshold, x, soft).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        beta, threshold = ctx.params
        scaled = a * beta
        return where(scaled.detach() > threshold, grad, grad * sigmoid(scaled)), None, None


class Clamp(Op):
    @staticmethod
    def forward(ctx, a, low, high):
        ctx.save_for_backward(a, low if isinstance(low, Tensor) else None, high if isinstance(high, Tensor) else None)
        ctx.bounds = (data_of(low), data_of(high))
        out = a.data
        if low is not None:
            out = np.maximum(out, data_of(low))
        if high is not None:
            out = np.minimum(out, data_of(high))
        return out if out is not a.data else out.copy()

    @staticmethod
    def backward(ctx, grad):
        a, low_t, high_t = ctx.saved_tensors
        low, high = ctx.bounds
        x = a.data
        inside = np.ones(grad.data.shape, dtype=bool)  # bounds may broadcast the output
        if low is not None:
            inside = inside & (x >= low)
        if high is not None:
            inside = inside & (x <= high)
        ga = grad * Tensor(inside) if ctx.needs_input_grad[0] else None
        g_low = grad * Tensor(x < low) if low_t is not None and ctx.needs_input_grad[1] else None
        g_high = grad * Tensor(x > high) if high_t is not None and ctx.needs_input_grad[2] else None
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
        dtype = grad.data.dtype
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


class Stepwise(Op):
    """A piecewise-constant function of its operands (round, floor, sign, floor division): recorded with a
    zero gradient, as PyTorch records these ops (their outputs require grad)."""

    @staticmethod
    def forward(ctx, fn, *operands):
        ctx.fn_name = fn.__name__
        return np.asarray(fn(*(data_of(o) for o in operands)))

    @staticmethod
    def backward(ctx, grad):
        zero = Tensor._wrap(np.zeros_like(grad.data))
        return (None,) + tuple(zero if needed else None for needed in ctx.needs_input_grad[1:])

    def name(self) -> str:  # FloorBackward, FloorDivideBackward, as PyTorch names them
        words = getattr(self, "fn_name", "stepwise").split("_")
        return "".join(word.capitalize() for word in words) + "Backward"


class Where(Op):
    @staticmethod
    def forward(ctx, condition, a, b):
        ctx.condition = condition.data
        return np.where(condition.data, data_of(a), data_of(b))

    @staticmethod
    def backward(ctx, grad):
        c = Tensor(ctx.condition)
        zero = Tensor(np.zeros((), grad.data.dtype))
        ga = where(c, grad, zero) if ctx.needs_input_grad[1] else None
        gb = where(c, zero, grad) if ctx.needs_input_grad[2] else None
        return None, ga, gb


class Cast(Op):
    @staticmethod
    def forward(ctx, a, np_dtype):
        ctx.source = a.data.dtype
        return a.data.astype(np_dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad.to(ctx.source), None


class Clone(Op):
    @staticmethod
    def forward(ctx, a):
        return a.data.copy()

    @staticmethod
    def backward(ctx, grad):
        return grad


# --- functional forms -----------------------------------------------------------------
def add(input, other, *, alpha=1):
    """``input + alpha * other`` with broadcasting and PyTorch's type promotion."""
    if alpha != 1:
        other = mul(other, alpha)
    a, b = binary_operands(input, other)
    return Add.apply(a, b)


def sub(input, other, *, alpha=1):
    if alpha != 1:
        other = mul(other, alpha)
    a, b = binary_operands(input, other)
    if a.__class__ is bool or (isinstance(a, Tensor) and a.data.dtype == np.bool_):
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
    if _dtype.as_dtype(getattr(a, "dtype", None) or getattr(b, "dtype")).is_floating_point is False:
        target = _dtype.get_default_dtype().numpy
        a = a.to(target) if isinstance(a, Tensor) else float(a)
        b = b.to(target) if isinstance(b, Tensor) else float(b)
    if rounding_mode is None and not isinstance(a, Tensor):  # number / tensor is number * reciprocal, as in torch
        return mul(Reciprocal.apply(b), a)
    out = Div.apply(a, b)
    if rounding_mode == "trunc":
        result = trunc(out)
        return result if input_is_float(input, other) else result.to(result_type_of(input, other))
    if rounding_mode is not None:
        raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '{rounding_mode}'")
    return out


divide = true_divide = div


def input_is_float(a, b) -> bool:
    from ._util import result_type

    return result_type(as_operand(a), as_operand(b)).is_floating_point


def result_type_of(a, b):
    from ._util import result_type

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
    if input.data.dtype == np.bool_:
        raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported.")
    return Neg.apply(input)


negative = neg


def pow(input, exponent):  # noqa: A001 (PyTorch's name)
    a, b = binary_operands(input, exponent)
    if isinstance(a, Tensor) and a.data.dtype.kind in "iu" and not isinstance(b, Tensor) and b < 0:
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    return Pow.apply(a, b)


def abs(input):  # noqa: A001
    return Abs.apply(input)


absolute = abs


def _float_unary(op):
    def fn(input):
        return op.apply(default_float(input))

    fn.__name__ = op.__name__.lower()
    fn.__doc__ = f"Elementwise ``{fn.__name__}``; integer inputs are computed in the default float dtype."
    return fn


exp = _float_unary(Exp)
expm1 = _float_unary(Expm1)
log = _float_unary(Log)
log1p = _float_unary(Log1p)
log2 = _float_unary(Log2)
sqrt = _float_unary(Sqrt)
rsqrt = _float_unary(Rsqrt)
sin = _float_unary(Sin)
cos = _float_unary(Cos)
tan = _float_unary(Tan)
tanh = _float_unary(Tanh)
sigmoid = _float_unary(Sigmoid)
silu = _float_unary(Silu)
erf = _float_unary(Erf)


def log10(input):
    return log(input) * (1 / math.log(10.0))


def relu(input):
    return Relu.apply(input)


def gelu(input, approximate: str = "none"):
    """GELU, exact (``approximate="none"``, with erf) or the tanh approximation."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return Gelu.apply(default_float(input), approximate)


def softplus(input, beta: float = 1.0, threshold: float = 20.0):
    return Softplus.apply(default_float(input), beta, threshold)


def leaky_relu(input, negative_slope: float = 0.01):
    return LeakyRelu.apply(input, negative_slope)


def elu(input, alpha: float = 1.0):
    return Elu.apply(default_float(input), alpha, 1.0, 1.0)


def reciprocal(input):
    return Reciprocal.apply(default_float(input))


def square(input):
    return mul(input, input)


def sign(input):
    """-1, 0 or 1 by the sign of each element (bool stays bool); its gradient is zero."""
    if input.data.dtype == np.bool_:
        return input.clone()
    return Stepwise.apply(np.sign, input)


sgn = sign


def _rounding(np_fn, name):
    def fn(input):
        if input.data.dtype.kind != "f":
            if input.data.dtype == np.bool_:
                raise _not_implemented_for(name, input)
            return input.clone()  # integers are already whole, as in PyTorch
        return Stepwise.apply(np_fn, input)

    fn.__name__ = name
    fn.__doc__ = f"Elementwise ``{name}``; recorded with a zero gradient, as in PyTorch."
    return fn


floor = _rounding(np.floor, "floor")
ceil = _rounding(np.ceil, "ceil")
trunc = _rounding(np.trunc, "trunc")


def round(input, decimals: int = 0):  # noqa: A001
    """Round half to even, like PyTorch; recorded with a zero gradient."""
    if decimals == 0:
        return _round(input)
    if input.data.dtype.kind != "f":
        raise _not_implemented_for("round", input)

    def round(x):  # the graph node is named after it: RoundBackward
        return np.round(x, decimals)

    return Stepwise.apply(round, input)


_round = _rounding(np.round, "round")


def frac(input):
    """The fractional part ``x - trunc(x)`` (sign of ``x``); its gradient is 1."""
    if input.data.dtype.kind != "f":
        raise _not_implemented_for("frac", input)
    return sub(input, trunc(input))


_TORCH_TYPE_NAMES = {"bool": "Bool", "uint8": "Byte", "int8": "Char", "int16": "Short", "int32": "Int",
                     "int64": "Long", "float16": "Half", "float32": "Float", "float64": "Double"}


def _not_implemented_for(op: str, input) -> NotImplementedError:
    """PyTorch's error for an op without a kernel for the dtype: ``"op" not implemented for 'Long'``."""
    name = _TORCH_TYPE_NAMES.get(input.data.dtype.name, input.data.dtype.name)
    return NotImplementedError(f'"{op}" not implemented for {name!r}')


def clamp(input, min=None, max=None):  # noqa: A002
    if min is None and max is None:
        raise RuntimeError("At least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        if isinstance(min, Tensor) and min.dtype != input.dtype:
            min = min.to(input.dtype)
        if isinstance(max, Tensor) and max.dtype != input.dtype:
            max = max.to(input.dtype)
    elif input.data.dtype.kind != "f" and (isinstance(min, float) or isinstance(max, float)):
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
        return tuple(Tensor._wrap(i) for i in np.nonzero(condition.data))
    condition = as_operand(condition)
    if condition.data.dtype != np.bool_:
        condition = Tensor._wrap(condition.data.astype(bool))
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):  # where(c, 1, 0): numbers' dtypes
        input, other = _number_tensor(input), _number_tensor(other)
    a, b = binary_operands(as_operand(input), as_operand(other))
    return Where.apply(condition, a, b)


def _number_tensor(value) -> Tensor:
    """A 0-D tensor of a Python number with the dtype torch gives it (bool, int64, the default float)."""
    if isinstance(value, bool):
        return Tensor._wrap(np.asarray(value))
    if isinstance(value, int):
        return Tensor._wrap(np.asarray(value, dtype=np.int64))
    return Tensor._wrap(np.asarray(value, dtype=_dtype.get_default_dtype().numpy))


def lerp(input, end, weight):
    """``input + weight * (end - input)``."""
    return add(input, mul(weight, sub(end, input)))


def clone(input, *, memory_format=None):
    return Clone.apply(input)


def to(input, *args, dtype=None, copy: bool = False, **kwargs):
    """``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other)``; returns ``input`` when nothing
    changes (unless ``copy``)."""
    target = dtype
    for a in args:
        if isinstance(a, Tensor):
            target = a.dtype
        elif isinstance(a, (_dtype.dtype, np.dtype, type)) or (isinstance(a, str) and a in _dtype._NAMES):
            target = a
        elif a is not None:
            from ..tensor import device

            device(a)  # raises for anything but the CPU
    kwargs.pop("non_blocking", None)
    if "device" in kwargs and kwargs["device"] is not None:
        from ..tensor import device

        device(kwargs.pop("device"))
    if target is None:
        return clone(input) if copy else input
    np_dtype = _dtype.to_numpy_dtype(target)
    if np_dtype == input.data.dtype:
        return clone(input) if copy else input
    if np_dtype.kind != "f":
        with np.errstate(all="ignore"):  # NaN or inf to an integer: unspecified, silently, as in PyTorch
            return Tensor._wrap(input.data.astype(np_dtype))
    return Cast.apply(input, np_dtype)


def type_as(input, other):
    return to(input, other.dtype)


def _cast_method(target):
    def fn(input):
        return to(input, target)

    fn.__name__ = target.name
    return fn


float_ = _cast_method(_dtype.float32)
double = _cast_method(_dtype.float64)
half = _cast_method(_dtype.float16)
long = _cast_method(_dtype.int64)
int_ = _cast_method(_dtype.int32)
short = _cast_method(_dtype.int16)
byte = _cast_method(_dtype.uint8)
char = _cast_method(_dtype.int8)
bool_ = _cast_method(_dtype.bool_)


# --- comparisons and logic (never differentiable) ---------------------------------------
def _comparison(np_fn, name):
    def fn(input, other):
        a, b = binary_operands(input, as_operand(other))
        return Tensor._wrap(np.asarray(np_fn(data_of(a), data_of(b))))

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
        return Tensor._wrap(np.asarray(np_fn(data_of(input), data_of(as_operand(other)))))

    fn.__name__ = name
    return fn


logical_and = _logical(np.logical_and, "logical_and")
logical_or = _logical(np.logical_or, "logical_or")
logical_xor = _logical(np.logical_xor, "logical_xor")


def _bitwise(np_fn, name):
    def fn(input, other):
        a, b = binary_operands(input, as_operand(other))
        if any(isinstance(x, Tensor) and x.data.dtype.kind == "f" for x in (a, b)):
            raise TypeError(f"{name}: bitwise operations need integer or bool tensors, got a floating point tensor")
        return Tensor._wrap(np.asarray(np_fn(data_of(a), data_of(b))))

    fn.__name__ = name
    return fn


bitwise_and = _bitwise(np.bitwise_and, "bitwise_and")
bitwise_or = _bitwise(np.bitwise_or, "bitwise_or")
bitwise_xor = _bitwise(np.bitwise_xor, "bitwise_xor")


def logical_not(input):
    return Tensor._wrap(np.logical_not(input.data))


def bitwise_not(input):
    if input.data.dtype.kind == "f":
        raise TypeError("bitwise_not: needs an integer or bool tensor, got a floating point tensor")
    return Tensor._wrap(np.invert(input.data))


def isnan(input):
    return Tensor._wrap(np.isnan(input.data))


def isinf(input):
    return Tensor._wrap(np.isinf(input.data))


def isfinite(input):
    return Tensor._wrap(np.isfinite(input.data))


def equal(input, other) -> bool:
    """True when both tensors have the same shape and elements."""
    return input.shape == other.shape and bool(np.array_equal(input.data, other.data))


def allclose(input, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    return bool(np.allclose(input.data, data_of(as_operand(other)), rtol=rtol, atol=atol, equal_nan=equal_nan))


def isclose(input, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False):
    return Tensor._wrap(np.isclose(input.data, data_of(as_operand(other)), rtol=rtol, atol=atol, equal_nan=equal_nan))
