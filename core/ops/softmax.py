"""Softmax and log-softmax: fused ops (a stable forward, with numba row kernels when ``dim`` is the
last axis; a backward written with Ember ops, so they can be differentiated twice)."""

from __future__ import annotations

import numpy as np

from .._numpy_names import dim_from_axis
from ._op import Op, _not_implemented_for, on_arrays, wrap
from ._util import normalize_dim


def _softmax_dim(ndim: int) -> int:
    # PyTorch's legacy implicit dim for softmax(dim=None)
    return 0 if ndim in (0, 1, 3) else 1


_kernels = None  # ember.kernels.softmax once loaded (numba loads on first use, not at `import ember`)


def _last_axis_kernels(x, dim):
    """The softmax kernels when ``dim`` is the last axis of a contiguous float32/64 ``x``, else None."""
    global _kernels
    if _kernels is None:  # (a function-level import costs ~1 us per call: a small softmax's import machinery)
        from ..kernels import softmax as kernels

        _kernels = kernels
    return _kernels if dim in (-1, x.ndim - 1) and _kernels.supported(x) else None


class Softmax(Op):  # fused: the numba row kernels beat numpy's reductions along short rows
    @staticmethod
    def forward(ctx, a, dim):
        ctx.dim = dim
        x = a._data
        ctx.save_output()
        kernels = _last_axis_kernels(x, dim)
        if kernels is not None:
            e = kernels.shift_rows(x.copy())
            kernels.softmax_(e)
            return e
        e = np.exp(x - np.amax(x, axis=dim, keepdims=True))
        e /= np.sum(e, axis=dim, keepdims=True)
        return e

    @staticmethod
    def backward(ctx, grad):
        y = ctx.output
        # d softmax: y * (g - sum(g * y))
        if on_arrays():
            y, g = y._data, grad._data
            return wrap(y * (g - np.add.reduce(g * y, axis=ctx.dim, keepdims=True))), None
        return y * (grad - (grad * y).sum(ctx.dim, keepdim=True)), None


class LogSoftmax(Op):  # fused: stable for large logits, and one pass where exp, sum, log, sub would be four
    @staticmethod
    def forward(ctx, a, dim):
        ctx.dim = dim
        x = a._data
        ctx.save_output()
        kernels = _last_axis_kernels(x, dim)
        if kernels is not None:
            shifted = kernels.shift_rows(x.copy())
            shifted -= kernels.softmax_(shifted, out=np.empty_like(shifted))[..., None]
            return shifted
        shifted = x - np.amax(x, axis=dim, keepdims=True)
        shifted -= np.log(np.sum(np.exp(shifted), axis=dim, keepdims=True))
        return shifted

    @staticmethod
    def backward(ctx, grad):
        # d log_softmax: g - softmax * sum(g)
        if on_arrays():
            g = grad._data
            return wrap(g - np.exp(ctx.output._data) * np.add.reduce(g, axis=ctx.dim, keepdims=True)), None
        return grad - ctx.output.exp() * grad.sum(ctx.dim, keepdim=True), None


def _prepare(input, dim, dtype, op):
    if dtype is not None:
        input = input.to(dtype)
    if input._data.dtype.kind != "f":  # as PyTorch: an integer input needs a float dtype= to be converted
        raise _not_implemented_for(op, input)
    if dim is None:
        dim = _softmax_dim(input.ndim)
    return input, normalize_dim(dim, input.ndim, op)


def softmax(input, dim: int | None = None, dtype=None, *, axis=None):
    """``exp(x) / sum(exp(x))`` along ``dim``, computed stably (``dim=None``: PyTorch's legacy choice)."""
    if axis is not None:
        dim = dim_from_axis("softmax", dim, axis)
    input, dim = _prepare(input, dim, dtype, "softmax")
    return Softmax.apply(input, dim)


def log_softmax(input, dim: int | None = None, dtype=None, *, axis=None):
    """``x - logsumexp(x)`` along ``dim``, computed stably (``dim=None``: PyTorch's legacy choice)."""
    if axis is not None:
        dim = dim_from_axis("log_softmax", dim, axis)
    input, dim = _prepare(input, dim, dtype, "log_softmax")
    return LogSoftmax.apply(input, dim)
