"""Attention: ``scaled_dot_product_attention`` (``softmax(Q K^T * scale + mask) V`` with dropout on the
weights) and ``multi_head_attention_forward``, the function ``nn.MultiheadAttention`` runs (PyTorch's).

The fused ops' backwards are raw kernels; while a graph of the backward is recorded (``create_graph=True``:
gradient penalties, double backprop) they differentiate the op restated in ops instead (the forward's dropout
mask reused), so that the gradients can be differentiated again."""

from __future__ import annotations

import math
import warnings

import numpy as np

from ...autograd.engine import restated_grads
from ...autograd.function import Function, unchanged_input
from ...autograd.grad_mode import state
from ...ops._op import Op
from ...ops.arithmetic import where
from ...ops.joining import cat
from ...tensor import Tensor
from .activation import softmax
from .conv import linear
from .dropout import _keep_mask, dropout
from .sampling import pad


def _swap(a: np.ndarray) -> np.ndarray:
    return np.swapaxes(a, -1, -2)


_FAST_DTYPES = (np.float32, np.float64)  # the dtypes of the threaded kernels (ember.kernels.attention)


class Attention(Op):
    """``dropout(softmax(q k^T * scale + bias)) v`` in one op: ``bias`` is an additive float mask (a Tensor,
    may need a gradient), ``blocked`` a constant boolean array of positions that may not attend and ``keep``
    a constant dropout mask already scaled by ``1 / (1 - p)`` (or None). A row that may attend nowhere gets
    zero weights, as PyTorch's safe softmax gives (not NaN). float32 / float64 run ``kernels.attention``
    (the batch shared between threads), other dtypes numpy."""

    @staticmethod
    def forward(ctx, q, k, v, bias, blocked, scale, keep):
        ctx.save_for_backward(q, k, v)
        ctx.scale, ctx.keep, ctx.blocked = scale, keep, blocked
        ctx.bias = None if bias is None else (bias, bias._vc[0])  # for a recorded backward only
        qd, kd, vd = q._data, k._data, v._data
        batch = np.broadcast_shapes(qd.shape[:-2], kd.shape[:-2], vd.shape[:-2])
        weights = batch + (qd.shape[-2], kd.shape[-2])
        ctx.fast = (qd.dtype in _FAST_DTYPES and kd.dtype == vd.dtype == qd.dtype
                    and min(qd.size, kd.size, vd.size) > 0
                    and (bias is None or (bias._data.dtype == qd.dtype
                                          and np.broadcast_shapes(bias._data.shape, weights) == weights)))
        if not ctx.fast:
            ctx.p = _weights_numpy(qd, kd, bias, blocked, scale)
            return (ctx.p if keep is None else ctx.p * keep) @ vd
        from ...kernels import attention as kernels  # numba loads on first use, not at `import ember`

        full = _full_batch(batch)
        qb, kb, vb = (np.broadcast_to(a, full + a.shape[-2:]) for a in (qd, kd, vd))
        bias_b, blocked_b, keep_b = (None if a is None else np.broadcast_to(a, full + weights[-2:])
                                     for a in (None if bias is None else bias._data, blocked, keep))
        out = np.empty(full + (qd.shape[-2], vd.shape[-1]), qd.dtype)
        ctx.p = kernels.forward(qb, kb, vb, scale, bias_b, blocked_b, keep_b, out)
        return out.reshape(batch + out.shape[-2:])

    @staticmethod
    def backward(ctx, grad):
        q, k, v = ctx.saved_tensors
        needs = ctx.needs_input_grad
        if state.grad_enabled:  # create_graph: restated in ops, differentiable again
            bias = None if ctx.bias is None else unchanged_input(ctx, *ctx.bias)
            restate = lambda q, k, v, bias: _attention_ops(q, k, v, bias, ctx.blocked, ctx.scale, ctx.keep)
            return restated_grads(restate, (q, k, v, bias), needs[:4], grad) + (None,) * 3
        if not ctx.fast:
            return _attention_backward_numpy(ctx, q._data, k._data, v._data, grad._data)
        from ...kernels import attention as kernels

        qd, kd, vd, p = q._data, k._data, v._data, ctx.p
        full = p.shape[:-2]
        qb, kb, vb = (np.broadcast_to(a, full + a.shape[-2:]) for a in (qd, kd, vd))
        g = grad._data.reshape(full + grad._data.shape[-2:])
        dq, dk, dv = (np.empty(full + a.shape[-2:], a.dtype) if need else None
                      for a, need in zip((qd, kd, vd), needs[:3]))
        dbias = np.empty(p.shape, p.dtype) if needs[3] else None
        keep = None if ctx.keep is None else np.broadcast_to(ctx.keep, p.shape)
        kernels.backward(qb, kb, vb, p, keep, g, ctx.scale, dq, dk, dv, dbias)
        batch = np.broadcast_shapes(qd.shape[:-2], kd.shape[:-2], vd.shape[:-2])
        wrap = lambda a: None if a is None else Tensor._wrap(a.reshape(batch + a.shape[-2:]))
        return wrap(dq), wrap(dk), wrap(dv), wrap(dbias), None, None, None


def _attention_ops(q: Tensor, k: Tensor, v: Tensor, bias: Tensor | None, blocked, scale: float, keep) -> Tensor:
    """``Attention``'s forward in differentiable ops: the same safe softmax (a row that may attend nowhere gets
    zero weights) and the forward's dropout mask ``keep``."""
    scores = (q @ k.transpose(-2, -1)) * scale
    if bias is not None:
        scores = scores + bias
    if blocked is not None:
        scores = where(Tensor._wrap(blocked), Tensor._wrap(np.array(-np.inf, scores._data.dtype)), scores)
    dead = None
    if bias is not None or blocked is not None:
        dead = np.isneginf(scores._data).all(axis=-1, keepdims=True)
        dead = Tensor._wrap(dead) if dead.any() else None
    if dead is not None:
        scores = scores.masked_fill(dead, 0.0)
    weights = softmax(scores, dim=-1)
    if dead is not None:
        weights = weights.masked_fill(dead, 0.0)
    if keep is not None:
        weights = weights * Tensor._wrap(keep)
    return weights @ v


def _full_batch(batch: tuple) -> tuple:
    """The kernels' leading axes: ``batch``, or one axis of 1 for unbatched (2-D) operands."""
    return batch if batch else (1,)


def _weights_numpy(qd, kd, bias, blocked, scale):
    """``softmax(q k^T * scale + bias)`` with blocked positions at -inf, all -inf rows as zeros (numpy)."""
    dtype = qd.dtype
    scores = qd @ _swap(kd)
    scores *= dtype.type(scale)
    if bias is not None:
        scores = scores + bias._data
    if blocked is not None:
        scores = np.where(blocked, dtype.type(-np.inf), scores)
    dead = np.isneginf(scores).all(axis=-1) if blocked is not None or bias is not None else None
    with np.errstate(invalid="ignore"):
        scores -= np.amax(scores, axis=-1, keepdims=True)
    np.exp(scores, out=scores)
    scores /= scores.sum(axis=-1, keepdims=True)
    if dead is not None and dead.any():
        scores[dead] = 0  # rows with every score -inf
    return scores


def _attention_backward_numpy(ctx, qd, kd, vd, g):
    p, keep, needs = ctx.p, ctx.keep, ctx.needs_input_grad
    dv = _swap(p if keep is None else p * keep) @ g if needs[2] else None
    dp = g @ _swap(vd)
    if keep is not None:
        dp *= keep
    # softmax backward: ds = p * (dp - sum(dp * p)), times the scale for q and k
    ds = p * (dp - np.sum(dp * p, axis=-1, keepdims=True))
    dbias = Tensor._wrap(ds.copy()) if needs[3] else None
    ds *= p.dtype.type(ctx.scale)
    dq = ds @ kd if needs[0] else None
    dk = _swap(ds) @ qd if needs[1] else None
    wrap = lambda a: None if a is None else Tensor._wrap(a)
    return wrap(dq), wrap(dk), wrap(dv), dbias, None, None, None


class PackedSelfAttention(Op):
    """Multi-head self-attention straight from the packed input projection ``qkv`` (L, N, 3E), or (N, L, 3E)
    with ``batch_first``, to the heads' merged output (L, N, E) / (N, L, E), in one op: the heads are strided
    views of ``qkv`` and the products write into the output and into one packed gradient, so the heads are
    never split, transposed or merged by copies (``multi_head_attention_forward`` runs it in eager mode;
    a graph capture or ``vmap`` sees chunk, reshape and ``Attention`` instead). ``bias`` (a Tensor),
    ``blocked`` and ``keep`` broadcast to (N, heads, L, L), as ``Attention``'s."""

    @staticmethod
    def forward(ctx, qkv, heads, batch_first, bias, blocked, scale, keep):
        from ...kernels import attention as kernels  # numba loads on first use, not at `import ember`

        ctx.save_for_backward(qkv)
        data = np.ascontiguousarray(qkv._data)
        q, k, v = _packed_heads(data, heads, batch_first)
        out = np.empty(data.shape[:-1] + (data.shape[-1] // 3,), data.dtype)
        weights = q.shape[:-1] + (k.shape[-2],)
        bias_b, blocked_b, keep_b = (None if a is None else np.broadcast_to(a, weights)
                                     for a in (None if bias is None else bias._data, blocked, keep))
        ctx.p = kernels.forward(q, k, v, scale, bias_b, blocked_b, keep_b, _heads_view(out, heads, batch_first))
        ctx.heads, ctx.batch_first, ctx.scale, ctx.keep = heads, batch_first, scale, keep_b
        ctx.blocked, ctx.bias = blocked, None if bias is None else (bias, bias._vc[0])  # for a recorded backward
        return out

    @staticmethod
    def meta(ctx, qkv, heads, batch_first, bias, blocked, scale, keep):  # meta operands: the shape only
        shape = qkv._data.shape
        return np.broadcast_to(np.zeros((), qkv._data.dtype), shape[:-1] + (shape[-1] // 3,))

    @staticmethod
    def backward(ctx, grad):
        from ...kernels import attention as kernels

        heads, batch_first = ctx.heads, ctx.batch_first
        (qkv,) = ctx.saved_tensors
        if state.grad_enabled:  # create_graph: restated in ops, differentiable again
            bias = None if ctx.bias is None else unchanged_input(ctx, *ctx.bias)
            restate = lambda qkv, bias: _packed_attention_ops(qkv, heads, batch_first, bias, ctx.blocked, ctx.scale,
                                                              ctx.keep)
            needs = ctx.needs_input_grad
            grad_qkv, grad_bias = restated_grads(restate, (qkv, bias), (needs[0], needs[3]), grad)
            return grad_qkv, None, None, grad_bias, None, None, None
        packed = np.ascontiguousarray(qkv._data)
        dqkv = np.empty_like(packed) if ctx.needs_input_grad[0] else None
        dq, dk, dv = (None, None, None) if dqkv is None else _packed_heads(dqkv, heads, batch_first)
        dbias = np.empty_like(ctx.p) if ctx.needs_input_grad[3] else None
        q, k, v = _packed_heads(packed, heads, batch_first)
        g = _heads_view(grad._data, heads, batch_first)
        kernels.backward(q, k, v, ctx.p, ctx.keep, g, ctx.scale, dq, dk, dv, dbias)
        wrap = lambda a: None if a is None else Tensor._wrap(a)
        return wrap(dqkv), None, None, wrap(dbias), None, None, None


def _packed_attention_ops(qkv: Tensor, heads: int, batch_first: bool, bias, blocked, scale: float, keep) -> Tensor:
    """``PackedSelfAttention``'s forward in differentiable ops: the heads split off ``qkv``, attended, merged."""
    a, b, e3 = qkv.shape
    split = qkv.reshape(a, b, 3, heads, e3 // (3 * heads))
    order = (0, 2, 1, 3) if batch_first else (1, 2, 0, 3)
    q, k, v = (split[:, :, i].permute(*order) for i in range(3))
    out = _attention_ops(q, k, v, bias, blocked, scale, keep)  # (N, heads, L, head_dim)
    return out.permute(*((0, 2, 1, 3) if batch_first else (2, 0, 1, 3))).reshape(a, b, e3 // 3)


def _heads_view(x: np.ndarray, heads: int, batch_first: bool) -> np.ndarray:
    """(L, N, E) or (N, L, E) as (N, heads, L, E / heads), a view where ``x`` allows one (else a copy)."""
    a, b, e = x.shape
    split = x.reshape(a, b, heads, e // heads)
    return split.transpose(0, 2, 1, 3) if batch_first else split.transpose(1, 2, 0, 3)


def _packed_heads(x: np.ndarray, heads: int, batch_first: bool) -> tuple:
    """Views q, k, v (N, heads, L, head_dim) of a C-contiguous packed (L, N, 3E) / (N, L, 3E) array."""
    a, b, e3 = x.shape
    split = x.reshape(a, b, 3, heads, e3 // (3 * heads))
    order = (0, 2, 1, 3) if batch_first else (1, 2, 0, 3)
    return tuple(split[:, :, i].transpose(order) for i in range(3))


__all__ = ["multi_head_attention_forward", "scaled_dot_product_attention"]


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None = None,
                                 dropout_p: float = 0.0, is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """Attention over the last two dims of (..., L, E) queries and (..., S, E) keys / (..., S, Ev) values; the
    leading dims broadcast.

    ``attn_mask`` is boolean (``True`` = may attend) or float (added to the scores) and broadcasts to
    (..., L, S); ``is_causal`` masks out future keys (top-left aligned when L != S; not with ``attn_mask``);
    ``scale`` defaults to ``1 / sqrt(E)``. ``dropout_p`` drops attention weights with Ember's default
    generator (``ember.manual_seed`` repeats it) and scales the rest by ``1 / (1 - dropout_p)``; pass 0 in
    evaluation, as PyTorch's users do. ``enable_gqa`` (grouped-query attention) repeats each of the key's and
    value's heads (dim -3) to match the query's, whose number they must divide.

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> q = ember.randn(2, 8, 5, 16)
        >>> k = v = ember.randn(2, 2, 5, 16)  # 2 key/value heads shared by 8 query heads
        >>> F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True).shape
        ember.Size([2, 8, 5, 16])
    """
    _check_attention_inputs(query, key, value, attn_mask, dropout_p)
    if is_causal and attn_mask is not None:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True")
    if enable_gqa and query.ndim >= 3:
        heads, key_heads, value_heads = query.shape[-3], key.shape[-3], value.shape[-3]
        if heads % key_heads or heads % value_heads:
            raise RuntimeError("Number of heads in key and value must divide the number of heads in query: got "
                               f"query {tuple(query.shape)}, key {tuple(key.shape)}, value {tuple(value.shape)}")
        key = _repeat_heads(key, heads // key_heads)
        value = _repeat_heads(value, heads // value_heads)
    batch = _broadcast_batch(query, key, value, enable_gqa)
    length, source = query.shape[-2], key.shape[-2]
    bias = blocked = None
    if attn_mask is not None:
        try:
            np.broadcast_shapes(tuple(attn_mask.shape), batch + (length, source))
        except ValueError:
            raise RuntimeError(f"scaled_dot_product_attention: attn_mask of shape {tuple(attn_mask.shape)} does not "
                               f"broadcast to the attention weights' shape {batch + (length, source)}") from None
        if attn_mask._data.dtype == np.bool_:
            blocked = ~attn_mask._data
        else:
            bias = attn_mask
    if is_causal:
        blocked = ~np.tril(np.ones((length, source), dtype=bool))
    keep = None
    if dropout_p > 0:
        keep = _keep_mask(batch + (length, source), dropout_p, query._data.dtype)
    factor = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    return Attention.apply(query, key, value, bias, blocked, factor, keep)


def _check_attention_inputs(query, key, value, attn_mask, dropout_p) -> None:
    """PyTorch's argument checks, with its messages (and the shapes at fault)."""
    if min(query.ndim, key.ndim, value.ndim) < 2:
        raise RuntimeError(f"Expected query, key, and value to all be  at least 2 dimensional, but got query.dim: "
                           f"{query.ndim} key.dim: {key.ndim} and value.dim: {value.ndim} instead.")
    if not query.dtype == key.dtype == value.dtype:
        raise RuntimeError(f"Expected query, key, and value to have the same dtype, but got query.dtype: "
                           f"{query.dtype} key.dtype: {key.dtype} and value.dtype: {value.dtype} instead.")
    if query._data.dtype.kind != "f":
        raise RuntimeError(f"scaled_dot_product_attention: expected floating point query, key and value, got "
                           f"{query.dtype}")
    if attn_mask is not None and attn_mask._data.dtype not in (np.bool_, query._data.dtype):
        raise RuntimeError(f"Expected attn_mask dtype to be bool or float or to match query dtype, but got "
                           f"attn_mask.dtype: {attn_mask.dtype} and  query.dtype: {query.dtype} instead.")
    if not 0.0 <= dropout_p <= 1.0:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {dropout_p}")
    if query.shape[-1] != key.shape[-1]:
        raise RuntimeError(f"scaled_dot_product_attention: query of shape {tuple(query.shape)} and key of shape "
                           f"{tuple(key.shape)} must have the same embedding size (last dim)")
    if key.shape[-2] != value.shape[-2]:
        raise RuntimeError(f"scaled_dot_product_attention: key of shape {tuple(key.shape)} and value of shape "
                           f"{tuple(value.shape)} must have the same sequence length (dim -2)")


def _broadcast_batch(query, key, value, enable_gqa) -> tuple:
    try:
        return np.broadcast_shapes(tuple(query.shape[:-2]), tuple(key.shape[:-2]), tuple(value.shape[:-2]))
    except ValueError:
        hint = "" if enable_gqa else " (for fewer key/value heads than query heads pass enable_gqa=True)"
        raise RuntimeError(f"scaled_dot_product_attention: the batch dims of query {tuple(query.shape)}, key "
                           f"{tuple(key.shape)} and value {tuple(value.shape)} do not broadcast{hint}") from None


def _repeat_heads(x: Tensor, repeats: int) -> Tensor:
    """``x.repeat_interleave(repeats, dim=-3)``: each head ``repeats`` times in a row, as PyTorch's GQA."""
    if repeats == 1:
        return x
    shape = tuple(x.shape)
    expanded = x.unsqueeze(-3).expand(shape[:-2] + (repeats,) + shape[-2:])
    return expanded.reshape(shape[:-3] + (shape[-3] * repeats,) + shape[-2:])


def multi_head_attention_forward(
    query: Tensor, key: Tensor, value: Tensor, embed_dim_to_check: int, num_heads: int,
    in_proj_weight: Tensor | None, in_proj_bias: Tensor | None, bias_k: Tensor | None, bias_v: Tensor | None,
    add_zero_attn: bool, dropout_p: float, out_proj_weight: Tensor, out_proj_bias: Tensor | None,
    training: bool = True, key_padding_mask: Tensor | None = None, need_weights: bool = True,
    attn_mask: Tensor | None = None, use_separate_proj_weight: bool = False, q_proj_weight: Tensor | None = None,
    k_proj_weight: Tensor | None = None, v_proj_weight: Tensor | None = None, static_k: Tensor | None = None,
    static_v: Tensor | None = None, average_attn_weights: bool = True, is_causal: bool = False,
) -> tuple[Tensor, Tensor | None]:
    """Multi-head attention with explicit parameters (PyTorch's functional form of ``nn.MultiheadAttention``).

    ``query`` (L, N, E) or unbatched (L, E); ``key`` / ``value`` (S, N, Ek / Ev). Projections are
    ``in_proj_weight`` (3E, E) or, with ``use_separate_proj_weight``, ``q/k/v_proj_weight``; ``bias_k`` /
    ``bias_v`` (1, 1, E) append one key and value, ``add_zero_attn`` a zero one; ``static_k`` / ``static_v``
    (N * num_heads, S, E / num_heads) replace the projected keys / values. Masks: ``key_padding_mask`` (N, S)
    and ``attn_mask`` (L, S) or (N * num_heads, L, S), bool (``True`` = may *not* attend) or float (added).
    ``is_causal`` is only a hint and needs ``attn_mask``. Returns ``(attn_output (L, N, E), attn_weights)``,
    the weights (N, L, S) averaged over heads (or (N, num_heads, L, S)) if ``need_weights``, else None.

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> E, H = 8, 2
        >>> x = ember.randn(5, 3, E)
        >>> w_in, w_out = ember.randn(3 * E, E), ember.randn(E, E)
        >>> out, weights = F.multi_head_attention_forward(x, x, x, E, H, w_in, None, None, None, False, 0.0,
        ...                                               w_out, None)
        >>> out.shape, weights.shape
        (ember.Size([5, 3, 8]), ember.Size([3, 5, 5]))
    """
    batched = _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not batched:  # a batch of one in dim 1, dropped again at the end
        same_qk, same_kv = query is key, key is value
        query = query.unsqueeze(1)
        key = query if same_qk else key.unsqueeze(1)
        value = key if same_kv else value.unsqueeze(1)
        key_padding_mask = None if key_padding_mask is None else key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    dtype = query._data.dtype
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", attn_mask, "attn_mask", dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the Transformer module "
                           "method `generate_square_subsequent_mask` to create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None  # scaled_dot_product_attention applies the causal mask itself
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", None, "", dtype)
        if key_padding_mask is not None:
            is_causal = False  # the merged mask is no longer causal
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if (query is key and key is value and not use_separate_proj_weight and in_proj_weight is not None
            and bias_k is None and bias_v is None and not add_zero_attn and static_k is None and static_v is None
            and not need_weights and dtype in _FAST_DTYPES and query._data.size > 0
            and all(m is None or m._data.dtype == dtype for m in (attn_mask, key_padding_mask))
            and Function._batching_hook is None):  # eager: the heads as views (a capture sees the plain ops)
        out = _packed_self_attention(query, num_heads, in_proj_weight, in_proj_bias, out_proj_weight,
                                     out_proj_bias, attn_mask, key_padding_mask, dropout_p if training else 0.0,
                                     is_causal)
        return (out if batched else out.squeeze(1)), None
    if use_separate_proj_weight:
        if key.shape[:2] != value.shape[:2]:
            raise AssertionError(f"key's sequence and batch dims {tuple(key.shape[:2])} do not match value's "
                                 f"{tuple(value.shape[:2])}")
        if q_proj_weight is None or k_proj_weight is None or v_proj_weight is None:
            missing = [n for n, w in (("q", q_proj_weight), ("k", k_proj_weight), ("v", v_proj_weight)) if w is None]
            raise AssertionError(f"use_separate_proj_weight is True but {missing[0]}_proj_weight is None")
        biases = (None, None, None) if in_proj_bias is None else in_proj_bias.chunk(3)
        q, k, v = _in_projection(query, key, value, q_proj_weight, k_proj_weight, v_proj_weight, *biases)
    else:
        if key.shape != value.shape:
            raise AssertionError(f"key shape {tuple(key.shape)} does not match value shape {tuple(value.shape)}")
        if in_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is False but in_proj_weight is None")
        q, k, v = _in_projection_packed(query, key, value, in_proj_weight, in_proj_bias)
    if attn_mask is not None:
        if attn_mask.ndim == 2:
            if tuple(attn_mask.shape) != (tgt_len, src_len):
                raise RuntimeError(f"The shape of the 2D attn_mask is {tuple(attn_mask.shape)}, but should be "
                                   f"{(tgt_len, src_len)}.")
            attn_mask = attn_mask.unsqueeze(0)
        elif attn_mask.ndim == 3:
            if tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, src_len):
                raise RuntimeError(f"The shape of the 3D attn_mask is {tuple(attn_mask.shape)}, but should be "
                                   f"{(bsz * num_heads, tgt_len, src_len)}.")
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.ndim} is not supported")
    if bias_k is not None and bias_v is not None:
        if static_k is not None:
            raise AssertionError("bias cannot be added to static key.")
        if static_v is not None:
            raise AssertionError("bias cannot be added to static value.")
        k = cat([k, bias_k.expand(1, bsz, bias_k.shape[-1])])
        v = cat([v, bias_v.expand(1, bsz, bias_v.shape[-1])])
        attn_mask = None if attn_mask is None else pad(attn_mask, (0, 1))
        key_padding_mask = None if key_padding_mask is None else pad(key_padding_mask, (0, 1))
    elif bias_k is not None or bias_v is not None:
        raise AssertionError("bias_k is set but bias_v is None" if bias_k is not None else
                             "bias_v is set but bias_k is None")
    # (seq, batch * heads, head_dim) -> (batch * heads, seq, head_dim)
    q = q.reshape(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)
    k = _heads_first(k, static_k, "static_k", bsz * num_heads, head_dim)
    v = _heads_first(v, static_v, "static_v", bsz * num_heads, head_dim)
    if add_zero_attn:
        k = cat([k, Tensor._wrap(np.zeros((bsz * num_heads, 1, k.shape[-1]), k._data.dtype))], dim=1)
        v = cat([v, Tensor._wrap(np.zeros((bsz * num_heads, 1, v.shape[-1]), v._data.dtype))], dim=1)
        attn_mask = None if attn_mask is None else pad(attn_mask, (0, 1))
        key_padding_mask = None if key_padding_mask is None else pad(key_padding_mask, (0, 1))
    src_len = k.shape[1]
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (bsz, src_len):
            raise AssertionError(f"expecting key_padding_mask shape of {(bsz, src_len)}, but got "
                                 f"{tuple(key_padding_mask.shape)}")
        padding = key_padding_mask.reshape(bsz, 1, 1, src_len).expand(bsz, num_heads, 1, src_len)
        padding = padding.reshape(bsz * num_heads, 1, src_len)
        attn_mask = padding if attn_mask is None else attn_mask + padding
    if not training:
        dropout_p = 0.0
    if need_weights:
        scores = (q * math.sqrt(1.0 / q.shape[-1])) @ k.transpose(-2, -1)
        if attn_mask is not None:
            scores = scores + attn_mask
        weights = softmax(scores, dim=-1)
        if dropout_p > 0.0:
            weights = dropout(weights, p=dropout_p)
        out = (weights @ v).transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
        out = linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, -1)
        weights = weights.reshape(bsz, num_heads, tgt_len, src_len)
        if average_attn_weights:
            weights = weights.mean(dim=1)
        if not batched:
            out, weights = out.squeeze(1), weights.squeeze(0)
        return out, weights
    if attn_mask is not None:
        if attn_mask.shape[0] == 1 and attn_mask.ndim == 3:
            attn_mask = attn_mask.unsqueeze(0)
        else:
            attn_mask = attn_mask.reshape(bsz, num_heads, -1, src_len)
    q = q.reshape(bsz, num_heads, tgt_len, head_dim)
    k = k.reshape(bsz, num_heads, src_len, head_dim)
    v = v.reshape(bsz, num_heads, src_len, v.shape[-1])
    out = scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal)
    out = out.permute(2, 0, 1, 3).reshape(bsz * tgt_len, embed_dim)
    out = linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, -1)
    return (out if batched else out.squeeze(1)), None


def _packed_self_attention(x, num_heads, in_proj_weight, in_proj_bias, out_proj_weight, out_proj_bias, attn_mask,
                           key_padding_mask, dropout_p, is_causal):
    """Self-attention of ``x`` (L, N, E) through ``PackedSelfAttention``: one input projection, the heads as
    views of it, the output projection; masks checked and merged as the general path does. A seq-first view
    of a batch-first array (``nn.MultiheadAttention(batch_first=True)`` passes one) is projected batch-first,
    so neither projection copies its input."""
    length, bsz, embed_dim = x.shape
    if attn_mask is not None:
        if attn_mask.ndim == 2:
            if tuple(attn_mask.shape) != (length, length):
                raise RuntimeError(f"The shape of the 2D attn_mask is {tuple(attn_mask.shape)}, but should be "
                                   f"{(length, length)}.")
            attn_mask = attn_mask.reshape(1, 1, length, length)
        elif attn_mask.ndim == 3:
            if tuple(attn_mask.shape) != (bsz * num_heads, length, length):
                raise RuntimeError(f"The shape of the 3D attn_mask is {tuple(attn_mask.shape)}, but should be "
                                   f"{(bsz * num_heads, length, length)}.")
            attn_mask = attn_mask.reshape(bsz, num_heads, length, length)
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.ndim} is not supported")
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (bsz, length):
            raise AssertionError(f"expecting key_padding_mask shape of {(bsz, length)}, but got "
                                 f"{tuple(key_padding_mask.shape)}")
        padding = key_padding_mask.reshape(bsz, 1, 1, length)
        attn_mask = padding if attn_mask is None else attn_mask + padding
    blocked = ~np.tril(np.ones((length, length), dtype=bool)) if is_causal and attn_mask is None else None
    keep = _keep_mask((bsz, num_heads, length, length), dropout_p, x._data.dtype) if dropout_p > 0 else None
    batch_first = not x._data.flags.c_contiguous and x._data.transpose(1, 0, 2).flags.c_contiguous
    rows = x.transpose(0, 1) if batch_first else x
    qkv = linear(rows, in_proj_weight, in_proj_bias)
    out = PackedSelfAttention.apply(qkv, num_heads, batch_first, attn_mask, blocked,
                                    1.0 / math.sqrt(embed_dim // num_heads), keep)
    out = linear(out, out_proj_weight, out_proj_bias)
    return out.transpose(0, 1) if batch_first else out


def _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads) -> bool:
    """Whether the inputs are batched; PyTorch's checks of their dims."""
    if query.ndim == 3:
        if key.ndim != 3 or value.ndim != 3:
            raise AssertionError(f"For batched (3-D) `query`, expected `key` and `value` to be 3-D but found "
                                 f"{key.ndim}-D and {value.ndim}-D tensors respectively")
        if key_padding_mask is not None and key_padding_mask.ndim != 2:
            raise AssertionError(f"For batched (3-D) `query`, expected `key_padding_mask` to be `None` or 2-D but "
                                 f"found {key_padding_mask.ndim}-D tensor instead")
        if attn_mask is not None and attn_mask.ndim not in (2, 3):
            raise AssertionError(f"For batched (3-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D but "
                                 f"found {attn_mask.ndim}-D tensor instead")
        return True
    if query.ndim == 2:
        if key.ndim != 2 or value.ndim != 2:
            raise AssertionError(f"For unbatched (2-D) `query`, expected `key` and `value` to be 2-D but found "
                                 f"{key.ndim}-D and {value.ndim}-D tensors respectively")
        if key_padding_mask is not None and key_padding_mask.ndim != 1:
            raise AssertionError(f"For unbatched (2-D) `query`, expected `key_padding_mask` to be `None` or 1-D "
                                 f"but found {key_padding_mask.ndim}-D tensor instead")
        if attn_mask is not None:
            if attn_mask.ndim not in (2, 3):
                raise AssertionError(f"For unbatched (2-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D "
                                     f"but found {attn_mask.ndim}-D tensor instead")
            expected = (num_heads, query.shape[0], key.shape[0])
            if attn_mask.ndim == 3 and tuple(attn_mask.shape) != expected:
                raise AssertionError(f"Expected `attn_mask` shape to be {expected} but got {tuple(attn_mask.shape)}")
        return False
    raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but received {query.ndim}-D query "
                         "tensor")


def _canonical_mask(mask, name: str, other, other_name: str, dtype) -> Tensor | None:
    """A bool mask (``True`` = masked out) as an additive float mask of ``dtype`` (-inf where masked); a float
    mask as it is. Mixing a bool and a float mask warns, as in PyTorch."""
    if mask is None:
        return None
    if not isinstance(mask, Tensor):
        mask = Tensor._wrap(np.asarray(mask))
    kind = mask._data.dtype
    if kind != np.bool_ and kind.kind != "f":
        raise AssertionError(f"only bool and floating types of {name} are supported")
    if other is not None and other._data.dtype != kind:
        warnings.warn(f"Support for mismatched {name} and {other_name} is deprecated. Use same type for both "
                      "instead.", stacklevel=3)
    if kind == np.bool_:
        return Tensor._wrap(np.where(mask._data, dtype.type(-np.inf), dtype.type(0)))
    return mask


def _in_projection_packed(q, k, v, w, b):
    """q, k, v projected by the stacked (3E, E) weight: one matmul for self-attention, two when key is value."""
    E = q.shape[-1]
    if k is v:
        if q is k:
            return linear(q, w, b).chunk(3, dim=-1)
        q_proj = linear(q, w[:E], None if b is None else b[:E])
        return (q_proj, *linear(k, w[E:], None if b is None else b[E:]).chunk(2, dim=-1))
    b_q, b_k, b_v = (None, None, None) if b is None else b.chunk(3)
    w_q, w_k, w_v = w.chunk(3)
    return linear(q, w_q, b_q), linear(k, w_k, b_k), linear(v, w_v, b_v)


def _in_projection(q, k, v, w_q, w_k, w_v, b_q=None, b_k=None, b_v=None):
    """q, k, v projected by their own weights, whose shapes are checked as PyTorch does."""
    Eq, Ek, Ev = q.shape[-1], k.shape[-1], v.shape[-1]
    for what, tensor, shape in (("query weights", w_q, (Eq, Eq)), ("key weights", w_k, (Eq, Ek)),
                                ("value weights", w_v, (Eq, Ev)), ("query bias", b_q, (Eq,)),
                                ("key bias", b_k, (Eq,)), ("value bias", b_v, (Eq,))):
        if tensor is not None and tuple(tensor.shape) != shape:
            raise AssertionError(f"expecting {what} shape of {shape}, but got {tuple(tensor.shape)}")
    return linear(q, w_q, b_q), linear(k, w_k, b_k), linear(v, w_v, b_v)


def _heads_first(x: Tensor, static: Tensor | None, name: str, batch_heads: int, head_dim: int) -> Tensor:
    """(S, N, E) -> (N * heads, S, head_dim), or the given static keys / values after checking their shape."""
    if static is None:
        return x.reshape(x.shape[0], batch_heads, head_dim).transpose(0, 1)
    if static.shape[0] != batch_heads:
        raise AssertionError(f"expecting {name}.size(0) of {batch_heads}, but got {static.shape[0]}")
    if static.shape[2] != head_dim:
        raise AssertionError(f"expecting {name}.size(2) of {head_dim}, but got {static.shape[2]}")
    return static
