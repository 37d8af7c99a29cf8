"""Normalisation: ``batch_norm`` (numba kernels), ``layer_norm`` (fused), ``group_norm``,
``instance_norm``, ``rms_norm``, ``normalize``, ``local_response_norm``.

``batch_norm`` and ``layer_norm`` are fused ops with closed-form backwards:
with ``xhat = (x - mean) * invstd`` and ``g`` the gradient of ``xhat``,
``dx = invstd * (g - mean(g) - xhat * mean(g * xhat))``. While a graph of the backward is recorded
(``create_graph=True``: gradient penalties, MAML) their backwards differentiate the op restated in ops instead,
so that the gradients can be differentiated again.
"""

from __future__ import annotations

import math

import numpy as np

from ...autograd.engine import restated_grads
from ...autograd.function import Function, unchanged_input
from ...autograd.grad_mode import state
from ...ops._op import Op
from ...tensor import Tensor
from .pooling import avg_pool2d
from .sampling import pad

__all__ = [
    "batch_norm",
    "group_norm",
    "instance_norm",
    "layer_norm",
    "local_response_norm",
    "normalize",
    "rms_norm",
]


class BatchNorm(Op):
    _half_compute = np.float32  # numba has no float16: computed in float32, as torch's CPU kernels do
    @staticmethod
    def forward(ctx, x, weight, bias, mean, invstd, training):
        from ...kernels import norm as kernels  # numba loads on first use, not at `import ember`

        xd = x._data
        x3 = xd.reshape(xd.shape[0], xd.shape[1], -1)
        c = xd.shape[1]
        w = weight._data if weight is not None else np.ones(c, xd.dtype)
        b = bias._data if bias is not None else np.zeros(c, xd.dtype)
        ctx.save_for_backward(x, weight)
        ctx.stats = (mean, invstd, training)
        return kernels.normalize_affine(x3, mean, invstd, w, b).reshape(xd.shape)

    @staticmethod
    def backward(ctx, grad):
        from ...kernels import norm as kernels  # numba loads on first use, not at `import ember`

        x, weight = ctx.saved_tensors
        mean, invstd, training = ctx.stats
        if state.grad_enabled:  # create_graph: restated in ops, differentiable again
            return _restated_norm(ctx, grad, _batch_norm_ops, x, weight, (0,) + tuple(range(2, x.ndim)), mean,
                                  invstd, training) + (None,) * 3
        xd = x._data
        shape3 = (xd.shape[0], xd.shape[1], -1)
        w = weight._data if weight is not None else np.ones(xd.shape[1], xd.dtype)
        g = np.ascontiguousarray(grad._data).reshape(shape3)
        gx, gw, gb = kernels.batch_norm_backward(g, xd.reshape(shape3), mean, invstd, w, training)
        dtype = xd.dtype
        return (Tensor._wrap(gx.reshape(xd.shape)) if ctx.needs_input_grad[0] else None,
                Tensor._wrap(gw.astype(dtype)) if ctx.needs_input_grad[1] else None,
                Tensor._wrap(gb.astype(dtype)) if ctx.needs_input_grad[2] else None, None, None, None)


def _batch_norm_ops(x: Tensor, weight: Tensor | None, mean: np.ndarray, invstd: np.ndarray, training: bool):
    """``BatchNorm``'s output without the bias, in differentiable ops: in training normalised by the batch's
    statistics (biased variance, recomputed in ops so that the gradient flows through them; the running
    statistics are not touched), in evaluation an affine map of the running ones (``mean``, ``invstd``)."""
    shape = (1, -1) + (1,) * (x.ndim - 2)
    dtype = x._data.dtype
    if training:
        dims = (0,) + tuple(range(2, x.ndim))
        centred = x - x.mean(dims, keepdim=True)
        var = (centred * centred).mean(dims, keepdim=True)
        # the forward's eps, as the constant that makes var + eps = 1 / invstd^2 (BatchNorm receives invstd)
        eps = 1.0 / np.square(invstd).reshape(shape) - var._data
        out = centred * (var + Tensor._wrap(eps.astype(dtype))).rsqrt()
    else:
        out = (x - Tensor._wrap(mean.reshape(shape).astype(dtype))) * Tensor._wrap(invstd.reshape(shape).astype(dtype))
    return out if weight is None else out * weight.reshape(shape)


def _restated_norm(ctx, grad: Tensor, restate, x: Tensor, weight: Tensor | None, sum_dims: tuple, *options) -> tuple:
    """The gradients of a normalisation (``x``, ``weight``, ``bias``) while a graph is recorded: those of ``x``
    and ``weight`` through ``restate(x, weight, *options)``, the op's output without its bias in ops; the
    bias's, the upstream gradient summed over ``sum_dims``."""
    if ctx._half:
        raise RuntimeError(f"{ctx.name()}: a float16 input is not twice differentiable (the op runs on a float32 "
                           f"copy of it); cast the input to float32 to differentiate its gradient again")
    needs = ctx.needs_input_grad
    grad_input, grad_weight = restated_grads(lambda x, w: restate(x, w, *options), (x, weight), needs[:2], grad)
    return grad_input, grad_weight, (grad.sum(sum_dims) if sum_dims else grad) if needs[2] else None


class ChannelStats(Op):
    """The mean and biased variance (float64) of each channel (dim 1) of an input: batch norm's batch
    statistics, an op so that a graph capture records them (``BatchNorm``'s backward differentiates
    through them itself)."""

    @staticmethod
    def forward(ctx, x):
        from ...kernels import norm as kernels  # numba loads on first use, not at `import ember`

        xd = x._data
        planes = xd.reshape(xd.shape[0], xd.shape[1], -1)
        return kernels.channel_stats(planes.astype(np.float32) if planes.dtype == np.float16 else planes)

    @staticmethod
    def backward(ctx, grad_mean, grad_var):
        return (None,)


class InstanceStats(Op):
    """The mean over the batch of each instance's channel mean and unbiased variance (float64), from an
    (N, C, L) input: instance norm's running-statistics update."""

    @staticmethod
    def forward(ctx, flat):
        data = flat._data.astype(np.float64)
        count = data.shape[-1]
        return data.mean(-1).mean(0), (data.var(-1) * (count / (count - 1))).mean(0)

    @staticmethod
    def backward(ctx, grad_mean, grad_var):
        return (None,)


class RunningStat(Op):
    """``(1 - momentum) * running + momentum * stat``, out of place: the new value of a running statistic,
    which the caller writes into the buffer (a graph capture records that as a buffer mutation). With
    ``count`` (the values per channel, an int a capture can keep symbolic), ``stat`` is a biased variance made
    unbiased (``* count / (count - 1)``). ``momentum`` may be a 0-d tensor (a cumulative average's
    ``1 / num_batches_tracked``); ``wide`` blends in float64 (instance norm), else in the buffer's dtype."""

    @staticmethod
    def forward(ctx, running, stat, momentum, count, wide):
        return _blend(running._data, stat, momentum, count, wide)

    @staticmethod
    def backward(ctx, grad):
        return None, None, None, None, None


def _blend(running: np.ndarray, stat: np.ndarray, momentum, count: int | None, wide: bool, out=None):
    m = float(momentum._data) if isinstance(momentum, Tensor) else momentum
    if wide:
        new = ((1 - m) * running + m * stat).astype(running.dtype)
        return new if out is None else np.copyto(out, new)
    out = np.multiply(running, 1 - m, out=out)
    out += (m * stat if count is None else m * stat * (count / (count - 1))).astype(running.dtype)
    return out


def _statistics(op, x: Tensor) -> tuple:
    """``op``'s two statistics of ``x`` as arrays. In eager code the op's forward runs directly (the
    statistics carry no gradient: no tape, three ops' overhead less per batch norm); while ``Function.apply``
    is hooked (a graph capture, vmap) they go through it, so that the capture records them."""
    if Function._batching_hook is None:
        return op.forward(None, x)
    return tuple(t._data for t in op.apply(x))


def _update_running(running: Tensor | None, stat: np.ndarray, momentum, count: int | None = None,
                    wide: bool = False) -> None:
    """Writes a running statistic's new value into its buffer: in place in eager code; under a capture as
    the op's result copied in (which the capture records as a buffer mutation)."""
    if running is None:
        return
    if Function._batching_hook is None:
        _blend(running._data, stat, momentum, count, wide, out=running._data)
    else:
        np.copyto(running._data, RunningStat.apply(running, stat, momentum, count, wide)._data)
    running._vc[0] += 1


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None, weight: Tensor | None = None,
               bias: Tensor | None = None, training: bool = False, momentum: float | Tensor = 0.1,
               eps: float = 1e-5) -> Tensor:
    """Normalises each channel (dim 1) by batch statistics (``training``) or the running ones.

    In training, ``running_mean`` and ``running_var`` (if given) are updated in place:
    ``running = (1 - momentum) * running + momentum * batch_stat``, with the unbiased batch variance
    (``momentum`` may be a 0-d tensor, as ``BatchNorm``'s cumulative average passes it). A graph capture
    (``ember.export``, ``ember.compile``) records the update as a buffer mutation.

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> x = ember.randn(8, 3, 4, 4)
        >>> mean, var = ember.zeros(3), ember.ones(3)
        >>> y = F.batch_norm(x, mean, var, training=True)
        >>> bool(mean.abs().sum() > 0)
        True
    """
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected an input with at least 2 dims, got shape {tuple(input.shape)}")
    xd = input._data
    channels = xd.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        if t is not None and t.numel() != channels:
            raise RuntimeError(f"batch_norm: {name} should contain {channels} elements, not {t.numel()} "
                               f"(input of shape {tuple(input.shape)})")
    if training:
        count = xd.size // channels
        if count <= 1:
            raise ValueError(
                f"Expected more than 1 value per channel when training, got input size {tuple(input.shape)}"
            )
        mean, var = _statistics(ChannelStats, input)
        _update_running(running_mean, mean, momentum)
        _update_running(running_var, var, momentum, count)
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError("batch_norm: running_mean and running_var must be given when training=False")
        mean = running_mean._data.astype(np.float64)
        var = running_var._data.astype(np.float64)
    invstd = 1.0 / np.sqrt(var + eps)
    return BatchNorm.apply(input, weight, bias, mean, invstd, bool(training))


class LayerNorm(Op):
    """Normalises over the last axis, then applies an optional affine map (numba kernels)."""
    _half_compute = np.float32  # numba has no float16: computed in float32, as torch's CPU kernels do

    @staticmethod
    def forward(ctx, x, weight, bias, eps):
        from ...kernels import norm as kernels  # numba loads on first use, not at `import ember`

        xd = x._data
        x2 = np.ascontiguousarray(xd).reshape(-1, xd.shape[-1])
        d = x2.shape[1]
        affine = weight is not None or bias is not None
        w = weight._data if weight is not None else np.ones(d, xd.dtype)
        b = bias._data if bias is not None else np.zeros(d, xd.dtype)
        y, mean, invstd = kernels.layer_norm_forward(x2, w, b, float(eps), affine)
        ctx.save_for_backward(x, weight)
        ctx.stats = (mean, invstd, affine)
        ctx.eps = eps
        return y.reshape(xd.shape)

    @staticmethod
    def backward(ctx, grad):
        from numba import get_num_threads  # numba loads on first use, not at `import ember`

        from ...kernels import norm as kernels  # numba loads on first use, not at `import ember`

        x, weight = ctx.saved_tensors
        if state.grad_enabled:  # create_graph: restated in ops, differentiable again
            return _restated_norm(ctx, grad, _layer_norm_ops, x, weight, tuple(range(x.ndim - 1)), ctx.eps) + (None,)
        mean, invstd, _ = ctx.stats
        xd = x._data
        d = xd.shape[-1]
        x2 = np.ascontiguousarray(xd).reshape(-1, d)
        g = np.ascontiguousarray(grad._data).reshape(-1, d)
        w = weight._data if weight is not None else np.ones(d, xd.dtype)
        chunks = max(1, min(get_num_threads() * 2, x2.shape[0]))
        gx, gw, gb = kernels.layer_norm_backward(g, x2, mean, invstd, w, weight is not None, chunks)
        return (Tensor._wrap(gx.reshape(xd.shape)) if ctx.needs_input_grad[0] else None,
                Tensor._wrap(gw.astype(xd.dtype)) if ctx.needs_input_grad[1] else None,
                Tensor._wrap(gb.astype(xd.dtype)) if ctx.needs_input_grad[2] else None, None)


def _layer_norm_ops(x: Tensor, weight: Tensor | None, eps: float) -> Tensor:
    """``LayerNorm``'s output without the bias, in differentiable ops (biased variance over the last dim)."""
    centred = x - x.mean(-1, keepdim=True)
    out = centred * ((centred * centred).mean(-1, keepdim=True) + eps).rsqrt()
    return out if weight is None else out * weight


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalises over the trailing ``normalized_shape`` dims, then scales by ``weight`` and shifts by ``bias``.

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> y = F.layer_norm(ember.randn(4, 10), (10,))
        >>> bool(y.mean(-1).abs().max() < 1e-5)
        True
    """
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if tuple(input.shape[input.ndim - k:]) != shape:
        raise RuntimeError(
            f"layer_norm: given normalized_shape={list(shape)}, expected input with shape [*, "
            f"{', '.join(map(str, shape))}], but got input of size {list(input.shape)}"
        )
    d = math.prod(shape)
    flat = input.reshape(input.shape[: input.ndim - k] + (d,)) if k != 1 else input
    w = weight.reshape(d) if weight is not None and k != 1 else weight
    b = bias.reshape(d) if bias is not None and k != 1 else bias
    out = LayerNorm.apply(flat, w, b, eps)
    return out.reshape(input.shape) if k != 1 else out


def _standardize(x: Tensor, eps: float) -> Tensor:
    """(x - mean) / sqrt(var + eps) over the last dim (the fused layer_norm without affine)."""
    return LayerNorm.apply(x, None, None, eps)


def _channel_affine(out: Tensor, weight, bias) -> Tensor:
    shape = (-1,) + (1,) * (out.ndim - 2)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


class GroupNorm(Op):
    """Each (sample, group) row standardised by the layer-norm kernel, then the per-channel affine map, in one
    op: as three ops (standardise, ``* weight``, ``+ bias``) it spent most of its time in graph bookkeeping
    on the small feature maps of a diffusion U-Net (benchmarks/README.md)."""
    _half_compute = np.float32  # numba has no float16: computed in float32, as torch's CPU kernels do

    @staticmethod
    def forward(ctx, x, weight, bias, num_groups, eps):
        from ...kernels import norm as kernels  # numba loads on first use, not at `import ember`

        xd = x._data
        n, c = xd.shape[0], xd.shape[1]
        rows = np.ascontiguousarray(xd).reshape(n * num_groups, -1)
        ones = np.ones(rows.shape[1], xd.dtype)
        xhat, mean, invstd = kernels.layer_norm_forward(rows, ones, ones, float(eps), False)
        ctx.save_for_backward(weight)
        ctx.stats = (xhat, mean, invstd)
        ctx.input = (x, x._vc[0])  # for a recorded backward only (the fast one reads xhat, not x)
        ctx.options = (num_groups, eps)
        out = xhat.reshape(n, c, -1)
        if weight is not None:
            out = out * weight._data.reshape(c, 1)
        if bias is not None:
            out = out + bias._data.reshape(c, 1)
        # (a copy when no affine map made one: xhat is kept for the backward, the output may be changed in place)
        return (out.copy() if weight is None and bias is None else out).reshape(xd.shape)

    @staticmethod
    def backward(ctx, grad):
        from numba import get_num_threads  # numba loads on first use, not at `import ember`

        from ...kernels import norm as kernels  # numba loads on first use, not at `import ember`

        (weight,) = ctx.saved_tensors
        if state.grad_enabled:  # create_graph: restated in ops, differentiable again
            x = unchanged_input(ctx, *ctx.input)
            return _restated_norm(ctx, grad, _group_norm_ops, x, weight, (0,) + tuple(range(2, x.ndim)),
                                  *ctx.options) + (None, None)
        xhat, mean, invstd = ctx.stats
        n, c = grad.shape[0], grad.shape[1]
        g3 = grad._data.reshape(n, c, -1)
        dtype = xhat.dtype
        grad_weight = grad_bias = None
        if ctx.needs_input_grad[1]:
            grad_weight = Tensor._wrap(np.einsum("ncs,ncs->c", g3, xhat.reshape(n, c, -1)).astype(dtype, copy=False))
        if ctx.needs_input_grad[2]:
            grad_bias = Tensor._wrap(g3.sum(axis=(0, 2), dtype=np.float64).astype(dtype))
        grad_input = None
        if ctx.needs_input_grad[0]:
            gxhat = g3 * weight._data.reshape(c, 1) if weight is not None else g3
            gxhat = np.ascontiguousarray(gxhat, dtype=dtype).reshape(xhat.shape)
            # (the kernel recomputes xhat from x: with x = xhat, mean 0 and invstd 1 it reads xhat itself)
            chunks = max(1, min(get_num_threads() * 2, xhat.shape[0]))
            ones = np.ones(xhat.shape[1], dtype)
            gx, _, _ = kernels.layer_norm_backward(gxhat, xhat, np.zeros_like(mean), np.ones_like(invstd), ones,
                                                   False, chunks)
            grad_input = Tensor._wrap((gx * invstd[:, None].astype(dtype)).reshape(grad.shape))
        return grad_input, grad_weight, grad_bias, None, None


def _group_norm_ops(x: Tensor, weight: Tensor | None, num_groups: int, eps: float) -> Tensor:
    """``GroupNorm``'s output without the bias, in differentiable ops."""
    n, c = x.shape[0], x.shape[1]
    out = _layer_norm_ops(x.reshape(n, num_groups, -1), None, eps).reshape(n, c, -1)
    if weight is not None:
        out = out * weight.reshape(c, 1)
    return out.reshape(x.shape)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalises groups of channels of each sample, then applies a per-channel affine map.

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.group_norm(ember.randn(2, 6, 4, 4), 3).shape
        ember.Size([2, 6, 4, 4])
    """
    c = input.shape[1]
    if c % num_groups:
        raise RuntimeError(f"group_norm: {c} channels are not divisible by num_groups={num_groups}")
    return GroupNorm.apply(input, weight, bias, num_groups, eps)


def instance_norm(input: Tensor, running_mean: Tensor | None = None, running_var: Tensor | None = None,
                  weight: Tensor | None = None, bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalises each channel of each sample over its spatial dims.

    With ``use_input_stats`` the running statistics (if given) are updated with the mean over the
    batch of the per-instance statistics; otherwise they are used to normalise.

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.instance_norm(ember.randn(2, 3, 5, 5)).shape
        ember.Size([2, 3, 5, 5])
    """
    if not use_input_stats:
        return batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)
    n, c = input.shape[0], input.shape[1]
    flat = input.reshape(n, c, -1)
    if flat.shape[-1] <= 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size {tuple(input.shape)}")
    if running_mean is not None or running_var is not None:
        mean, unbiased = _statistics(InstanceStats, flat)
        _update_running(running_mean, mean, momentum, wide=True)
        _update_running(running_var, unbiased, momentum, wide=True)
    out = _standardize(flat, eps).reshape(input.shape)
    return _channel_affine(out, weight, bias)


def rms_norm(input: Tensor, normalized_shape, weight: Tensor | None = None, eps: float | None = None) -> Tensor:
    """``x / sqrt(mean(x^2) + eps) * weight`` over the trailing ``normalized_shape`` dims.

    ``eps=None`` uses the machine epsilon of the input's dtype, as PyTorch does.

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.rms_norm(ember.full((1, 4), 2.0), (4,))
        tensor([[1., 1., 1., 1.]])
    """
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if tuple(input.shape[input.ndim - len(shape):]) != shape:
        raise RuntimeError(f"rms_norm: normalized_shape={list(shape)} does not match the trailing dims of "
                           f"input of size {list(input.shape)}")
    if eps is None:
        eps = float(np.finfo(input._data.dtype).eps)
    dims = tuple(range(input.ndim - len(shape), input.ndim))
    out = input * ((input * input).mean(dims, keepdim=True) + eps).rsqrt()
    return out if weight is None else out * weight


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out=None) -> Tensor:
    """``x / max(||x||_p, eps)`` along ``dim``.

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.normalize(ember.tensor([[3.0, 4.0]]))
        tensor([[0.6000, 0.8000]])
    """
    norm = input.norm(p, dim, keepdim=True).clamp_min(eps)
    return input / norm


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> Tensor:
    """Normalises each channel by the summed squares of its ``size`` neighbouring channels."""
    squared = (input * input).unsqueeze(1)
    n, c = input.shape[0], input.shape[1]
    squared = pad(squared.reshape(n, 1, c, -1), (0, 0, size // 2, (size - 1) // 2))
    div = avg_pool2d(squared, (size, 1), stride=1).reshape(input.shape)
    return input / (div * alpha + k) ** beta
