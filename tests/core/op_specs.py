"""The op table: one entry per differentiable op drives forward, gradcheck, gradgradcheck and
torch-parity tests (PyTorch's OpInfo idea, small). Forward and backward also run with every
subset of the float inputs requiring grad (none, each one, ..., all), against torch and against
the all-inputs run, so list 1-D, 2-D, 3-D+ and broadcasting shapes wherever the op takes them.

``fn(m, *inputs)`` is written once for both libraries: ``m`` is the ``ember`` or the ``torch``
module, and the inputs are that library's tensors, so the same line checks Ember against
torch. ``ref(*arrays)`` is the numpy reference for the forward value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

# Broadcasting pairs from the issue: scalar, (4,), (3, 4), (1, 4), (2, 1, 4).
BINARY_SHAPES = [
    ((), ()),
    ((4,), ()),
    ((), (4,)),
    ((4,), (4,)),
    ((3, 4), (4,)),
    ((3, 4), (1, 4)),
    ((1, 4), (3, 1)),
    ((2, 1, 4), (3, 4)),
    ((3, 4), (2, 1, 4)),
]
UNARY_SHAPES = [(), (4,), (3, 4), (2, 1, 4)]


@dataclass
class OpSpec:
    name: str
    fn: Callable
    ref: Callable | None
    shapes: list  # each item: a tuple of input shapes
    domain: str = "real"  # real | positive | unit | nonzero
    grad: bool = True  # differentiable (gradcheck + gradgradcheck + grad parity)
    gradgrad: bool = True
    int_inputs: dict = field(default_factory=dict)  # position -> (low, high) for integer index inputs
    forward_dtypes: tuple = ("float32", "float64")
    atol: float = 1e-5
    rtol: float = 1e-4
    torch: bool = True  # has a torch counterpart written the same way


def _u(name, fn, ref, **kw):
    return OpSpec(name, fn, ref, [(s,) for s in UNARY_SHAPES], **kw)


def _b(name, fn, ref, **kw):
    return OpSpec(name, fn, ref, BINARY_SHAPES, **kw)


def _F(m):
    """Activations live in ``torch.nn.functional``; Ember's core has them at top level too."""
    return m.nn.functional if m.__name__ == "torch" else m


def _softplus(x):
    return np.logaddexp(0, x)


def _gelu(x):
    from math import erf

    return 0.5 * x * (1 + np.vectorize(erf)(x / np.sqrt(2)))


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


ELEMENTWISE = [
    _b("add", lambda m, a, b: a + b, np.add),
    _b("add_alpha", lambda m, a, b: m.add(a, b, alpha=2.5), lambda a, b: a + 2.5 * b),
    _b("sub", lambda m, a, b: a - b, np.subtract),
    _b("mul", lambda m, a, b: a * b, np.multiply),
    _b("div", lambda m, a, b: a / b, np.divide, domain="nonzero"),
    _b("pow", lambda m, a, b: a**b, np.power, domain="positive"),
    _b("maximum", lambda m, a, b: m.maximum(a, b), np.maximum),
    _b("minimum", lambda m, a, b: m.minimum(a, b), np.minimum),
    _b("where", lambda m, a, b: m.where(a > 0, a, b), lambda a, b: np.where(a > 0, a, b)),
    _b("lerp", lambda m, a, b: m.lerp(a, b, 0.3), lambda a, b: a + 0.3 * (b - a)),
    _b("atan2_like_composite", lambda m, a, b: (a * b).sin() + a.cos() * b, lambda a, b: np.sin(a * b) + np.cos(a) * b),
    _b("remainder", lambda m, a, b: m.remainder(a, b), np.remainder, domain="nonzero"),
    _b("floor_divide", lambda m, a, b: m.floor_divide(a, b), np.floor_divide, domain="nonzero", grad=False),
    _b("eq", lambda m, a, b: m.eq(a, b), np.equal, grad=False),
    _b("lt", lambda m, a, b: a < b, np.less, grad=False),
    _b("ge", lambda m, a, b: a >= b, np.greater_equal, grad=False),
    _b("logical_and", lambda m, a, b: m.logical_and(a > 0, b > 0), lambda a, b: (a > 0) & (b > 0), grad=False),
    _b("logical_or", lambda m, a, b: m.logical_or(a > 0, b > 0), lambda a, b: (a > 0) | (b > 0), grad=False),
    _u("scalar_rsub", lambda m, a: 2.0 - a, lambda a: 2.0 - a),
    _u("scalar_rdiv", lambda m, a: 2.0 / a, lambda a: 2.0 / a, domain="nonzero"),
    _u("scalar_div", lambda m, a: a / 3.0, lambda a: a / 3.0),
    _u("scalar_pow", lambda m, a: a**3, lambda a: a**3),
    _u("scalar_rpow", lambda m, a: 2.0**a, lambda a: 2.0**a),
    _u("neg", lambda m, a: -a, np.negative),
    _u("abs", lambda m, a: a.abs(), np.abs, domain="nonzero"),
    _u("exp", lambda m, a: a.exp(), np.exp),
    _u("expm1", lambda m, a: a.expm1(), np.expm1),
    _u("log", lambda m, a: a.log(), np.log, domain="positive"),
    _u("log1p", lambda m, a: a.log1p(), np.log1p, domain="positive"),
    _u("log2", lambda m, a: a.log2(), np.log2, domain="positive"),
    _u("sqrt", lambda m, a: a.sqrt(), np.sqrt, domain="positive"),
    _u("rsqrt", lambda m, a: a.rsqrt(), lambda a: 1 / np.sqrt(a), domain="positive"),
    _u("sin", lambda m, a: a.sin(), np.sin),
    _u("cos", lambda m, a: a.cos(), np.cos),
    _u("tan", lambda m, a: a.tan(), np.tan, domain="unit"),
    _u("tanh", lambda m, a: a.tanh(), np.tanh),
    _u("sigmoid", lambda m, a: a.sigmoid(), _sigmoid),
    _u("relu", lambda m, a: a.relu(), lambda a: np.maximum(a, 0), domain="nonzero"),
    _u("gelu", lambda m, a: _F(m).gelu(a), _gelu),
    _u("gelu_tanh", lambda m, a: _F(m).gelu(a, approximate="tanh"),
       lambda a: 0.5 * a * (1 + np.tanh(np.sqrt(2 / np.pi) * (a + 0.044715 * a**3)))),
    _u("silu", lambda m, a: _F(m).silu(a), lambda a: a * _sigmoid(a)),
    _u("softplus", lambda m, a: _F(m).softplus(a), _softplus),
    _u("leaky_relu", lambda m, a: _F(m).leaky_relu(a, 0.1), lambda a: np.where(a > 0, a, 0.1 * a),
       domain="nonzero"),
    _u("elu", lambda m, a: _F(m).elu(a), lambda a: np.where(a > 0, a, np.expm1(a)), domain="nonzero"),
    _u("clamp", lambda m, a: a.clamp(-0.5, 0.7), lambda a: np.clip(a, -0.5, 0.7)),
    _u("clamp_min", lambda m, a: a.clamp(min=0.2), lambda a: np.maximum(a, 0.2)),
    _b("clamp_tensor", lambda m, a, b: a.clamp(min=b), np.maximum),
    _u("reciprocal", lambda m, a: a.reciprocal(), lambda a: 1 / a, domain="nonzero"),
    # piecewise constant: recorded in the graph with a zero gradient, as in torch
    _u("sign", lambda m, a: a.sign(), np.sign),
    _u("sgn", lambda m, a: a.sgn(), np.sign),
    _u("floor", lambda m, a: a.floor(), np.floor),
    _u("ceil", lambda m, a: a.ceil(), np.ceil),
    _u("round", lambda m, a: a.round(), np.round),
    _u("trunc", lambda m, a: a.trunc(), np.trunc),
    _u("frac", lambda m, a: a.frac(), lambda a: a - np.trunc(a)),
    _b("fmax", lambda m, a, b: m.fmax(a, b), np.fmax),
    _b("fmin", lambda m, a, b: m.fmin(a, b), np.fmin),
    _u("isnan", lambda m, a: (a.log()).isnan(), lambda a: np.isnan(np.log(a)), grad=False),
    _u("isfinite", lambda m, a: (1 / a.floor()).isfinite(), lambda a: np.isfinite(1 / np.floor(a)), grad=False),
    _u("logical_not", lambda m, a: m.logical_not(a > 0), lambda a: ~(a > 0), grad=False),
]

R3 = [((2, 3, 4),)]
R23 = [((3, 4),), ((2, 3, 4),)]  # reductions over dim 1
R123 = [((5,),), ((3, 4),), ((2, 3, 4),)]  # over every dim, dim 0 or dim -1
REDUCTIONS = [
    OpSpec("sum_all", lambda m, a: a.sum(), np.sum, [((),)] + R123),
    OpSpec("sum_dim", lambda m, a: a.sum(1), lambda a: a.sum(1), R23),
    OpSpec("sum_dims_keepdim", lambda m, a: a.sum((0, 2), keepdim=True), lambda a: a.sum((0, 2), keepdims=True), R3 + [((2, 3, 4, 2),)]),
    OpSpec("sum_neg_dim", lambda m, a: a.sum(-1), lambda a: a.sum(-1), R123),
    OpSpec("mean_all", lambda m, a: a.mean(), np.mean, R123),
    OpSpec("mean_dims", lambda m, a: a.mean((0, -1)), lambda a: a.mean((0, -1)), R23),
    OpSpec("mean_keepdim", lambda m, a: a.mean(1, keepdim=True), lambda a: a.mean(1, keepdims=True), R23),
    OpSpec("prod_all", lambda m, a: a.prod(), np.prod, [((4,),), ((2, 3),), ((2, 3, 2),)]),
    OpSpec("prod_dim", lambda m, a: a.prod(1), lambda a: a.prod(1), [((3, 4),), ((2, 3, 2),)]),
    OpSpec("max_all", lambda m, a: a.max(), np.max, R123),
    OpSpec("max_dim", lambda m, a: a.max(1)[0], lambda a: a.max(1), R23),
    OpSpec("max_dim_indices", lambda m, a: a.max(2, keepdim=True).indices, lambda a: a.argmax(2)[..., None], R3,
           grad=False),
    OpSpec("min_dim", lambda m, a: a.min(-1).values, lambda a: a.min(-1), R123),
    OpSpec("amax", lambda m, a: a.amax((0, 2)), lambda a: a.max((0, 2)), R3),
    OpSpec("amin_keepdim", lambda m, a: a.amin(1, keepdim=True), lambda a: a.min(1, keepdims=True), R23),
    OpSpec("argmax", lambda m, a: a.argmax(1), lambda a: a.argmax(1), R3, grad=False),
    OpSpec("argmin", lambda m, a: a.argmin(), lambda a: a.argmin(), R3, grad=False),
    OpSpec("var", lambda m, a: a.var(1), lambda a: a.var(1, ddof=1), R23),
    OpSpec("var_correction0", lambda m, a: a.var((0, 2), correction=0, keepdim=True),
           lambda a: a.var((0, 2), ddof=0, keepdims=True), R3),
    OpSpec("std", lambda m, a: a.std(), lambda a: a.std(ddof=1), R123),
    OpSpec("std_dim", lambda m, a: a.std(2, correction=2), lambda a: a.std(2, ddof=2), R3),
    OpSpec("logsumexp", lambda m, a: a.logsumexp(1), lambda a: np.log(np.exp(a).sum(1)), R23),
    OpSpec("logsumexp_dims", lambda m, a: m.logsumexp(a, (0, 2), keepdim=True),
           lambda a: np.log(np.exp(a).sum((0, 2), keepdims=True)), R3),
    OpSpec("norm", lambda m, a: a.norm(), lambda a: np.sqrt((a**2).sum()), R123),
    OpSpec("norm_dim", lambda m, a: a.norm(dim=1), lambda a: np.sqrt((a**2).sum(1)), R23),
    OpSpec("norm_p1", lambda m, a: a.norm(p=1, dim=-1), lambda a: np.abs(a).sum(-1), R123, domain="nonzero"),
    OpSpec("norm_p3", lambda m, a: a.norm(p=3, dim=0, keepdim=True),
           lambda a: (np.abs(a) ** 3).sum(0, keepdims=True) ** (1 / 3), R123, domain="nonzero"),
    OpSpec("cumsum", lambda m, a: a.cumsum(1), lambda a: a.cumsum(1), R23),
    OpSpec("cumprod", lambda m, a: a.cumprod(2), lambda a: a.cumprod(2), R3),
    OpSpec("all", lambda m, a: (a > -1).all(1), lambda a: (a > -1).all(1), R3, grad=False),
    OpSpec("any_keepdim", lambda m, a: (a > 1).any(2, keepdim=True), lambda a: (a > 1).any(2, keepdims=True), R3,
           grad=False),
]

S = [((2, 3, 4),)]
SHAPE = [
    OpSpec("reshape", lambda m, a: a.reshape(4, -1), lambda a: a.reshape(4, -1), S),
    OpSpec("view", lambda m, a: a.view(6, 4), lambda a: a.reshape(6, 4), S),
    OpSpec("view_as", lambda m, a: a.view_as(a.sum(0)), lambda a: a.reshape(3, 4), [((1, 3, 4),)]),
    OpSpec("reshape_as", lambda m, a: a.reshape_as(a.flatten(1)), lambda a: a.reshape(2, 12), S),
    OpSpec("type_as", lambda m, a: a.type_as(a * 2), lambda a: a, S),
    OpSpec("flatten", lambda m, a: a.flatten(1), lambda a: a.reshape(2, 12), S),
    OpSpec("unflatten", lambda m, a: a.unflatten(2, (2, 2)), lambda a: a.reshape(2, 3, 2, 2), S),
    OpSpec("permute", lambda m, a: a.permute(2, 0, 1), lambda a: a.transpose(2, 0, 1), S),
    OpSpec("transpose", lambda m, a: a.transpose(0, 2), lambda a: a.swapaxes(0, 2), S),
    OpSpec("swapaxes", lambda m, a: a.swapaxes(1, 2), lambda a: a.swapaxes(1, 2), S),
    OpSpec("T", lambda m, a: a.T, lambda a: a.T, [((3, 4),)]),
    OpSpec("mT", lambda m, a: a.mT, lambda a: a.swapaxes(-1, -2), S),
    OpSpec("squeeze", lambda m, a: a.squeeze(), lambda a: a.squeeze(), [((2, 1, 4, 1),)]),
    OpSpec("squeeze_dim", lambda m, a: a.squeeze(1), lambda a: a.squeeze(1), [((2, 1, 4),)]),
    OpSpec("unsqueeze", lambda m, a: a.unsqueeze(-1), lambda a: a[..., None], S),
    OpSpec("expand", lambda m, a: a.expand(2, 3, 4), lambda a: np.broadcast_to(a, (2, 3, 4)), [((3, 1),)]),
    OpSpec("expand_as", lambda m, a: a[:, :1].expand_as(a), lambda a: np.broadcast_to(a[:, :1], a.shape), S),
    OpSpec("broadcast_to", lambda m, a: a.broadcast_to((2, 3, 4)), lambda a: np.broadcast_to(a, (2, 3, 4)), [((4,),)]),
    OpSpec("repeat", lambda m, a: a.repeat(2, 1, 3), lambda a: np.tile(a, (2, 1, 3)), [((2, 3),)]),
    OpSpec("tile", lambda m, a: a.tile((2,)), lambda a: np.tile(a, (1, 2)), [((2, 3),)]),
    OpSpec("cat", lambda m, a, b: m.cat([a, b], 1), lambda a, b: np.concatenate([a, b], 1),
           [((2, 3), (2, 2)), ((2, 3, 4), (2, 1, 4))]),
    OpSpec("stack", lambda m, a, b: m.stack([a, b], -1), lambda a, b: np.stack([a, b], -1),
           [((3,), (3,)), ((2, 3), (2, 3)), ((2, 3, 4), (2, 3, 4))]),
    OpSpec("split", lambda m, a: a.split([1, 3], 2)[1], lambda a: a[:, :, 1:], S),
    OpSpec("split_size", lambda m, a: a.split(2, 1)[1], lambda a: a[:, 2:], S),
    OpSpec("chunk", lambda m, a: a.chunk(2, 2)[0], lambda a: a[:, :, :2], S),
    OpSpec("unbind", lambda m, a: a.unbind(1)[2], lambda a: a[:, 2], S),
    OpSpec("flip", lambda m, a: a.flip(0, 2), lambda a: a[::-1, :, ::-1], S),
    OpSpec("roll", lambda m, a: a.roll(1, 2), lambda a: np.roll(a, 1, 2), S),
    OpSpec("roll_flat", lambda m, a: a.roll(3), lambda a: np.roll(a, 3), S),
    OpSpec("narrow", lambda m, a: a.narrow(2, 1, 2), lambda a: a[:, :, 1:3], S),
    OpSpec("tril", lambda m, a: a.tril(), np.tril, S),
    OpSpec("triu", lambda m, a: a.triu(1), lambda a: np.triu(a, 1), S),
]

INDEX = [
    OpSpec("getitem_basic", lambda m, a: a[1, 1:, ::2], lambda a: a[1, 1:, ::2], S),
    OpSpec("getitem_none_ellipsis", lambda m, a: a[None, ..., -1], lambda a: a[None, ..., -1], S),
    OpSpec("getitem_int_array", lambda m, a: a[[0, 1, 0], :, [1, 2, 1]], lambda a: a[[0, 1, 0], :, [1, 2, 1]], S),
    OpSpec("getitem_bool", lambda m, a: a[a > 0], lambda a: a[a > 0], S),
    OpSpec("getitem_tensor", lambda m, a, i: a[i], lambda a, i: a[i], [((5, 3), (4,))], int_inputs={1: (0, 5)}),
    OpSpec("gather", lambda m, a, i: a.gather(1, i), lambda a, i: np.take_along_axis(a, i, 1), [((3, 4), (3, 5))],
           int_inputs={1: (0, 4)}),
    OpSpec("scatter", lambda m, a, i, s: a.scatter(1, i, s),
           lambda a, i, s: _scatter(a, i, s), [((3, 4), (3, 1), (3, 1))], int_inputs={1: (0, 4)}),
    OpSpec("scatter_add", lambda m, a, i, s: a.scatter_add(1, i, s), lambda a, i, s: _scatter_add(a, i, s),
           [((3, 4), (3, 5), (3, 5))], int_inputs={1: (0, 4)}),
    OpSpec("index_select", lambda m, a, i: a.index_select(1, i), lambda a, i: a[:, i], [((3, 4), (5,))],
           int_inputs={1: (0, 4)}),
    OpSpec("masked_fill", lambda m, a: a.masked_fill(a > 0.5, -1.0), lambda a: np.where(a > 0.5, -1.0, a), S),
    OpSpec("take_along_dim", lambda m, a, i: m.take_along_dim(a, i, 1), lambda a, i: np.take_along_axis(a, i, 1),
           [((3, 4), (3, 2))], int_inputs={1: (0, 4)}),
    OpSpec("setitem_in_graph", lambda m, a, b: _setitem(a, b), lambda a, b: _setitem_np(a, b),
           [((3, 4), (4,)), ((3, 2, 4), (4,))]),
    OpSpec("gather_3d", lambda m, a, i: a.gather(2, i), lambda a, i: np.take_along_axis(a, i, 2),
           [((2, 3, 4), (2, 3, 5))], int_inputs={1: (0, 4)}),
    # one index per slice (as Categorical.log_prob gathers), also from a leading block of the other axes
    OpSpec("gather_one", lambda m, a, i: a.gather(-1, i),
           lambda a, i: np.take_along_axis(a[tuple(slice(0, n) for n in i.shape[:-1])], i, -1),
           [((3, 4), (3, 1)), ((2, 3, 4), (2, 2, 1))], int_inputs={1: (0, 4)}),
    OpSpec("scatter_add_3d", lambda m, a, i, s: a.scatter_add(2, i, s), lambda a, i, s: _scatter_add(a, i, s, 2),
           [((2, 3, 4), (2, 3, 5), (2, 3, 5))], int_inputs={1: (0, 4)}),
    OpSpec("index_put_3d", lambda m, a, b: _setitem_index(a, b), lambda a, b: _setitem_index(a.copy(), b),
           [((2, 3, 4), (2, 4)), ((2, 3, 4), (4,))]),
]


def _scatter(a, i, s):
    out = a.copy()
    np.put_along_axis(out, i, s, 1)
    return out


def _scatter_add(a, i, s, dim=1):
    out = a.copy()
    for position in np.ndindex(*i.shape):
        target = list(position)
        target[dim] = i[position]
        out[tuple(target)] += s[position]
    return out


def _setitem_index(a, b):
    y = a * 1
    y[:, 1] = b * 2
    return y


def _setitem(a, b):
    y = a * 1
    y[1] = b * 2
    return y


def _setitem_np(a, b):
    y = a.copy()
    y[1] = b * 2
    return y


LINALG = [
    OpSpec("matmul", lambda m, a, b: a @ b, np.matmul, [((3, 4), (4, 2)), ((2, 3, 4), (4, 2)), ((4,), (4, 3)),
                                                          ((3, 4), (4,)), ((4,), (4,)), ((2, 1, 3, 4), (3, 4, 2))]),
    OpSpec("matmul_broadcast_batch", lambda m, a, b: a @ b, np.matmul,
           [((2, 3, 4), (2, 4, 2)), ((1, 3, 4), (2, 4, 2)), ((2, 3, 4), (1, 4, 2)), ((4,), (2, 4, 3)),
            ((2, 3, 4), (4,)), ((3, 4), (2, 4, 2))]),
    OpSpec("mm", lambda m, a, b: m.mm(a, b), np.matmul, [((3, 4), (4, 2))]),
    OpSpec("bmm", lambda m, a, b: m.bmm(a, b), np.matmul, [((2, 3, 4), (2, 4, 2))]),
    OpSpec("dot", lambda m, a, b: m.dot(a, b), np.dot, [((4,), (4,))]),
    OpSpec("outer", lambda m, a, b: m.outer(a, b), np.outer, [((3,), (4,))]),
    OpSpec("einsum_matmul", lambda m, a, b: m.einsum("ij,jk->ik", a, b), lambda a, b: a @ b, [((3, 4), (4, 2))]),
    OpSpec("einsum_batch", lambda m, a, b: m.einsum("bij,bkj->bik", a, b),
           lambda a, b: np.einsum("bij,bkj->bik", a, b), [((2, 3, 4), (2, 2, 4))]),
    OpSpec("einsum_trace", lambda m, a: m.einsum("ii->", a), np.trace, [((3, 3),)]),
    OpSpec("einsum_diag", lambda m, a: m.einsum("iij->ji", a), lambda a: np.einsum("iij->ji", a), [((3, 3, 2),)]),
    OpSpec("einsum_3d_broadcast", lambda m, a, b: m.einsum("bij,jk->bik", a, b),
           lambda a, b: np.einsum("bij,jk->bik", a, b), [((2, 3, 4), (4, 2))]),
    OpSpec("einsum_sum_axis", lambda m, a, b: m.einsum("ij,k->ik", a, b), lambda a, b: np.einsum("ij,k->ik", a, b),
           [((3, 4), (2,))]),
]

def _softmax_np(a, axis):
    e = np.exp(a - a.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


SORTING = [
    OpSpec("sort_values", lambda m, a: a.sort(1).values, lambda a: np.sort(a, 1), R23),
    OpSpec("sort_descending", lambda m, a: a.sort(-1, descending=True)[0], lambda a: -np.sort(-a, -1), R123),
    OpSpec("argsort", lambda m, a: a.argsort(0), lambda a: np.argsort(a, 0, kind="stable"), R3, grad=False),
    OpSpec("topk", lambda m, a: a.topk(2, dim=2).values, lambda a: -np.sort(-a, 2)[..., :2], R3),
    OpSpec("topk_smallest_indices", lambda m, a: a.topk(2, dim=1, largest=False).indices,
           lambda a: np.argsort(a, 1, kind="stable")[:, :2], R3, grad=False),
    OpSpec("median_dim", lambda m, a: a.median(2).values, lambda a: np.sort(a, 2)[..., 1], R3),
    OpSpec("median_all", lambda m, a: a.median(), lambda a: np.sort(a.reshape(-1))[11], R3),
    OpSpec("softmax", lambda m, a: a.softmax(-1), lambda a: _softmax_np(a, -1), R123),
    OpSpec("log_softmax", lambda m, a: a.log_softmax(1), lambda a: np.log(_softmax_np(a, 1)), R23),
]

# Ops that were in no table above: each runs through the same checks.
MORE = [
    _u("log10", lambda m, a: a.log10(), np.log10, domain="positive"),
    _u("square", lambda m, a: a.square(), np.square),
    _u("erf", lambda m, a: a.erf(), lambda a: np.vectorize(__import__("math").erf)(a)),
    _u("clamp_max", lambda m, a: a.clamp_max(0.3), lambda a: np.minimum(a, 0.3)),
    _u("absolute", lambda m, a: m.absolute(a), np.abs, domain="nonzero"),
    _b("true_divide", lambda m, a, b: m.true_divide(a, b), np.divide, domain="nonzero"),
    OpSpec("kthvalue", lambda m, a: a.kthvalue(2, 1).values, lambda a: np.sort(a, 1)[:, 1], R23),
    OpSpec("var_mean", lambda m, a: sum(m.var_mean(a, 1)), lambda a: a.var(1, ddof=1) + a.mean(1), R23),
    OpSpec("std_mean", lambda m, a: sum(m.std_mean(a, -1)), lambda a: a.std(-1, ddof=1) + a.mean(-1), R123),
    OpSpec("clone", lambda m, a: a.clone(), lambda a: a, R123),
    OpSpec("contiguous", lambda m, a: a.transpose(0, 1).contiguous(), lambda a: a.swapaxes(0, 1), R23),
    OpSpec("diagonal", lambda m, a: a.diagonal(1, -2, -1), lambda a: np.diagonal(a, 1, -2, -1), R23),
    OpSpec("diagonal_dims", lambda m, a: a.diagonal(-1, 0, 2), lambda a: np.diagonal(a, -1, 0, 2), [((4, 3, 3),)]),
    OpSpec("diagonal_scatter", lambda m, a, b: m.diagonal_scatter(a, b, 1, -2, -1),
           lambda a, b: _diagonal_scatter(a, b), [((3, 4), (3,)), ((2, 3, 4), (2, 3))]),
    OpSpec("fliplr", lambda m, a: a.fliplr(), np.fliplr, R23),
    OpSpec("flipud", lambda m, a: a.flipud(), np.flipud, R123),
    OpSpec("movedim", lambda m, a: a.movedim(0, -1), lambda a: np.moveaxis(a, 0, -1), R123),
    OpSpec("moveaxis", lambda m, a: m.moveaxis(a, (0, 1), (1, 0)), lambda a: np.moveaxis(a, (0, 1), (1, 0)), R23),
    OpSpec("t", lambda m, a: a.t(), lambda a: a.T, [((4,),), ((3, 4),)]),
    OpSpec("tensor_split", lambda m, a: a.tensor_split(3, -1)[1], lambda a: np.array_split(a, 3, -1)[1], R123),
    OpSpec("hstack", lambda m, a, b: m.hstack([a, b]), lambda a, b: np.hstack([a, b]),
           [((3,), (2,)), ((2, 3), (2, 2)), ((2, 3, 4), (2, 1, 4))]),
    OpSpec("vstack", lambda m, a, b: m.vstack([a, b]), lambda a, b: np.vstack([a, b]),
           [((3,), (3,)), ((2, 3), (1, 3)), ((2, 3, 4), (1, 3, 4))]),
    OpSpec("broadcast_tensors", lambda m, a, b: sum(m.broadcast_tensors(a, b)), np.add, BINARY_SHAPES),
    OpSpec("index_add", lambda m, a, i, s: a.index_add(1, i, s, alpha=2.0),
           lambda a, i, s: _index_add(a, i, s, 2.0), [((3, 4), (5,), (3, 5)), ((2, 3, 4), (5,), (2, 5, 4))],
           int_inputs={1: (0, 3)}),
    OpSpec("masked_select", lambda m, a: a.masked_select(a > 0.2), lambda a: a[a > 0.2], R123),
    OpSpec("take", lambda m, a, i: a.take(i), lambda a, i: a.reshape(-1)[i], [((3, 4), (2, 3)), ((2, 3, 4), (5,))],
           int_inputs={1: (0, 12)}),
    OpSpec("mv", lambda m, a, b: m.mv(a, b), lambda a, b: a @ b, [((3, 4), (4,))]),
    OpSpec("inner", lambda m, a, b: m.inner(a, b), np.inner, [((4,), (4,)), ((3, 4), (2, 4)), ((2, 3, 4), (4,))]),
    OpSpec("ger", lambda m, a, b: m.outer(a, b) + a.ger(b), lambda a, b: 2 * np.outer(a, b), [((3,), (4,))]),
]

# In-place ops on an intermediate: the graph records them and differentiates through them.
INPLACE = [
    _b("add_", lambda m, a, b: (a * 1).add_(b, alpha=2.0) if a.dim() >= b.dim() and a.shape == (a + b).shape
       else a + 2.0 * b, lambda a, b: a + 2.0 * b),
    _b("mul_", lambda m, a, b: _inplace(a, lambda y: y.mul_(b)) if a.shape == (a * b).shape else a * b, np.multiply),
    _b("div_", lambda m, a, b: _inplace(a, lambda y: y.div_(b)) if a.shape == (a / b).shape else a / b, np.divide,
       domain="nonzero"),
    _u("sub_scalar_", lambda m, a: _inplace(a, lambda y: y.sub_(1.5)), lambda a: a - 1.5),
    _u("pow_", lambda m, a: _inplace(a, lambda y: y.pow_(2)), np.square),
    _u("exp_", lambda m, a: _inplace(a, lambda y: y.exp_()), np.exp),
    _u("sigmoid_", lambda m, a: _inplace(a, lambda y: y.sigmoid_()), _sigmoid),
    _u("tanh_", lambda m, a: _inplace(a, lambda y: y.tanh_()), np.tanh),
    _u("relu_", lambda m, a: _inplace(a, lambda y: y.relu_()), lambda a: np.maximum(a, 0), domain="nonzero"),
    _u("clamp_", lambda m, a: _inplace(a, lambda y: y.clamp_(-0.5, 0.5)), lambda a: np.clip(a, -0.5, 0.5)),
    OpSpec("masked_fill_", lambda m, a: _inplace(a, lambda y: y.masked_fill_(a > 0, 0.5)),
           lambda a: np.where(a > 0, 0.5, a), R123),
    OpSpec("copy_", lambda m, a, b: _inplace(a, lambda y: y.copy_(b * 3)), lambda a, b: np.broadcast_to(3 * b, a.shape),
           [((3, 4), (4,)), ((2, 3, 4), (3, 1))]),
    OpSpec("index_add_", lambda m, a, i, s: _inplace(a, lambda y: y.index_add_(0, i, s)),
           lambda a, i, s: _index_add(a, i, s, 1.0, dim=0), [((3, 4), (5,), (5, 4))], int_inputs={1: (0, 3)}),
    OpSpec("scatter_", lambda m, a, i, s: _inplace(a, lambda y: y.scatter_(1, i, s)), lambda a, i, s: _scatter(a, i, s),
           [((3, 4), (3, 1), (3, 1))], int_inputs={1: (0, 4)}),
]


def _diagonal_scatter(a, b):
    out = a.copy()
    rows = np.arange(min(a.shape[-2], a.shape[-1] - 1))
    out[..., rows, rows + 1] = b
    return out


def _inplace(a, op):
    y = a * 1  # an intermediate, so the in-place op is recorded rather than refused on a leaf
    op(y)
    return y


def _index_add(a, i, s, alpha, dim=1):
    out = a.copy()
    for k, target in enumerate(i):
        index = [slice(None)] * a.ndim
        source = [slice(None)] * a.ndim
        index[dim], source[dim] = target, k
        out[tuple(index)] += alpha * s[tuple(source)]
    return out


# Each later family keeps its entries in its own file (op_specs_<family>.py), imported here at the end
# because those files build on the helpers above.
from . import op_specs_fft, op_specs_linalg, op_specs_pointwise, op_specs_special  # noqa: E402

ALL_SPECS = (ELEMENTWISE + REDUCTIONS + SHAPE + INDEX + LINALG + SORTING + MORE + INPLACE + op_specs_special.SPECS
             + op_specs_linalg.SPECS + op_specs_fft.SPECS + op_specs_pointwise.SPECS)
