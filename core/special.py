"""``ember.special``: torch.special's functions, with its names and gradients.

The differentiable ones live in ``ops/special.py`` (and those torch also has at top level are ``ember.lgamma``,
``x.lgamma()``, ...). The Bessel functions of integer order and the orthogonal polynomials are, as in torch,
not differentiable: their outputs never require grad.

Example:
    >>> import ember
    >>> ember.special.gammaln(ember.tensor([1.0, 4.0]))
    tensor([0.0000, 1.7918])
"""

from __future__ import annotations

import numpy as np

from .ops._util import default_float
from .ops.activation import sigmoid as expit
from .ops.reduce import logsumexp
from .ops.softmax import log_softmax, softmax
from .ops.special import (
    _float_operands,
    _no_half,
    digamma,
    entr,
    erfc,
    erfcx,
    erfinv,
    i0,
    i0e,
    i1,
    i1e,
    log_ndtr,
    logit,
    ndtr,
    ndtri,
    polygamma,
    sinc,
    xlog1py,
    xlogy,
    zeta,
)
from .ops.special import igamma as gammainc
from .ops.special import igammac as gammaincc
from .ops.special import lgamma as gammaln
from .ops.special import mvlgamma as multigammaln
from .ops.unary import erf, exp2, expm1, log1p, round
from .tensor import Tensor

psi = digamma

__all__ = [
    "airy_ai", "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "chebyshev_polynomial_t",
    "chebyshev_polynomial_u", "chebyshev_polynomial_v", "chebyshev_polynomial_w", "digamma", "entr", "erf",
    "erfc", "erfcx", "erfinv", "exp2", "expit", "expm1", "gammainc", "gammaincc", "gammaln",
    "hermite_polynomial_h", "hermite_polynomial_he", "i0", "i0e", "i1", "i1e", "laguerre_polynomial_l",
    "legendre_polynomial_p", "log1p", "log_ndtr", "log_softmax", "logit", "logsumexp", "modified_bessel_i0",
    "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1", "multigammaln", "ndtr", "ndtri",
    "polygamma", "psi", "round", "scaled_modified_bessel_k0", "scaled_modified_bessel_k1",
    "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
    "shifted_chebyshev_polynomial_w", "sinc", "softmax", "spherical_bessel_j0", "xlog1py", "xlogy", "zeta",
]


# --- Bessel functions (not differentiable, as in torch) --------------------------------------------
def _constant(name: str, compute, doc: str):
    """A function whose values are ``compute(scipy.special, x)``, not recorded for autograd."""

    def fn(input):
        import scipy.special  # lazy: heavy

        x = _no_half(name, default_float(input))._data
        return Tensor._wrap(np.asarray(compute(scipy.special, x)).astype(x.dtype, copy=False))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc + " Not differentiable: the output does not require grad, as in torch."
    return fn


airy_ai = _constant("airy_ai", lambda sp, x: sp.airy(x)[0], "The Airy function Ai.")
bessel_j0 = _constant("bessel_j0", lambda sp, x: sp.j0(x), "The Bessel function of the first kind of order 0.")
bessel_j1 = _constant("bessel_j1", lambda sp, x: sp.j1(x), "The Bessel function of the first kind of order 1.")
bessel_y0 = _constant("bessel_y0", lambda sp, x: sp.y0(x), "The Bessel function of the second kind of order 0.")
bessel_y1 = _constant("bessel_y1", lambda sp, x: sp.y1(x), "The Bessel function of the second kind of order 1.")
modified_bessel_i0 = _constant("modified_bessel_i0", lambda sp, x: sp.i0(x),
                               "The modified Bessel function of the first kind of order 0.")
modified_bessel_i1 = _constant("modified_bessel_i1", lambda sp, x: sp.i1(x),
                               "The modified Bessel function of the first kind of order 1.")
modified_bessel_k0 = _constant("modified_bessel_k0", lambda sp, x: sp.k0(x),
                               "The modified Bessel function of the second kind of order 0.")
modified_bessel_k1 = _constant("modified_bessel_k1", lambda sp, x: sp.k1(x),
                               "The modified Bessel function of the second kind of order 1.")
scaled_modified_bessel_k0 = _constant("scaled_modified_bessel_k0", lambda sp, x: sp.k0e(x),
                                      "``exp(x) K0(x)``, the scaled modified Bessel function of order 0.")
scaled_modified_bessel_k1 = _constant("scaled_modified_bessel_k1", lambda sp, x: sp.k1e(x),
                                      "``exp(x) K1(x)``, the scaled modified Bessel function of order 1.")
spherical_bessel_j0 = _constant("spherical_bessel_j0", lambda sp, x: sp.spherical_jn(0, x),
                                "The spherical Bessel function of the first kind of order 0, ``sin(x) / x``.")


# --- orthogonal polynomials (not differentiable, as in torch) ---------------------------------------
def _recurrence(x: np.ndarray, n: np.ndarray, first, step) -> np.ndarray:
    """``p_n(x)`` of a three-term recurrence: ``p_0 = 1``, ``p_1 = first(x)``, ``p_(k+1) = step(k, x, p_k,
    p_(k-1))``; ``n`` is truncated to an integer, and a negative ``n`` gives 0 (torch's conventions)."""
    x, n = np.broadcast_arrays(x, np.trunc(n).astype(np.int64) if n.dtype.kind == "f" else n.astype(np.int64))
    previous, current = np.ones_like(x), first(x)
    out = np.where(n == 0, previous, np.where(n == 1, current, np.zeros_like(x)))
    for k in range(1, int(n.max(initial=0))):
        previous, current = current, step(k, x, current, previous)
        out = np.where(n == k + 1, current, out)
    return out


def _polynomial(name: str, doc: str, first, step, shifted: bool = False):
    def fn(input, n):
        x, order = _float_operands(input, n)
        dtype = _no_half(name, x if isinstance(x, Tensor) else order)._data.dtype
        x_data = np.asarray(x._data if isinstance(x, Tensor) else x, dtype=dtype)
        if shifted:  # the shifted polynomials are the plain ones at 2x - 1
            x_data = x_data + x_data - 1
        n_data = np.asarray(order._data if isinstance(order, Tensor) else order)
        with np.errstate(all="ignore"):
            return Tensor._wrap(_recurrence(x_data, n_data, first, step).astype(dtype, copy=False))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"{doc} of degree ``n`` (an integer, or a tensor of them) at ``input``. Not differentiable, "
                  "as in torch.")
    return fn


def _chebyshev_step(k, x, p, q):
    return 2 * x * p - q


def _laguerre_step(k, x, p, q):
    return ((2 * k + 1 - x) * p - k * q) / (k + 1)


def _legendre_step(k, x, p, q):
    return ((2 * k + 1) * x * p - k * q) / (k + 1)


chebyshev_polynomial_t = _polynomial("chebyshev_polynomial_t", "The Chebyshev polynomial of the first kind",
                                     lambda x: x, _chebyshev_step)
chebyshev_polynomial_u = _polynomial("chebyshev_polynomial_u", "The Chebyshev polynomial of the second kind",
                                     lambda x: 2 * x, _chebyshev_step)
chebyshev_polynomial_v = _polynomial("chebyshev_polynomial_v", "The Chebyshev polynomial of the third kind",
                                     lambda x: 2 * x - 1, _chebyshev_step)
chebyshev_polynomial_w = _polynomial("chebyshev_polynomial_w", "The Chebyshev polynomial of the fourth kind",
                                     lambda x: 2 * x + 1, _chebyshev_step)
shifted_chebyshev_polynomial_t = _polynomial(
    "shifted_chebyshev_polynomial_t", "The shifted Chebyshev polynomial of the first kind, ``T_n(2x - 1)``,",
    lambda x: x, _chebyshev_step, shifted=True)
shifted_chebyshev_polynomial_u = _polynomial(
    "shifted_chebyshev_polynomial_u", "The shifted Chebyshev polynomial of the second kind, ``U_n(2x - 1)``,",
    lambda x: 2 * x, _chebyshev_step, shifted=True)
shifted_chebyshev_polynomial_v = _polynomial(
    "shifted_chebyshev_polynomial_v", "The shifted Chebyshev polynomial of the third kind, ``V_n(2x - 1)``,",
    lambda x: 2 * x - 1, _chebyshev_step, shifted=True)
shifted_chebyshev_polynomial_w = _polynomial(
    "shifted_chebyshev_polynomial_w", "The shifted Chebyshev polynomial of the fourth kind, ``W_n(2x - 1)``,",
    lambda x: 2 * x + 1, _chebyshev_step, shifted=True)
hermite_polynomial_h = _polynomial("hermite_polynomial_h", "The physicists' Hermite polynomial",
                                   lambda x: 2 * x, lambda k, x, p, q: 2 * x * p - 2 * k * q)
hermite_polynomial_he = _polynomial("hermite_polynomial_he", "The probabilists' Hermite polynomial",
                                    lambda x: x, lambda k, x, p, q: x * p - k * q)
laguerre_polynomial_l = _polynomial("laguerre_polynomial_l", "The Laguerre polynomial", lambda x: 1 - x,
                                    _laguerre_step)
legendre_polynomial_p = _polynomial("legendre_polynomial_p", "The Legendre polynomial", lambda x: x,
                                    _legendre_step)
