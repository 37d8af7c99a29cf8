"""``scaled_dot_product_attention``: ``softmax(Q K^T * scale + mask) V`` with optional dropout."""

from __future__ import annotations

import math

import numpy as np

from ...autograd.function import once_differentiable
from ...ops._op import Op
from ...tensor import Tensor
from .activation import softmax
from .dropout import dropout


def _swap(a: np.ndarray) -> np.ndarray:
    return np.swapaxes(a, -1, -2)


class Attention(Op):
    """``softmax(q k^T * scale + bias) v`` in one op: ``bias`` is an additive float mask (a Tensor, may need
    a gradient) and ``blocked`` a constant boolean array of positions that may not attend."""

    @staticmethod
    def forward(ctx, q, k, v, bias, blocked, scale):
        dtype = q._data.dtype
        scores = q._data @ _swap(k._data)
        scores *= dtype.type(scale)
        if bias is not None:
            scores = scores + bias._data
        if blocked is not None:
            scores = np.where(blocked, dtype.type(-np.inf), scores)
        from ...kernels import softmax as kernels  # numba loads on first use, not at `import ember`

        if kernels.supported(scores):
            kernels.softmax_(kernels.shift_rows(scores))
        else:
            scores -= np.amax(scores, axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
        p = scores
        ctx.save_for_backward(q, k, v)
        ctx.p, ctx.scale = p, scale
        return p @ v._data

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        q, k, v = ctx.saved_tensors
        p, g = ctx.p, grad._data
        dv = _swap(p) @ g if ctx.needs_input_grad[2] else None
        dp = g @ _swap(v._data)
        # softmax backward: ds = p * (dp - sum(dp * p))
        ds = p * (dp - np.sum(dp * p, axis=-1, keepdims=True))
        dbias = Tensor._wrap(ds.copy()) if ctx.needs_input_grad[3] else None
        ds *= p.dtype.type(ctx.scale)
        dq = ds @ k._data if ctx.needs_input_grad[0] else None
        dk = _swap(ds) @ q._data if ctx.needs_input_grad[1] else None
        wrap = lambda a: None if a is None else Tensor._wrap(a)
        return wrap(dq), wrap(dk), wrap(dv), dbias, None, None

__all__ = ["scaled_dot_product_attention"]


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None = None,
                                 dropout_p: float = 0.0, is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """Attention over the last two dims of (..., L, E) queries and (..., S, E) keys / (..., S, Ev) values.

    ``attn_mask`` is boolean (``True`` = may attend) or float (added to the scores) and broadcasts to
    (..., L, S); ``is_causal`` masks out future keys; ``scale`` defaults to ``1 / sqrt(E)``.

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> q = k = v = ember.randn(2, 4, 5, 8)
        >>> F.scaled_dot_product_attention(q, k, v, is_causal=True).shape
        ember.Size([2, 4, 5, 8])
    """
    if is_causal and attn_mask is not None:
        raise RuntimeError("scaled_dot_product_attention: explicit attn_mask should not be set when is_causal=True")
    if query.shape[-1] != key.shape[-1]:
        raise RuntimeError(f"scaled_dot_product_attention: query of shape {tuple(query.shape)} and key of shape "
                           f"{tuple(key.shape)} must have the same embedding size")
    length, source = query.shape[-2], key.shape[-2]
    if enable_gqa and query.ndim >= 3 and key.shape[-3] != query.shape[-3]:
        repeats = query.shape[-3] // key.shape[-3]
        key = _repeat_heads(key, repeats)
        value = _repeat_heads(value, repeats)
    factor = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    if dropout_p == 0 and query.dtype == key.dtype == value.dtype:
        bias = blocked = None
        if is_causal:
            blocked = ~np.tril(np.ones((length, source), dtype=bool))
        elif attn_mask is not None:
            if attn_mask._data.dtype == np.bool_:
                blocked = ~attn_mask._data
            else:
                bias = attn_mask
        return Attention.apply(query, key, value, bias, blocked, factor)
    scores = (query * factor) @ key.transpose(-2, -1)
    if is_causal:
        allowed = np.tril(np.ones((length, source), dtype=bool))
        scores = scores.masked_fill(Tensor._wrap(~allowed), float("-inf"))
    elif attn_mask is not None:
        if attn_mask._data.dtype == np.bool_:
            scores = scores.masked_fill(attn_mask.logical_not(), float("-inf"))
        else:
            scores = scores + attn_mask
    weights = softmax(scores, -1)
    if dropout_p > 0:
        weights = dropout(weights, dropout_p, True)
    return weights @ value


def _repeat_heads(x: Tensor, repeats: int) -> Tensor:
    shape = tuple(x.shape)
    expanded = x.unsqueeze(-3).expand(shape[:-2] + (repeats,) + shape[-2:])
    return expanded.reshape(shape[:-3] + (shape[-3] * repeats,) + shape[-2:])
