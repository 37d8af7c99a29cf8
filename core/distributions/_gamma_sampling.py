"""Reparameterised Gamma samples by implicit differentiation (Figurnov et al., 2018, "Implicit
Reparameterization Gradients"), as torch's ``_standard_gamma``.

A sample ``x ~ Gamma(alpha, 1)`` satisfies ``P(alpha, x) = u`` for the regularised incomplete gamma
function ``P`` (the CDF) and a fixed uniform ``u``, so ``dx/dalpha = -(dP/dalpha) / (dP/dx)``, where
``dP/dx`` is the density. torch evaluates ``dP/dalpha`` with series and asymptotic approximations; Ember
takes a central difference of scipy's ``gammainc`` in float64 (relative error ~1e-8), so for the same
sample both give the same gradient to within their approximation error.
"""

from __future__ import annotations

import numpy as np

import ember

from .utils import numpy_generator


def standard_gamma_grad(alpha: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``dx/dalpha`` of a ``Gamma(alpha, 1)`` sample ``x`` (float64 arrays)."""
    import scipy.special  # lazy: heavy

    h = 1e-5 * np.maximum(alpha, 1e-3)
    h = np.minimum(h, 0.5 * alpha)  # keep alpha - h > 0
    dp_dalpha = (scipy.special.gammainc(alpha + h, x) - scipy.special.gammainc(alpha - h, x)) / (2 * h)
    log_density = (alpha - 1) * np.log(x) - x - scipy.special.gammaln(alpha)
    return -dp_dalpha * np.exp(-log_density)


class StandardGamma(ember.autograd.Function):
    """``Gamma(alpha, 1)`` samples with the implicit gradient w.r.t. ``alpha`` (once differentiable)."""

    once_differentiable = True

    @staticmethod
    def forward(ctx, alpha):
        a = alpha.detach().numpy().astype(np.float64)
        x = numpy_generator().standard_gamma(a)
        tiny = float(np.finfo(alpha.dtype.numpy).tiny)
        x = np.asarray(np.maximum(x, tiny), dtype=alpha.dtype.numpy)  # as torch: never exactly 0
        ctx.dx_dalpha = np.asarray(standard_gamma_grad(a, x.astype(np.float64)), dtype=alpha.dtype.numpy)
        return ember.from_numpy(x)

    @staticmethod
    def backward(ctx, grad):
        return grad * ember.from_numpy(ctx.dx_dalpha)


def standard_gamma(alpha):
    """A ``Gamma(alpha, 1)`` sample of ``alpha``'s shape, differentiable w.r.t. ``alpha``."""
    return StandardGamma.apply(alpha)
