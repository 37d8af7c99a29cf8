"""Batch norm followed by ReLU (and by a residual add before the ReLU) as one op in a compiled graph.

A ResNet block ends ``relu(bn(conv(x)))`` or ``relu(bn(conv(x)) + shortcut)``. Eagerly these are two or three
passes over the activation each way (normalise; add; ReLU, and back: ReLU's mask, the add's two gradients,
batch norm's two passes). :func:`fuse_norm_relu` finds the pattern in a captured graph and puts one
:class:`BatchNormRelu` node in its place: its forward normalises, adds and clamps in one pass
(``y = max(x * scale + shift [+ residual], 0)``); its backward masks the gradient by ``y > 0`` inside batch
norm's own two passes and writes the residual's gradient in the first. Arithmetic and the order of the
sums are those of the eager kernels, whose backward loops it shares (``ember.kernels.norm``), so results are
eager's within float32 rounding.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..autograd.function import once_differentiable
from ..export._graph import Graph, Node
from ..ops._op import Op
from ..tensor import Tensor

_BATCH_NORM = "ember.nn.functional.norm:BatchNorm"
_RELU = "ember.ops.activation:Relu"
_ADD = "ember.ops.arithmetic:Add"
TARGET = "ember.compiler._fused_norm:BatchNormRelu"


def _planes(array: np.ndarray) -> np.ndarray:
    return array.reshape(array.shape[0], array.shape[1], -1)


class BatchNormRelu(Op):
    """``relu(batch_norm(x) [+ residual])``: ``BatchNorm``'s arguments (``x, weight, bias, mean, invstd,
    training``), then the residual (None: no add)."""

    @staticmethod
    def forward(ctx, x, weight, bias, mean, invstd, training, residual=None):
        xd = x._data
        c = xd.shape[1]
        w = weight._data if weight is not None else np.ones(c, xd.dtype)
        b = bias._data if bias is not None else np.zeros(c, xd.dtype)
        r = _planes(residual._data) if residual is not None else None
        from ..kernels import norm as kernels  # numba: loaded on first use, not at `import ember`

        y = kernels.normalize_affine_relu(_planes(xd), mean, invstd, w, b, r).reshape(xd.shape)
        ctx.save_for_backward(x, weight)
        ctx.save_output()
        ctx.stats = (mean, invstd, training, residual is not None)
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        y = ctx.output._data
        mean, invstd, training, has_residual = ctx.stats
        xd = x._data
        c = xd.shape[1]
        w = weight._data if weight is not None else np.ones(c, xd.dtype)
        g = _planes(np.ascontiguousarray(grad._data, xd.dtype))
        from ..kernels import norm as kernels  # numba: loaded on first use, not at `import ember`

        gx, gr, gw, gb = kernels.batch_norm_relu_backward(g, _planes(y), _planes(xd), mean, invstd, w,
                                                          bool(training), has_residual)
        needs = ctx.needs_input_grad
        return (Tensor._wrap(gx.reshape(xd.shape)) if needs[0] else None,
                Tensor._wrap(gw.astype(xd.dtype)) if needs[1] else None,
                Tensor._wrap(gb.astype(xd.dtype)) if needs[2] else None, None, None, None,
                Tensor._wrap(gr.reshape(xd.shape)) if has_residual and needs[6] else None)

    def name(self) -> str:
        return "BatchNormReluBackward"


def _value(arg):
    return arg["value"] if isinstance(arg, dict) and set(arg) == {"value"} else None


def readers_and_kept(graph: Graph, reads) -> tuple:
    """For a rewrite of ``graph``: the nodes that read each value (name -> list), and the values that must
    stay (the graph's outputs and the values written back to inputs)."""
    readers: dict = {}
    for node in graph.nodes:
        for name in reads(node.args) + reads(list(node.kwargs.values())):
            readers.setdefault(name, []).append(node)
    kept = set(reads(graph.outputs if isinstance(graph.outputs, list) else [graph.outputs]))
    return readers, kept | set(graph.mutations.values())


def fuse_norm_relu(graph: Graph, reads) -> Graph:
    """``graph`` with each ``relu(batch_norm(x))`` and ``relu(batch_norm(x) + r)`` (``r`` of the same shape and
    dtype, either order of the add) replaced by one :class:`BatchNormRelu` node at the ReLU's place, where
    the batch norm's and the add's results are used nowhere else (``reads``: the value names a node
    reads). The graph itself where there is none."""
    nodes = graph.nodes
    if not any(n.target == _BATCH_NORM for n in nodes):
        return graph
    readers, kept = readers_and_kept(graph, reads)
    metas = {spec.meta.name: (spec.meta.shape, spec.meta.dtype) for spec in graph.inputs}
    metas.update((meta.name, (meta.shape, meta.dtype)) for node in nodes for meta in node.outputs)

    def only_reader(node):
        """The one node that reads ``node``'s only output, if that value is not also an output of the graph."""
        if len(node.outputs) != 1 or node.outputs[0].name in kept:
            return None
        found = readers.get(node.outputs[0].name, [])
        return found[0] if len(found) == 1 else None

    replaced, dropped = {}, set()
    for norm in nodes:
        out = norm.outputs[0] if norm.target == _BATCH_NORM and len(norm.outputs) == 1 else None
        if out is None or out.dtype not in ("float32", "float64") or norm.kwargs or len(norm.args) != 6:
            continue
        reader = only_reader(norm)
        residual, add = None, None
        if reader is not None and reader.target == _ADD and not reader.kwargs and len(reader.args) == 2:
            names = [_value(a) for a in reader.args]
            other = names[1] if names[0] == out.name else names[0] if names[1] == out.name else None
            add_out = reader.outputs[0]
            if other is not None and other != out.name and add_out.shape == out.shape \
                    and add_out.dtype == out.dtype:
                residual, add = other, reader
                reader = only_reader(add)
        if reader is None or reader.target != _RELU or reader.kwargs or len(reader.args) != 1 \
                or id(reader) in replaced or add is not None and id(add) in dropped:
            continue  # (an add of two batch norms' results: the first one takes it)
        if _value(reader.args[0]) != (add or norm).outputs[0].name or reader.outputs[0].shape != out.shape:
            continue
        if residual is not None and metas.get(residual) != (out.shape, out.dtype):
            continue
        args = list(norm.args) + ([{"value": residual}] if residual is not None else [])
        replaced[id(reader)] = Node(TARGET, args, {}, [reader.outputs[0]], reader.module, reader.module_type,
                                    reader.location)
        dropped.update(id(n) for n in (norm, add) if n is not None)
    if not replaced:
        return graph
    new = [replaced.get(id(n), n) for n in nodes if id(n) not in dropped]
    return dataclasses.replace(graph, nodes=new)
