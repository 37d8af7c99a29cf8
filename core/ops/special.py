"""Special functions (gamma family, Bessel, error functions, ...); ``ember.special`` re-exports them.

Values come from ``scipy.special`` (imported on first use: it is heavy); gradients are Ember expressions of
other ops, so they can be differentiated again. Integer and bool inputs are computed in the default float
dtype, as in PyTorch.
"""

from __future__ import annotations

import math

import numpy as np

from .. import _dtype
from ..tensor import Tensor
from ._op import Op, _not_implemented_for
from ._util import as_operand, binary_operands, data_of, default_float
from .arithmetic import where
from .unary import cos, exp, log, sign, sin

# torch's top-level names and Tensor methods (all of them also in place, ``x.lgamma_()``); the functions only
# torch.special has (ndtr, zeta, i1, ...) are reached through ``ember.special``.
__all__ = ["digamma", "erfc", "erfinv", "i0", "igamma", "igammac", "lgamma", "logit", "mvlgamma",
           "polygamma", "sinc", "xlogy"]
METHODS = list(__all__)
INPLACE = list(__all__)


def _scipy(name: str, *args) -> np.ndarray:
    """``scipy.special.<name>(*args)`` in the dtype of the (floating) array arguments."""
    import scipy.special  # lazy: heavy

    dtype = next(a.dtype for a in args if isinstance(a, np.ndarray) and a.dtype.kind == "f")
    return np.asarray(getattr(scipy.special, name)(*args)).astype(dtype, copy=False)


def _float_operands(input, other):
    """The operands of a binary special function, promoted as PyTorch does, integers to the default float."""
    a, b = binary_operands(as_operand(input), as_operand(other))
    tensor = a if isinstance(a, Tensor) else b
    if tensor._data.dtype.kind != "f":
        target = _dtype.get_default_dtype().numpy
        a, b = (o.to(target) if isinstance(o, Tensor) else float(o) for o in (a, b))
    return a, b


def _no_half(name: str, input: Tensor) -> Tensor:
    """``input``, unless it is float16: torch's newer special kernels (ndtri, zeta, the Bessel functions and
    polynomials, ...) have no float16 version, and say so."""
    if input._data.dtype == np.float16:
        raise _not_implemented_for(f"{name}_cpu", input)
    return input


def _no_derivative(name: str) -> NotImplementedError:
    return NotImplementedError(f"the derivative for '{name}' is not implemented.")


# --- gamma family ----------------------------------------------------------------------------------
class Lgamma(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        out = _scipy("gammaln", a._data)
        return np.where(np.isneginf(a._data), np.inf, out)  # |Gamma(-inf)| is +inf, as in C's lgamma and torch

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * digamma(a)


class Digamma(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return _scipy("psi", a._data)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * polygamma(1, a)


class Polygamma(Op):
    @staticmethod
    def forward(ctx, n, a):
        ctx.n = n
        ctx.save_for_backward(a)
        return _scipy("psi", a._data) if n == 0 else _scipy("polygamma", n, a._data)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return None, grad * polygamma(ctx.n + 1, a)


class Igamma(Op):
    """The regularized lower (``upper=False``) or upper incomplete gamma function P(a, x) / Q(a, x)."""

    @staticmethod
    def forward(ctx, a, x, upper):
        ctx.upper = upper
        ctx.save_for_backward(a, x)
        return _scipy("gammaincc" if upper else "gammainc", a._data, x._data)

    @staticmethod
    def backward(ctx, grad):
        a, x = ctx.saved_tensors
        if ctx.needs_input_grad[0]:  # as in PyTorch: no derivative w.r.t. a
            raise _no_derivative("igammac: input" if ctx.upper else "igamma: input")
        # dP/dx = x^(a-1) e^(-x) / Gamma(a) = -dQ/dx
        dx = exp((a - 1) * log(x) - x - lgamma(a))
        return None, -grad * dx if ctx.upper else grad * dx, None


def lgamma(input):
    """The natural logarithm of the absolute value of the gamma function."""
    return Lgamma.apply(default_float(input))


def digamma(input):
    """The logarithmic derivative of the gamma function, ``psi(x) = d/dx lgamma(x)``."""
    return Digamma.apply(default_float(input))


def polygamma(n: int, input):
    """The ``n``-th derivative of the digamma function (``input.polygamma(n)`` as a method)."""
    if isinstance(n, Tensor) and not isinstance(input, Tensor):  # the method form, input.polygamma(n)
        n, input = input, n
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"polygamma(): argument 'n' (position 1) must be int, not {type(n).__name__}")
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    return Polygamma.apply(int(n), default_float(input))


def _igamma(input, other, upper: bool):
    name = "igammac" if upper else "igamma"
    for position, (argument, operand) in enumerate([("input", input), ("other", other)], 1):
        if not isinstance(operand, Tensor):
            raise TypeError(
                f"{name}(): argument '{argument}' (position {position}) must be Tensor, not {type(operand).__name__}"
            )
    a, x = binary_operands(input, other)
    if a._data.dtype.kind != "f":  # as in torch: promoted first, and only floating types have a kernel
        raise _not_implemented_for(f"{name}_cpu", a)
    return Igamma.apply(a, x, upper)


def igamma(input, other):
    """The regularized lower incomplete gamma function ``P(input, other)``; differentiable in ``other``."""
    return _igamma(input, other, upper=False)


def igammac(input, other):
    """The regularized upper incomplete gamma function ``Q(input, other)``; differentiable in ``other``."""
    return _igamma(input, other, upper=True)


def mvlgamma(input, p: int):
    """The multivariate log-gamma function of dimension ``p``: ``sum_i lgamma(x - i/2) + p(p-1)/4 log(pi)``."""
    if isinstance(p, bool) or not isinstance(p, (int, np.integer)):
        raise TypeError(f"mvlgamma(): argument 'p' (position 2) must be int, not {type(p).__name__}")
    if p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")
    x = default_float(input)
    halves = Tensor._wrap(np.arange(p, dtype=x._data.dtype) / 2)
    return lgamma(x.unsqueeze(-1) - halves).sum(-1) + p * (p - 1) / 4 * math.log(math.pi)


# --- error function and normal distribution ---------------------------------------------------------
class Erfc(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return _scipy("erfc", a._data)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * exp(-a * a) * (-2 / math.sqrt(math.pi))


class Erfcx(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        ctx.save_output()
        return _scipy("erfcx", a._data)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        # erfcx = exp(x^2) erfc(x): its derivative is 2x erfcx(x) - 2/sqrt(pi)
        return grad * (2 * a * ctx.output - 2 / math.sqrt(math.pi))


class Erfinv(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_output()
        return _scipy("erfinv", a._data)

    @staticmethod
    def backward(ctx, grad):
        # d/dx erfinv = sqrt(pi)/2 exp(erfinv(x)^2)
        y = ctx.output
        return grad * exp(y * y) * (math.sqrt(math.pi) / 2)


class Ndtri(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_output()
        return _scipy("ndtri", a._data)

    @staticmethod
    def backward(ctx, grad):
        # d/dp ndtri = sqrt(2 pi) exp(ndtri(p)^2 / 2)
        y = ctx.output
        return grad * exp(y * y / 2) * math.sqrt(2 * math.pi)


class Ndtr(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return _scipy("ndtr", a._data)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * exp(-a * a / 2) * (1 / math.sqrt(2 * math.pi))  # the normal density


class LogNdtr(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        ctx.save_output()
        return _scipy("log_ndtr", a._data)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        # the normal density over ndtr, computed in logs: exp(-x^2/2 - log_ndtr(x)) / sqrt(2 pi)
        return grad * exp(-(a * a / 2 + ctx.output)) * (1 / math.sqrt(2 * math.pi))


def erfc(input):
    """The complementary error function ``1 - erf(x)``, accurate where ``erf(x)`` is close to 1."""
    return Erfc.apply(default_float(input))


def erfcx(input):
    """The scaled complementary error function ``exp(x^2) erfc(x)``."""
    return Erfcx.apply(_no_half("erfcx", default_float(input)))


def erfinv(input):
    """The inverse error function, on (-1, 1)."""
    return Erfinv.apply(default_float(input))


def ndtri(input):
    """The quantile function of the standard normal distribution (inverse of ``ndtr``), on (0, 1)."""
    return Ndtri.apply(_no_half("ndtri", default_float(input)))


def ndtr(input):
    """The cumulative distribution function of the standard normal distribution."""
    return Ndtr.apply(default_float(input))


def log_ndtr(input):
    """The logarithm of ``ndtr``, accurate far into the left tail."""
    return LogNdtr.apply(_no_half("log_ndtr", default_float(input)))


# --- modified Bessel functions ----------------------------------------------------------------------
class I0(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return _scipy("i0", a._data)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * i1(a)  # I0' = I1


class I0e(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        ctx.save_output()
        return _scipy("i0e", a._data)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        # i0e = exp(-|x|) I0(x): its derivative is i1e(x) - sign(x) i0e(x)
        return grad * (i1e(a) - sign(a) * ctx.output)


class I1(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        ctx.save_output()
        return _scipy("i1", a._data)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        # I1' = I0 - I1 / x, which is 1/2 at x = 0
        at_zero = a == 0
        x = where(at_zero, 1.0, a)
        return grad * where(at_zero, 0.5, i0(x) - ctx.output / x)


class I1e(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        ctx.save_output()
        return _scipy("i1e", a._data)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        # i1e = exp(-|x|) I1(x): its derivative is i0e(x) - i1e(x) (sign(x) + 1/x), 1/2 at x = 0
        at_zero = a == 0
        x = where(at_zero, 1.0, a)
        return grad * where(at_zero, 0.5, i0e(x) - ctx.output * (sign(x) + 1 / x))


def i0(input):
    """The modified Bessel function of the first kind of order 0."""
    return I0.apply(default_float(input))


def i0e(input):
    """The exponentially scaled modified Bessel function of the first kind of order 0, ``exp(-|x|) I0(x)``."""
    return I0e.apply(default_float(input))


def i1(input):
    """The modified Bessel function of the first kind of order 1."""
    return I1.apply(default_float(input))


def i1e(input):
    """The exponentially scaled modified Bessel function of the first kind of order 1, ``exp(-|x|) I1(x)``."""
    return I1e.apply(default_float(input))


# --- x log y --------------------------------------------------------------------------------------
class Xlogy(Op):
    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x if isinstance(x, Tensor) else None, y if isinstance(y, Tensor) else None)
        ctx.scalars = (data_of(x), data_of(y))
        return _scipy("xlogy", data_of(x), data_of(y))

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        y = ctx.scalars[1] if y is None else y
        # d/dx = log(y), taken as 0 where x == 0 and y <= 0 (torch's convention); d/dy = x / y
        gx = None
        if ctx.needs_input_grad[0]:
            gx = where(Tensor._wrap((x._data == 0) & (np.asarray(ctx.scalars[1]) <= 0)), 0.0, xlogy(grad, y))
        gy = grad * (ctx.scalars[0] if x is None else x) / y if ctx.needs_input_grad[1] else None
        return gx, gy


def xlogy(input, other):
    """``input * log(other)``, taken as 0 where ``input`` is 0 (unless ``other`` is NaN).

    Example:
        >>> ember.xlogy(ember.tensor([0.0, 2.0]), ember.tensor([0.0, 3.0]))
        tensor([0.0000, 2.1972])
    """
    return Xlogy.apply(*_float_operands(input, other))


class Xlog1py(Op):
    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x if isinstance(x, Tensor) else None, y if isinstance(y, Tensor) else None)
        ctx.scalars = (data_of(x), data_of(y))
        return _scipy("xlog1py", data_of(x), data_of(y))

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        y = ctx.scalars[1] if y is None else y
        # d/dx = log1p(y), taken as 0 where x == 0 and y <= -1 (torch's convention); d/dy = x / (1 + y)
        gx = None
        if ctx.needs_input_grad[0]:
            gx = where(Tensor._wrap((x._data == 0) & (np.asarray(ctx.scalars[1]) <= -1)), 0.0, xlog1py(grad, y))
        gy = grad * (ctx.scalars[0] if x is None else x) / (y + 1) if ctx.needs_input_grad[1] else None
        return gx, gy


def xlog1py(input, other):
    """``input * log1p(other)``, taken as 0 where ``input`` is 0 (unless ``other`` is NaN)."""
    return Xlog1py.apply(*_float_operands(input, other))


class Entr(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return _scipy("entr", a._data)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * -(1 + log(a))


def entr(input):
    """The elementwise entropy ``-x log(x)``: 0 at 0 and ``-inf`` for negative ``x``."""
    return Entr.apply(default_float(input))


# --- logit, sinc, zeta ------------------------------------------------------------------------------
class Logit(Op):
    @staticmethod
    def forward(ctx, a, eps):
        ctx.save_for_backward(a)
        ctx.eps = eps
        x = a._data
        if eps is not None:  # torch's clamp: to eps from below first, then to 1 - eps from above
            x = np.where(x < eps, eps, np.where(x > 1 - eps, 1 - eps, x)).astype(x.dtype, copy=False)
        return np.log(x / (1 - x))

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        # d/dx log(x / (1 - x)) = 1 / (x (1 - x)); as in torch, NaN outside [0, 1] without eps, and 0 where
        # eps clamped x
        if ctx.eps is None:
            outside, value = (a < 0) | (a > 1), float("nan")
        else:
            outside, value = (a < ctx.eps) | (a > 1 - ctx.eps), 0.0
        return where(outside, value, grad / (a * (1 - a))), None


def logit(input, eps: float | None = None):
    """``log(p / (1 - p))``; with ``eps``, ``p`` is first clamped to ``[eps, 1 - eps]``."""
    if eps is not None and (isinstance(eps, bool) or not isinstance(eps, (int, float))):
        raise TypeError(f"logit(): argument 'eps' must be float, not {type(eps).__name__}")
    return Logit.apply(default_float(input), None if eps is None or eps < 0 else float(eps))  # eps < 0: none


class Sinc(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.sinc(a._data).astype(a._data.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        # d/dx sin(pi x) / (pi x) = (pi x cos(pi x) - sin(pi x)) / (pi x^2), which is 0 at x = 0
        at_zero = a == 0
        x = where(at_zero, 1.0, a)
        angle = x * math.pi
        return grad * where(at_zero, 0.0, (angle * cos(angle) - sin(angle)) / (angle * x))


def sinc(input):
    """The normalized sinc function ``sin(pi x) / (pi x)``, 1 at 0."""
    return Sinc.apply(default_float(input))


class Zeta(Op):
    @staticmethod
    def forward(ctx, x, q):
        ctx.save_for_backward(x if isinstance(x, Tensor) else None, q if isinstance(q, Tensor) else None)
        ctx.scalars = (data_of(x), data_of(q))
        return _scipy("zeta", data_of(x), data_of(q))

    @staticmethod
    def backward(ctx, grad):
        x, q = ctx.saved_tensors
        if ctx.needs_input_grad[0]:  # as in PyTorch: no derivative w.r.t. x
            raise _no_derivative("zeta")
        x = ctx.scalars[0] if x is None else x
        # d/dq sum_k (k + q)^(-x) = -x zeta(x + 1, q)
        return None, -grad * x * zeta(x + 1, q)


def zeta(input, other):
    """The Hurwitz zeta function ``sum_k (k + other) ** -input``; differentiable in ``other``."""
    x, q = _float_operands(input, other)
    _no_half("zeta", x if isinstance(x, Tensor) else q)
    return Zeta.apply(x, q)
