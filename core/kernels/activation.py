"""GELU (erf form) in float32, forward and backward each one pass.

The forward computes, per element, ``gauss = exp(-x^2 / 2)`` (``_gauss``: a polynomial and a power of two
made from its bits, so that the loop vectorises; libm's exp, which numba calls once per element, would
not), erf from it (Abramowitz & Stegun 7.1.26, as ``kernels.special``), the normal CDF and ``x * cdf``.
The backward reuses ``cdf`` and ``gauss``, since the normal density is ``gauss / sqrt(2 pi)``:
``grad * (cdf + x * pdf)`` in one pass, where numpy took seven. Large arrays are split between the kernel
threads (``_threads.split``): all of the forward's work is in the kernel, so all of it is split.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, types
from numba.core.extending import intrinsic

from ._threads import split

_FAST = {"contract", "reassoc", "arcp", "afn"}  # no "nnan" / "ninf": NaN inputs give NaN
_ROUND = 6755399441055744.0  # 1.5 * 2^52: adding and subtracting it rounds a float64 to an integer


@intrinsic
def _float64_from_bits(typingctx, bits):
    """The float64 whose bits are the int64 ``bits`` (a bit cast, which numba has no scalar form of)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))
    return types.float64(types.int64), codegen


@njit(cache=True, fastmath={"contract"}, error_model="numpy", inline="always")
def _gauss(v):
    """``exp(-v^2 / 2)`` of a float64 (relative error ~1e-10): ``2^n e^r`` with ``r = t - n ln 2``,
    ``|r| <= ln 2 / 2``, ``e^r`` by its Taylor series to ``r^8``; 0 below ``e^-708``, NaN for NaN. (No
    reassociation here: it would fold the rounding constant away.)"""
    t = -0.5 * v * v
    clamped = t if t > -708.0 else -708.0  # noqa: FURB136 - NaN gives -708 here (a finite n), max() would not
    n = (clamped * 1.4426950408889634 + _ROUND) - _ROUND
    r = t - n * 0.6931471805599453
    e = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6 + r * (1.0 / 24 + r * (1.0 / 120 + r * (
        1.0 / 720 + r * (1.0 / 5040 + r * (1.0 / 40320))))))))
    return 0.0 if t < -708.0 else e * _float64_from_bits((np.int64(n) + 1023) << 52)


# the kernels split from 2^18 elements: below that a second thread did not pay (benchmarks/README.md,
# 2026-12-07, transformers on two threads)
@split(1 << 18, fastmath=_FAST, error_model="numpy")
def _gelu_forward(x, gauss, out, cdf, start, stop):
    x, gauss, out, cdf = x[start:stop], gauss[start:stop], out[start:stop], cdf[start:stop]
    for i in range(x.size):
        v = x[i]
        e = _gauss(np.float64(v))
        gauss[i] = e
        t = 1.0 / (1.0 + 0.3275911 * 0.7071067811865476 * abs(v))
        poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
        r = 1.0 - poly * e  # erf(|v| / sqrt 2)
        c = 0.5 + 0.5 * r if v >= 0 else 0.5 - 0.5 * r
        cdf[i] = c
        out[i] = v * c


@split(1 << 18, fastmath=_FAST, error_model="numpy")
def _gelu_backward(grad, x, cdf, gauss, out, start, stop):
    grad, x, cdf, gauss, out = grad[start:stop], x[start:stop], cdf[start:stop], gauss[start:stop], out[start:stop]
    for i in range(x.size):
        # d/dx x Phi(x) = Phi(x) + x phi(x), phi(x) = exp(-x^2 / 2) / sqrt(2 pi)
        out[i] = grad[i] * (cdf[i] + x[i] * gauss[i] * 0.3989422804014327)


def gelu_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(gelu(x), cdf, gauss)`` of a float32 array; the last two are what ``gelu_backward`` needs."""
    flat = np.ascontiguousarray(x).reshape(-1)
    out, cdf, gauss = np.empty_like(flat), np.empty_like(flat), np.empty_like(flat)
    _gelu_forward(flat.size, flat, gauss, out, cdf)
    return out.reshape(x.shape), cdf, gauss


def gelu_backward(grad: np.ndarray, x: np.ndarray, cdf: np.ndarray, gauss: np.ndarray) -> np.ndarray:
    """The gradient of ``gelu`` at ``x`` (float32) from the forward's ``cdf`` and ``gauss``."""
    flat = np.ascontiguousarray(x).reshape(-1)
    out = np.empty_like(flat)
    _gelu_backward(flat.size, np.ascontiguousarray(grad, dtype=np.float32).reshape(-1), flat, cdf, gauss, out)
    return out.reshape(x.shape)


@split(1 << 17, error_model="numpy")
def _leaky_relu_forward(x, slope, out, start, stop):
    x, out = x[start:stop], out[start:stop]
    for i in range(x.size):
        v = x[i]
        out[i] = v if v > 0 else v * slope  # NaN: v * slope, NaN


@split(1 << 17, error_model="numpy")
def _leaky_relu_backward(grad, x, slope, out, start, stop):
    grad, x, out = grad[start:stop], x[start:stop], out[start:stop]
    for i in range(x.size):
        out[i] = grad[i] if x[i] > 0 else grad[i] * slope


@split(1 << 17, error_model="numpy")
def _relu_forward(x, zero, out, start, stop):
    x, out = x[start:stop], out[start:stop]
    for i in range(x.size):
        v = x[i]
        out[i] = v if v > 0 or math.isnan(v) else zero  # NaN stays NaN, as torch's


@split(1 << 17, error_model="numpy")
def _relu_backward(grad, output, zero, out, start, stop):
    grad, output, out = grad[start:stop], output[start:stop], out[start:stop]
    for i in range(out.size):
        out[i] = zero if output[i] <= 0 else grad[i]  # torch's threshold_backward: NaN passes, 0 even for a NaN grad


def _map(kernel, x, *rest):
    """``kernel`` (a pointwise ``split`` kernel taking flat arrays, then ``out``) over ``x`` and the arrays and
    scalars in ``rest`` (arrays cast to ``x``'s dtype, scalars to a scalar of it): a new array of ``x``'s shape."""
    flat = np.ascontiguousarray(x).reshape(-1)
    args = [np.ascontiguousarray(a, dtype=x.dtype).reshape(-1) if isinstance(a, np.ndarray) else x.dtype.type(a)
            for a in rest]
    out = np.empty_like(flat)
    kernel(flat.size, flat, *args, out)
    return out.reshape(x.shape)


def leaky_relu_forward(x: np.ndarray, negative_slope: float) -> np.ndarray:
    """``leaky_relu`` of a float32 / float64 array in one pass (numpy's ``where`` takes three)."""
    return _map(_leaky_relu_forward, x, negative_slope)


def leaky_relu_backward(grad: np.ndarray, x: np.ndarray, negative_slope: float) -> np.ndarray:
    """The gradient of ``leaky_relu`` at ``x``: ``grad`` where ``x > 0``, ``negative_slope * grad`` elsewhere."""
    return _map(_leaky_relu_backward, grad, x, negative_slope)


def relu_forward(x: np.ndarray) -> np.ndarray:
    """``relu`` of a float32 / float64 array in one pass, split over the kernel threads from its size up."""
    return _map(_relu_forward, x, 0)


def relu_backward(grad: np.ndarray, output: np.ndarray) -> np.ndarray:
    """The gradient of ``relu`` from its ``output``: 0 where the output is at most 0, ``grad`` elsewhere (NaN too)."""
    return _map(_relu_backward, grad, output, 0)
