"""Activations: relu, leaky_relu, elu, gelu, silu, softplus, sigmoid, tanh, and the ``Hardtanh`` op
behind ``nn.functional.hardtanh``.

A fused op (forward and backward each one pass over the array) is kept only where it was measured
faster than the same function composed of primitives, or where it is needed for numerical stability;
the rest are compositions. The timings are in benchmarks/README.md (2026-12-06).
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd.grad_mode import state
from ..tensor import Tensor
from ._op import Op, conj_data, on_arrays, wrap
from ._util import default_float
from .arithmetic import minimum, where
from .complex_ops import conj_of
from .unary import _erf, _float_unary, erf, exp, log1p


class Tanh(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_output()
        return np.tanh(a._data)

    @staticmethod
    def backward(ctx, grad):
        # d/dx tanh = 1 - tanh^2
        if on_arrays():  # no graph of the backward: the arrays, not three ops
            out = conj_data(ctx.output)
            return wrap(grad._data * (1 - out * out))
        out = conj_of(ctx.output)
        return grad * (1 - out * out)


class Sigmoid(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_output()
        x = a._data
        if x.dtype.kind == "c":
            return 1 / (1 + np.exp(-x))
        # exp of a non-positive number only, so large |x| never overflows
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        if on_arrays():
            out = conj_data(ctx.output)
            return wrap(grad._data * out * (1 - out))
        out = conj_of(ctx.output)
        return grad * out * (1 - out)


class Relu(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_output()
        x = a._data
        if _one_pass(x) and x.size >= _RELU_KERNEL_SIZE:  # split over the kernel threads
            from ..kernels.activation import relu_forward  # numba loads on first use

            return relu_forward(x)
        return np.maximum(x, 0)

    @staticmethod
    def backward(ctx, grad):
        if not state.grad_enabled:  # no double backward
            out = ctx.output._data
            if _one_pass(out) and out.size >= _RELU_KERNEL_SIZE and grad._data.dtype == out.dtype:
                from ..kernels.activation import relu_backward  # one pass, split over the kernel threads

                return Tensor._wrap(relu_backward(grad._data, out))
            return Tensor._wrap(grad._data * ~(out <= 0))  # (a NaN output passes the gradient, as in torch)
        return grad * ~(ctx.output.detach() <= 0)


_RELU_KERNEL_SIZE = 1 << 16  # elements from which relu runs its numba kernels (below, numpy's call is cheaper)


class LeakyRelu(Op):  # fused: measured faster than where(x > 0, x, x * slope)
    @staticmethod
    def forward(ctx, a, negative_slope):
        ctx.save_for_backward(a)
        ctx.slope = negative_slope
        x = a._data
        if _one_pass(x):  # one pass, split over the kernel threads (ember.kernels.activation)
            from ..kernels.activation import leaky_relu_forward  # numba loads on first use

            return leaky_relu_forward(x, negative_slope)
        return np.where(x > 0, x, x * np.asarray(negative_slope, x.dtype))

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        if not state.grad_enabled and _one_pass(a._data) and grad._data.dtype == a._data.dtype:
            from ..kernels.activation import leaky_relu_backward  # no double backward: one pass

            return Tensor._wrap(leaky_relu_backward(grad._data, a._data, ctx.slope)), None
        return where(a.detach() > 0, grad, grad * ctx.slope), None


def _one_pass(x) -> bool:
    """Whether a pointwise kernel of ``ember.kernels.activation`` takes ``x``: a plain float32 / float64 array
    (meta, traced and batched arrays, half precision and complex take numpy)."""
    return type(x) is np.ndarray and (x.dtype == np.float32 or x.dtype == np.float64)


class Elu(Op):  # fused: measured faster than where(x > 0, x, alpha * expm1(x.clamp(max=0)))
    """ELU, and SELU / CELU through ``scale`` and ``input_scale``."""

    @staticmethod
    def forward(ctx, a, alpha, scale, input_scale):
        ctx.save_for_backward(a)
        ctx.params = (alpha, scale, input_scale)
        x = a._data
        negative = np.expm1(np.minimum(x, 0) * input_scale) * alpha
        return (np.where(x > 0, x, negative) * scale).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        alpha, scale, input_scale = ctx.params
        # d/dx alpha*(exp(s x) - 1) = alpha * s * exp(s x)
        negative = exp(minimum(a, 0.0) * input_scale) * (alpha * input_scale * scale)
        return where(a.detach() > 0, grad * scale, grad * negative), None, None, None


class Gelu(Op):  # fused: measured faster than x * Phi(x) composed, and the backward reuses the forward's erf
    @staticmethod
    def forward(ctx, a, approximate):
        ctx.save_for_backward(a)
        ctx.approximate = approximate
        x = a._data
        if approximate == "tanh":
            inner = np.sqrt(2 / np.pi) * (x + 0.044715 * (x * x * x))  # numpy's float32 x**3 is far slower
            return (0.5 * x * (1 + np.tanh(inner))).astype(x.dtype, copy=False)
        if x.dtype == np.float32 and type(x) is np.ndarray:  # one pass each way (ember.kernels.activation)
            from ..kernels.activation import gelu_forward  # numba loads on first use

            out, ctx.cdf, ctx.gauss = gelu_forward(x)
            return out
        cdf = 0.5 * (1 + _erf(x * (1 / math.sqrt(2))))
        ctx.cdf, ctx.gauss = cdf, None  # erf is the costly part: the backward reuses it
        return (x * cdf).astype(x.dtype, copy=False)  # stays float32

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        if ctx.approximate == "none" and not state.grad_enabled:  # no double backward: plain numpy
            xd = x._data
            if ctx.gauss is not None:
                from ..kernels.activation import gelu_backward

                return Tensor._wrap(gelu_backward(grad._data, xd, ctx.cdf, ctx.gauss)), None
            pdf = np.exp(-0.5 * xd * xd) * (1 / math.sqrt(2 * math.pi))
            return Tensor._wrap((grad._data * (ctx.cdf + xd * pdf)).astype(xd.dtype, copy=False)), None
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


class Silu(Op):  # fused: measured (a little) faster than x * sigmoid(x)
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        x = a._data
        return x / (1 + np.exp(-x))

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        if on_arrays():  # no graph of the backward: one numpy expression instead of six ops
            x = a._data
            s = 1 / (1 + np.exp(-x))
            return wrap(grad._data * (s * (1 + x * (1 - s))))
        s = sigmoid(a)
        # d/dx x s(x) = s + x s (1 - s)
        return grad * (s * (1 + a * (1 - s)))


class Hardtanh(Op):
    @staticmethod
    def forward(ctx, a, min_val, max_val):
        ctx.save_for_backward(a)
        ctx.bounds = (min_val, max_val)
        return np.clip(a._data, a._data.dtype.type(min_val), a._data.dtype.type(max_val))

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        low, high = ctx.bounds
        x = a._data
        # the gradient is 1 strictly inside (min_val, max_val) and 0 elsewhere (PyTorch's convention)
        return grad * Tensor._wrap((x > low) & (x < high)), None, None


tanh = _float_unary(Tanh)
sigmoid = _float_unary(Sigmoid)
silu = _float_unary(Silu)


def relu(input):
    return Relu.apply(input)


def leaky_relu(input, negative_slope: float = 0.01):
    return LeakyRelu.apply(input, negative_slope)


def elu(input, alpha: float = 1.0):
    return Elu.apply(default_float(input), alpha, 1.0, 1.0)


def gelu(input, approximate: str = "none"):
    """GELU, exact (``approximate="none"``, with erf) or the tanh approximation."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return Gelu.apply(default_float(input), approximate)




def softplus(input, beta: float = 1.0, threshold: float = 20.0):  # composite: measured faster than fused
    """``log(1 + exp(beta * x)) / beta``, and ``x`` itself where ``beta * x > threshold``."""
    x = default_float(input)
    scaled = x * beta if beta != 1 else x
    # the clamp keeps exp finite in the branch ``where`` drops, so its gradient is 0, not NaN
    soft = log1p(exp(scaled.clamp(max=threshold)))
    return where(scaled > threshold, x, soft / beta if beta != 1 else soft)


# ``from .activation import *`` (and so ``ember``) gets these functions, not the Op classes or imports
# (tanh / sigmoid / silu are built by unary's ``_float_unary``, so the list is written out)
__all__ = ["elu", "gelu", "leaky_relu", "relu", "sigmoid", "silu", "softplus", "tanh"]
