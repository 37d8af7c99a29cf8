"""Batching rules: each calls its op once on the whole batch (see ``_batching`` for the representation).

A rule receives the op's arguments as ``Function.apply`` got them (batched tensors among them) and returns
the op's result on the batch, batch dimension first, or NotImplemented to have the op run once per sample.
"""

from __future__ import annotations

import importlib
import string

import numpy as np

from ..autograd.function import Function
from ..tensor import Tensor
from ._batching import (
    _RULES,
    BatchedArray,
    _batch_size,
    _expanded,
    _ndim,
    _pad,
    _padded_array,
    _unwrap,
    dispatch,
    level_of,
)


def _broadcasting(cls, level, args, kwargs):
    """Elementwise ops (and matmul, tril/triu): batches padded to a common rank broadcast as samples do."""
    rank = max(_ndim(a) for a in args)
    new = []
    for a in args:
        physical = _unwrap(a, level)
        new.append(a if physical is None else _pad(physical, _ndim(a), rank))
    return cls.apply(*new, **kwargs)


def _shift(dim):
    if isinstance(dim, (tuple, list)):
        return tuple(int(d) + 1 for d in dim)
    return int(dim) + 1


def _dims_at(*positions):
    """Ops with one (batched) tensor whose dimension arguments, at ``positions``, are non-negative."""

    def rule(cls, level, args, kwargs):
        args = list(args)
        if any(args[p] is None for p in positions) or _unwrap(args[0], level) is None or args[0].ndim == 0:
            return NotImplemented  # (dim 0 of a 0-d sample is no axis of the batch: per sample)
        args[0] = _unwrap(args[0], level)
        for p in positions:
            args[p] = _shift(args[p])
        return cls.apply(*args, **kwargs)

    return rule


def _reshape(cls, level, args, kwargs):
    a, shape = args
    physical = _unwrap(a, level)
    return cls.apply(physical, (physical.shape[0],) + tuple(shape))


def _expand(cls, level, args, kwargs):
    a, shape = args
    physical = _pad(_unwrap(a, level), a.ndim, len(shape))
    return cls.apply(physical, (physical.shape[0],) + tuple(shape))


def _repeat(cls, level, args, kwargs):
    a, repeats = args
    physical = _pad(_unwrap(a, level), a.ndim, len(repeats))
    return cls.apply(physical, (1,) + tuple(repeats))


def _permute(cls, level, args, kwargs):
    a, dims = args
    return cls.apply(_unwrap(a, level), (0,) + _shift(dims))


def _slice(cls, level, args, kwargs):
    a, index = args
    return cls.apply(_unwrap(a, level), (slice(None),) + tuple(index))


def _joining(cls, level, args, kwargs):  # cat / stack: (dim, *tensors)
    size = _batch_size(args, level)
    return cls.apply(args[0] + 1, *(_expanded(t, level, size) for t in args[1:]))


def _as_strided(cls, level, args, kwargs):
    """Each sample's size, stride and offset count in that sample's own storage, as in torch's vmap: the
    batch is copied into one array whose samples lie ``numel`` apart, and viewed once."""
    a, size, stride, storage_offset = args
    physical = _unwrap(a, level)
    if physical is None:
        return NotImplemented
    physical = physical.clone()  # storage of its own, samples back to back
    numel = int(np.prod(physical.shape[1:], dtype=np.int64))
    offset = 0 if storage_offset is None else int(storage_offset)
    return cls.apply(physical, (physical.shape[0], *size), (numel, *stride), offset)


def _roll(cls, level, args, kwargs):
    a, shifts, dims = args
    if dims is None:  # roll(x) of a flattened sample: along its only dim
        if a.ndim != 1:
            return NotImplemented
        dims = 0
    return cls.apply(_unwrap(a, level), shifts, _shift(dims))


def _prod(cls, level, args, kwargs):
    a, axis, keepdim = args
    physical = _unwrap(a, level)
    if axis is not None:
        return cls.apply(physical, axis + 1, keepdim)
    out = cls.apply(physical.reshape(physical.shape[0], -1), 1, False)
    return out.reshape((out.shape[0],) + (1,) * a.ndim) if keepdim else out


def _pad_widths(cls, level, args, kwargs):
    a, widths, value = args
    return cls.apply(_unwrap(a, level), ((0, 0),) + tuple(widths), value)


def _fold_batch(cls, level, args, kwargs):
    """Ops over (N, ...) inputs that treat each of the N independently (pooling, batch norm in eval mode):
    the samples' N fold into one N when only the input is batched."""
    x, rest = args[0], args[1:]
    physical = _unwrap(x, level)
    if physical is None or any(_unwrap(r, level) is not None for r in rest):
        return NotImplemented
    size, n = physical.shape[0], physical.shape[1]
    out = cls.apply(physical.reshape((size * n,) + tuple(physical.shape[2:])), *rest, **kwargs)
    if isinstance(out, tuple):
        return tuple(o.reshape((size, n) + tuple(o.shape[1:])) for o in out)
    return out.reshape((size, n) + tuple(out.shape[1:]))


def _batch_norm(cls, level, args, kwargs):
    """Batch norm in eval mode is a per-channel affine map: batched inputs fold into its N; batched weights or
    statistics (an ensemble) make each sample's channels channels of their own."""
    x, weight, bias, mean, invstd, training = args
    if training:  # statistics over the sample's own N
        return NotImplemented
    if all(_unwrap(t, level) is None for t in (weight, bias, mean, invstd)):
        return _fold_batch(cls, level, args, kwargs)
    size = _batch_size(args, level)
    n, c, spatial = x.shape[0], x.shape[1], tuple(x.shape[2:])
    x_all = _expanded(x, level, size).movedim(0, 1).reshape((n, size * c) + spatial)
    per_channel = []
    for t in (weight, bias, mean, invstd):
        if t is None or isinstance(t, Tensor):
            per_channel.append(None if t is None else _expanded(t, level, size).reshape(size * c))
            continue
        batch = _unwrap(t, level)
        batch = np.broadcast_to(t, (size,) + t.shape) if batch is None else batch
        if type(batch) is not np.ndarray:  # batched at a lower level too
            return NotImplemented
        per_channel.append(np.ascontiguousarray(batch.reshape(size * c)))
    out = cls.apply(x_all, *per_channel, training)
    return out.reshape((n, size, c) + spatial).movedim(1, 0)


def _diagonal(cls, level, args, kwargs):
    a, offset, d1, d2 = args
    return cls.apply(_unwrap(a, level), offset, d1 + 1, d2 + 1)


def _gather(cls, level, args, kwargs):
    a, dim, index = args
    size = _batch_size(args, level)
    return cls.apply(_expanded(a, level, size), dim + 1, _expanded(index, level, size))


def _is_advanced(i) -> bool:
    return isinstance(i, (np.ndarray, BatchedArray, bool, np.bool_, int, np.integer))


def _index(cls, level, args, kwargs):
    """Advanced indexing ``a[index]``: a batched ``a`` keeps its batch dim first when the index's arrays
    are next to each other; batched index arrays at the front of the index gather per sample."""
    a, index = args
    batched_a = _unwrap(a, level)
    positions = [k for k, i in enumerate(index) if _is_advanced(i)]
    adjacent = positions == list(range(positions[0], positions[-1] + 1)) if positions else True
    batched_index = [k for k, i in enumerate(index) if level_of(i) == level]
    if not batched_index:
        if not adjacent:
            return NotImplemented
        return cls.apply(batched_a, (slice(None),) + tuple(index))
    if positions[0] != 0 or not adjacent or any(getattr(index[k], "dtype", None) == np.bool_ for k in positions):
        return NotImplemented
    size = _batch_size(args, level)
    rank = max(_ndim(index[k]) for k in positions)
    new_index = [_padded_array(i, level, rank) if k in batched_index else i for k, i in enumerate(index)]
    if batched_a is None:
        return cls.apply(a, tuple(new_index))
    rows = np.arange(size).reshape((size,) + (1,) * rank)
    return cls.apply(batched_a, (rows,) + tuple(new_index))


def _einsum(cls, level, args, kwargs):
    equation, *operands = args
    equation = equation.replace(" ", "")
    if "..." in equation or "->" not in equation:
        return NotImplemented
    inputs, output = equation.split("->")
    letter = next(c for c in string.ascii_letters if c not in equation)
    terms, new = inputs.split(","), []
    for term, operand in zip(terms, operands):
        physical = _unwrap(operand, level)
        new.append((term, operand) if physical is None else (letter + term, physical))
    equation = ",".join(t for t, _ in new) + "->" + letter + output
    return cls.apply(equation, *(o for _, o in new))


def _conv(cls, level, args, kwargs):
    """Per-sample convolutions as one: batched inputs fold into the conv's own batch; batched weights
    (an ensemble of models) become groups of one grouped convolution."""
    x, w, b, stride, padding, dilation, groups = args
    bx, bw, bb = _unwrap(x, level), _unwrap(w, level), _unwrap(b, level) if b is not None else None
    if bw is None and bb is None:
        size, n = bx.shape[0], bx.shape[1]
        out = cls.apply(bx.reshape((size * n,) + tuple(bx.shape[2:])), w, b, stride, padding, dilation, groups)
        return out.reshape((size, n) + tuple(out.shape[1:]))
    size = _batch_size(args, level)
    n, c, spatial = x.shape[0], x.shape[1], tuple(x.shape[2:])
    x_all = bx.movedim(0, 1) if bx is not None else x.unsqueeze(1).expand((n, size, c) + spatial)
    w_all = _expanded(w, level, size)
    out_channels = w.shape[0]
    b_all = None if b is None else _expanded(b, level, size).reshape(size * out_channels)
    out = cls.apply(x_all.reshape((n, size * c) + spatial), w_all.reshape((size * out_channels,) + tuple(w.shape[1:])),
                    b_all, stride, padding, dilation, groups * size)
    return out.reshape((n, size, out_channels) + tuple(out.shape[2:])).movedim(1, 0)


def _linear(cls, level, args, kwargs):
    """``nn.Linear``: a batched input is one more leading axis of the op's; batched weights or biases (an
    ensemble of models) are one batched product ``x Wᵀ`` plus the bias, per model."""
    x, w, b = args
    bx, bw, bb = _unwrap(x, level), _unwrap(w, level), _unwrap(b, level) if b is not None else None
    if bw is None and bb is None:
        return cls.apply(bx, w, b)
    size = _batch_size(args, level)
    lead = tuple(x.shape[:-1])
    x_all = bx if bx is not None else x.unsqueeze(0)
    w_all = bw if bw is not None else w.unsqueeze(0)
    out = (x_all.reshape(x_all.shape[0], -1, x.shape[-1]) @ w_all.mT).reshape((size,) + lead + (w.shape[0],))
    if b is None:
        return out
    return out + (bb.reshape((size,) + (1,) * len(lead) + (w.shape[0],)) if bb is not None else b)


def _cross_entropy(cls, level, args, kwargs):
    """Per-sample cross-entropy: the rows of all samples in one call with reduction="none", reduced per sample."""
    x, target, weight, ignore_index, label_smoothing, reduction = args
    if weight is not None and _unwrap(weight, level) is not None:
        return NotImplemented
    size = _batch_size(args, level)
    bx = _expanded(x, level, size)
    m, c = x.shape
    bt = _unwrap(target, level)
    bt = np.broadcast_to(target, (size,) + target.shape) if bt is None else bt
    if type(bt) is not np.ndarray:  # batched at a lower level too
        return NotImplemented
    flat = np.ascontiguousarray(bt.reshape(-1))
    loss = cls.apply(bx.reshape(size * m, c), flat, weight, ignore_index, label_smoothing, "none").reshape(size, m)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum(1)
    valid = bt != ignore_index
    w_t = weight._data[np.where(valid, bt, 0)] if weight is not None else np.ones(bt.shape, x._data.dtype)
    denominator = (w_t * valid).sum(axis=1).astype(x._data.dtype)
    return loss.sum(1) / Tensor._wrap(denominator)


def _nll_loss(cls, level, args, kwargs):
    """Per-sample nll_loss: the rows of all samples in one call with reduction="none", reduced per sample."""
    x, target, weight, ignore_index, reduction = args
    if weight is not None and _unwrap(weight, level) is not None:
        return NotImplemented
    size = _batch_size(args, level)
    bx = _expanded(x, level, size)
    bt = _unwrap(target, level)
    bt = np.broadcast_to(target, (size,) + target.shape) if bt is None else bt
    if type(bt) is not np.ndarray:  # batched at a lower level too
        return NotImplemented
    rows = size * x.shape[0] if x.ndim > 1 else size  # (C,) samples are rows; (N, C, ...) ones are N rows each
    flat = np.ascontiguousarray(bt.reshape((rows,) + bt.shape[2:]))
    loss = cls.apply(bx.reshape((rows,) + tuple(x.shape[1 if x.ndim > 1 else 0:])), flat, weight, ignore_index,
                     "none").reshape(size, -1)
    if reduction == "none":
        return loss.reshape((size,) + tuple(target.shape))
    if reduction == "sum":
        return loss.sum(1)
    valid = bt != ignore_index
    w_t = weight[np.where(valid, bt, 0)] if weight is not None else np.ones(bt.shape, x._data.dtype)
    denominator = (w_t * valid).reshape(size, -1).sum(axis=1).astype(x._data.dtype)
    return loss.sum(1) / Tensor._wrap(denominator)


def _pointwise_loss(cls, level, args, kwargs):
    """mse / l1 / smooth_l1 / huber: the elementwise loss of the whole batch in one call, reduced per sample."""
    x, y, kind, p, reduction = args
    rank = max(_ndim(x), _ndim(y))
    bx, by = _unwrap(x, level), _unwrap(y, level)
    loss = cls.apply(x if bx is None else _pad(bx, x.ndim, rank), y if by is None else _pad(by, y.ndim, rank), kind,
                     p, "none")
    dims = tuple(range(1, loss.ndim))
    if reduction == "none" or not dims:
        return loss
    return loss.sum(dims) if reduction == "sum" else loss.mean(dims)


def _attention(cls, level, args, kwargs):
    """Fused attention broadcasts over leading dims: query, key and value of the whole batch in one call."""
    q, k, v, bias, blocked, scale, keep = args  # keep: a dropout mask, one for every sample
    size = _batch_size(args, level)
    rank = max(q.ndim, k.ndim, v.ndim)
    q, k, v = (_pad(_expanded(t, level, size), t.ndim, rank) for t in (q, k, v))
    if bias is not None and _unwrap(bias, level) is not None:
        bias = _pad(_unwrap(bias, level), bias.ndim, rank)
    if blocked is not None and level_of(blocked) == level:
        blocked = _padded_array(blocked, level, rank)
    return cls.apply(q, k, v, bias, blocked, scale, keep)


def _embedding(cls, level, args, kwargs):
    weight, indices, padding_idx, scale_grad_by_freq, sparse = args
    batch = _unwrap(indices, level)
    if _unwrap(weight, level) is not None or type(batch) is not np.ndarray:
        return NotImplemented
    return cls.apply(weight, batch, padding_idx, scale_grad_by_freq, sparse)


def _layer_norm(cls, level, args, kwargs):
    """Layer norm over the last axis; per-sample weights (an ensemble) scale and shift the normalized batch."""
    x, weight, bias, eps = args
    size = _batch_size(args, level)
    if all(t is None or _unwrap(t, level) is None for t in (weight, bias)):
        return cls.apply(_unwrap(x, level), weight, bias, eps)
    out = cls.apply(_expanded(x, level, size), None, None, eps)
    if weight is not None:
        out = out * _pad(_expanded(weight, level, size), 1, x.ndim)
    if bias is not None:
        out = out + _pad(_expanded(bias, level, size), 1, x.ndim)
    return out


_BROADCASTING = {
    "ember.ops._op": "Stepwise",
    "ember.ops.cast": "Cast Clone",
    "ember.ops.arithmetic": "Add Sub Mul Div Neg Pow Abs Reciprocal Clamp Extremum Where",
    "ember.ops.unary": "Exp Expm1 Log Log1p Log2 Sqrt Rsqrt Sin Cos Tan Erf Asin Acos Atan Sinh Cosh Asinh "
                       "Acosh Atanh Exp2",
    "ember.ops.activation": "Tanh Sigmoid Relu LeakyRelu Elu Gelu Silu Hardtanh",
    "ember.ops.pointwise": "Atan2 Hypot Copysign LogAddExp NanToNum",
    "ember.ops.special": "Lgamma Digamma Polygamma Igamma Erfinv Ndtri I0 I0e I1 I1e Xlogy",
    "ember.ops.complex_ops": "Conj Real Imag Complex Angle Sgn ViewAsReal ViewAsComplex",
    "ember.ops.reduce": "_SafeSqrt",
    "ember.ops.linalg": "MatMul",
    "ember.ops.shape": "Triangle",
    "ember.nn.functional.dropout": "MaskMul",
}
_NAMED_RULES = {
    "ember.ops.reduce": {"Sum": _dims_at(1), "Mean": _dims_at(1), "Prod": _prod, "MaxMin": _dims_at(1)},
    "ember.ops.cumulative": {"Cumsum": _dims_at(1), "Cumprod": _dims_at(1), "LogCumSumExp": _dims_at(1)},
    "ember.ops.softmax": {"Softmax": _dims_at(1), "LogSoftmax": _dims_at(1)},
    "ember.ops.shape": {"Reshape": _reshape, "Permute": _permute, "Expand": _expand, "Slice": _slice,
                        "Flip": _dims_at(1), "Roll": _roll},
    "ember.ops.construction": {"Repeat": _repeat},
    "ember.ops.joining": {"Cat": _joining, "Stack": _joining},
    "ember.ops.index": {"Index": _index},
    "ember.ops.gather_scatter": {"Gather": _gather},
    "ember.ops.diagonals": {"Diagonal": _diagonal},
    "ember.nn.functional.conv": {"ConvNd": _conv},
    "ember.ops.linalg": {"Einsum": _einsum, "Linear": _linear},
    "ember.nn.functional.loss": {"CrossEntropy": _cross_entropy, "NllLoss": _nll_loss,
                                 "PointwiseLoss": _pointwise_loss},
    "ember.nn.functional.embedding": {"Embedding": _embedding},
    "ember.nn.functional.attention": {"Attention": _attention},
    "ember.nn.functional.norm": {"LayerNorm": _layer_norm, "BatchNorm": _batch_norm},
    "ember.nn.functional.pooling": {"MaxPool": _fold_batch, "AvgPool": _fold_batch, "AdaptivePool": _fold_batch},
    "ember.nn.functional.sampling": {"ConstantPad": _pad_widths},
    "ember._toplevel": {"AsStrided": _as_strided},
}


def install() -> None:
    """Fills the rule table (once) and turns the dispatch hook of ``Function.apply`` on."""
    if not _RULES:
        for module_name, names in _BROADCASTING.items():
            module = importlib.import_module(module_name)  # by name: nn.functional's modules are shadowed
            for name in names.split():  # (a name that is gone fails here, not silently per sample)
                _RULES[getattr(module, name)] = _broadcasting
        for module_name, rules in _NAMED_RULES.items():
            module = importlib.import_module(module_name)
            for name, rule in rules.items():
                _RULES[getattr(module, name)] = rule
    Function._batching_hook = staticmethod(dispatch)


def uninstall() -> None:
    Function._batching_hook = None
