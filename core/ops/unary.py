"""Unary math: exponentials and logarithms, roots, trigonometry, erf, sign and rounding.

Integer inputs to the smooth functions are computed in the default float dtype. The rounding ops are
piecewise constant: recorded with a zero gradient, as in PyTorch.
"""

from __future__ import annotations

import math

import numpy as np

from ._op import Op, Stepwise, _not_implemented_for, conj_data, on_arrays, wrap
from ._util import default_float
from .complex_ops import conj_of  # complex inputs: grad * conj(f'(z)), PyTorch's convention


class Exp(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_output()
        return np.exp(a._data)

    @staticmethod
    def backward(ctx, grad):
        if on_arrays():
            return wrap(grad._data * conj_data(ctx.output))
        return grad * conj_of(ctx.output)


class Expm1(Op):  # fused: measured faster than exp(x) - 1, which also loses the digits near 0
    @staticmethod
    def forward(ctx, a):
        ctx.save_output()
        return np.expm1(a._data)

    @staticmethod
    def backward(ctx, grad):
        return grad * conj_of(ctx.output + 1)


class Log(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.log(a._data)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        if on_arrays():
            return wrap(np.true_divide(grad._data, conj_data(a)))
        return grad / conj_of(a)


class Log1p(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.log1p(a._data)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        if on_arrays():
            return wrap(grad._data / (conj_data(a) + 1))
        return grad / conj_of(a + 1)


class Log2(Op):  # fused: measured faster than log(x) / log(2), and exact on powers of two
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.log2(a._data)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad / (conj_of(a) * math.log(2.0))


class Sqrt(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_output()
        return np.sqrt(a._data)

    @staticmethod
    def backward(ctx, grad):
        if on_arrays():
            return wrap(grad._data / (2 * conj_data(ctx.output)))
        return grad / (2 * conj_of(ctx.output))


class Rsqrt(Op):  # fused: measured faster than reciprocal(sqrt(x))
    @staticmethod
    def forward(ctx, a):
        ctx.save_output()
        return 1 / np.sqrt(a._data)

    @staticmethod
    def backward(ctx, grad):
        # d/dx x^(-1/2) = -1/2 x^(-3/2)
        if on_arrays():
            out = conj_data(ctx.output)
            return wrap(grad._data * -0.5 * out * out * out)
        out = conj_of(ctx.output)
        return grad * -0.5 * out * out * out


class Sin(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.sin(a._data)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * conj_of(cos(a))


class Cos(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.cos(a._data)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return -grad * conj_of(sin(a))


class Tan(Op):  # fused: measured faster than sin(x) / cos(x), which drifts from tan near pi/2
    @staticmethod
    def forward(ctx, a):
        ctx.save_output()
        return np.tan(a._data)

    @staticmethod
    def backward(ctx, grad):
        out = conj_of(ctx.output)
        return grad * (1 + out * out)


class Erf(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return _erf(a._data)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        # d/dx erf = 2/sqrt(pi) exp(-x^2)
        return grad * exp(-a * a) * (2 / math.sqrt(math.pi))


def _erf(x: np.ndarray) -> np.ndarray:
    """erf of an array as a compiled ufunc (keeps float32 in float32)."""
    from ..kernels.special import erf as erf_kernel  # numba loads on first use, not at `import ember`

    return erf_kernel(x).astype(x.dtype, copy=False)


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
erf = _float_unary(Erf)


def log10(input):
    return log(input) * (1 / math.log(10.0))


# --- sign and rounding (zero gradient) ------------------------------------------------------------
def sign(input):
    """-1, 0 or 1 by the sign of each element (bool stays bool); its gradient is zero."""
    if input._data.dtype == np.bool_:
        return input.clone()
    if input._data.dtype.kind == "c":
        raise NotImplementedError("Unlike NumPy, torch.sign is not intended to support complex numbers. "
                                  "Please use torch.sgn instead.")
    return Stepwise.apply(np.sign, input)


sgn = sign


def _rounding(np_fn, name):
    def fn(input):
        if input._data.dtype.kind != "f":
            if input._data.dtype.kind == "c":
                raise NotImplementedError(f"{name} is not supported for complex inputs")
            if input._data.dtype == np.bool_:
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
    if input._data.dtype.kind != "f":
        raise _not_implemented_for("round", input)

    def round(x):  # the graph node is named after it: RoundBackward
        return np.round(x, decimals)

    return Stepwise.apply(round, input)


_round = _rounding(np.round, "round")


def frac(input):
    """The fractional part ``x - trunc(x)`` (sign of ``x``); its gradient is 1."""
    if input._data.dtype.kind != "f":
        raise _not_implemented_for("frac", input)
    return input - trunc(input)


# --- inverse trigonometric and hyperbolic -----------------------------------------------------------
class Asin(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.arcsin(a._data)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        # d/dx asin = 1 / sqrt(1 - x^2)
        return grad * rsqrt(1 - a * a)


class Acos(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.arccos(a._data)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        # d/dx acos = -1 / sqrt(1 - x^2)
        return -grad * rsqrt(1 - a * a)


class Atan(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.arctan(a._data)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        # d/dx atan = 1 / (1 + x^2)
        return grad / (a * a + 1)


class Sinh(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.sinh(a._data)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * cosh(a)


class Cosh(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.cosh(a._data)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * sinh(a)


class Asinh(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.arcsinh(a._data)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        # d/dx asinh = 1 / sqrt(x^2 + 1)
        return grad * rsqrt(a * a + 1)


class Acosh(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.arccosh(a._data)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        # d/dx acosh = 1 / sqrt(x^2 - 1)
        return grad * rsqrt(a * a - 1)


class Atanh(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.arctanh(a._data)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        # d/dx atanh = 1 / (1 - x^2)
        return grad / (1 - a * a)


asin = arcsin = _float_unary(Asin)
acos = arccos = _float_unary(Acos)
atan = arctan = _float_unary(Atan)
sinh = _float_unary(Sinh)
cosh = _float_unary(Cosh)
asinh = arcsinh = _float_unary(Asinh)
acosh = arccosh = _float_unary(Acosh)
atanh = arctanh = _float_unary(Atanh)


class Exp2(Op):  # its own op: exact on integers, where exp(x * log 2) is not
    @staticmethod
    def forward(ctx, a):
        ctx.save_output()
        return np.exp2(a._data)

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.output * math.log(2.0)


exp2 = _float_unary(Exp2)


def deg2rad(input):
    """Degrees to radians; integer inputs give the default float dtype."""
    return default_float(input) * (math.pi / 180.0)


def rad2deg(input):
    """Radians to degrees; integer inputs give the default float dtype."""
    return default_float(input) * (180.0 / math.pi)


# ``from .unary import *`` (and so ``ember``) gets the functions defined here, not the Op classes or imports
# (keep this at the end of the file, after every function)
__all__ = [name for name, value in globals().items()
           if not name.startswith("_") and callable(value) and not isinstance(value, type)
           and getattr(value, "__module__", None) == __name__]
