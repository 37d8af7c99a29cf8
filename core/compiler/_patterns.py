"""Recurrent cells a compiled graph runs as one of Ember's fused ops instead of their formula op by op.

Eager mode runs an ``LSTMCell`` / ``GRUCell`` step as one fused op (``LSTMCellStep`` / ``GRUCellStep``: the
two products in BLAS, everything pointwise in one numba kernel each way). Under ``ember.export`` the cells
record their formula instead (16 / 18 nodes: two linear layers, the gate slices, the nonlinearities),
which an exported program needs; a compiled graph of a Python loop over cells would then run ~17 nodes per
step (about 3x eager's time on the cell loops of ``benchmarks/compile.py``) and its capture would record
them all. Two mechanisms put the fused ops back, both with eager's arguments, so outputs and gradients
are eager's:

- :func:`fused_cells_recorded`: while ``ember.compile`` captures, the cells record their fused op as ONE
  node (``nn.modules._rnn_fused.compile_capture``), so the capture of a loop of 100 cell steps records ~400
  nodes instead of ~3600.
- :func:`fuse_cells`: a formula written out by hand (``lstm_cell_composite`` / ``gru_cell_composite``'s
  ops in their order) is found in the captured graph and replaced by the fused op's node, where none of its
  inner values is used outside it.

And one rewrite of a layer's inputs, :func:`embed_layers`: an ``nn.LSTM`` layer fed straight from an
``nn.Embedding`` runs as :class:`~ember.nn.modules._rnn_fused.EmbeddedLSTMLayer`, which projects the table's
rows once instead of every token (where the table has no more rows than the sequence has tokens).
"""

from __future__ import annotations

import contextlib
import dataclasses

from ..export import _capture
from ..export._graph import Graph, Node
from ..nn.modules import _rnn_fused
from ._fused_norm import readers_and_kept

_LSTM_CELL = ["Linear", "Linear", "Add", "Slice", "Slice", "Slice", "Slice", "Sigmoid", "Mul", "Sigmoid", "Tanh",
              "Mul", "Add", "Sigmoid", "Tanh", "Mul"]
_GRU_CELL = ["Linear", "Slice", "Slice", "Slice", "Linear", "Slice", "Slice", "Slice", "Add", "Sigmoid", "Add",
             "Sigmoid", "Mul", "Add", "Tanh", "Sub", "Mul", "Add"]
_LSTM_TARGET = "ember.nn.modules._rnn_fused:LSTMCellStep"
_GRU_TARGET = "ember.nn.modules._rnn_fused:GRUCellStep"
_EMBEDDING = "ember.nn.functional.embedding:Embedding"
_PERMUTE = "ember.ops.shape:Permute"
_LSTM_LAYER = "ember.nn.modules._rnn_fused:LSTMLayer"
_EMBEDDED_LSTM = "ember.nn.modules._rnn_fused:EmbeddedLSTMLayer"


@contextlib.contextmanager
def fused_cells_recorded():
    """While it is entered, an ``ember.export`` capture records each ``LSTMCell`` / ``GRUCell`` step eager mode
    would fuse as one node of its fused op (for ``ember.compile``'s captures only: an exported program keeps
    the formula)."""
    previous = _rnn_fused.compile_capture
    _rnn_fused.compile_capture = (_capture._hook, _capture.TracedArray)
    try:
        yield
    finally:
        _rnn_fused.compile_capture = previous


def _value(arg):
    return arg["value"] if isinstance(arg, dict) and set(arg) == {"value"} else None


def _is_gate_slice(node, source: str, k: int, hidden: int) -> bool:
    """``source[:, k * hidden:(k + 1) * hidden]`` as the capture encodes it."""
    if len(node.args) != 2 or _value(node.args[0]) != source or node.kwargs:
        return False
    index = node.args[1]
    return index == {"tuple": [{"slice": [None, None, None]}, {"slice": [k * hidden, (k + 1) * hidden, None]}]}


def _wired(wiring: list) -> bool:
    """Each node reads exactly the values named (node or value names), in order."""
    return all([_value(a) for a in node.args] == [e if isinstance(e, str) else e.name for e in expected]
               for node, expected in wiring)


def _projections(lin_x, lin_h, gates: int, hidden, shapes: dict):
    """The two linear layers' arguments ``(x, w_ih, b_ih), (h, w_hh, b_hh)`` where they fit a fused cell:
    2-D values of one batch, ``gates * hidden`` features; else None. (A bias may be None.)"""
    if len(lin_x.args) != 3 or len(lin_h.args) != 3 or lin_x.kwargs or lin_h.kwargs:
        return None
    if not isinstance(hidden, int) or lin_x.outputs[0].shape != lin_h.outputs[0].shape:
        return None
    shape = lin_x.outputs[0].shape
    if len(shape) != 2 or shape[1] != gates * hidden:
        return None
    x, w_ih, b_ih = lin_x.args
    h, w_hh, b_hh = lin_h.args
    if any(_value(a) is None for a in (x, w_ih, h, w_hh)) or any(b is not None and _value(b) is None
                                                                  for b in (b_ih, b_hh)):
        return None
    if len(shapes.get(_value(x), ())) != 2 or shapes.get(_value(h)) != [shape[0], hidden]:
        return None
    return (x, w_ih, b_ih), (h, w_hh, b_hh)


def _contained(nodes: list, kept: set, readers: dict, outputs: set) -> bool:
    """No value of ``nodes`` other than ``kept`` is read outside them or returned."""
    names = {n.name for n in nodes}
    return not any(name in outputs or readers.get(name, set()) - names for name in names - kept)


def _one_float_dtype(nodes: list) -> bool:
    dtype = nodes[-1].outputs[0].dtype
    return dtype in ("float32", "float64") and all(n.outputs[0].dtype == dtype for n in nodes)


def _match_lstm(nodes: list, readers: dict, outputs: set, shapes: dict):
    """The fused op's node for the 16 nodes of ``lstm_cell_composite``, or None where they are something else
    (other wiring, a value of the formula used outside it, a dtype the kernels do not take)."""
    if [n.op for n in nodes] != _LSTM_CELL or any(n.kwargs for n in nodes[2:]):
        return None
    lin_x, lin_h, gates, s_i, s_f, s_g, s_o, sig_f, mul_fc, sig_i, tanh_g, mul_ig, c_new, sig_o, tanh_c, h_new = nodes
    hidden = h_new.outputs[0].shape[-1] if h_new.outputs[0].shape else None
    found = _projections(lin_x, lin_h, 4, hidden, shapes)
    if found is None or not _wired([(gates, [lin_x, lin_h])]):
        return None
    if not all(_is_gate_slice(s, gates.name, k, hidden) for k, s in enumerate((s_i, s_f, s_g, s_o))):
        return None
    c = _value(mul_fc.args[1]) if len(mul_fc.args) == 2 else None
    if c is None or shapes.get(c) != shapes.get(_value(found[1][0])):
        return None
    wiring = [(sig_f, [s_f]), (mul_fc, [sig_f, c]), (sig_i, [s_i]), (tanh_g, [s_g]), (mul_ig, [sig_i, tanh_g]),
              (c_new, [mul_fc, mul_ig]), (sig_o, [s_o]), (tanh_c, [c_new]), (h_new, [sig_o, tanh_c])]
    if not _wired(wiring) or not _contained(nodes, {c_new.name, h_new.name}, readers, outputs):
        return None
    if not _one_float_dtype(nodes):
        return None
    (x, w_ih, b_ih), (h, w_hh, b_hh) = found
    return Node(_LSTM_TARGET, [x, h, {"value": c}, w_ih, w_hh, b_ih, b_hh], {}, [h_new.outputs[0], c_new.outputs[0]],
                h_new.module, h_new.module_type, h_new.location)


def _match_gru(nodes: list, readers: dict, outputs: set, shapes: dict):
    """The fused op's node for the 18 nodes of ``gru_cell_composite``, or None where they are something else."""
    if [n.op for n in nodes] != _GRU_CELL or any(n.kwargs for n in nodes):
        return None
    lin_x, x_r, x_z, x_n, lin_h, h_r, h_z, h_n, add_r, r, add_z, z, mul_rh, add_n, n, sub, mul_z, h_new = nodes
    hidden = h_new.outputs[0].shape[-1] if h_new.outputs[0].shape else None
    found = _projections(lin_x, lin_h, 3, hidden, shapes)
    if found is None:
        return None
    if not all(_is_gate_slice(s, lin.name, k, hidden)
               for lin, gate_slices in ((lin_x, (x_r, x_z, x_n)), (lin_h, (h_r, h_z, h_n)))
               for k, s in enumerate(gate_slices)):
        return None
    h = _value(found[1][0])
    wiring = [(add_r, [x_r, h_r]), (r, [add_r]), (add_z, [x_z, h_z]), (z, [add_z]), (mul_rh, [r, h_n]),
              (add_n, [x_n, mul_rh]), (n, [add_n]), (sub, [h, n]), (mul_z, [z, sub]), (h_new, [n, mul_z])]
    if not _wired(wiring) or not _contained(nodes, {h_new.name}, readers, outputs) or not _one_float_dtype(nodes):
        return None
    (x, w_ih, b_ih), (h, w_hh, b_hh) = found
    return Node(_GRU_TARGET, [x, h, w_ih, w_hh, b_ih, b_hh], {}, [h_new.outputs[0]], h_new.module,
                h_new.module_type, h_new.location)


_PATTERNS = ((_LSTM_CELL, _match_lstm), (_GRU_CELL, _match_gru))


def fuse_cells(graph: Graph, reads) -> Graph:
    """``graph`` with each ``lstm_cell_composite`` / ``gru_cell_composite`` formula replaced by one
    ``LSTMCellStep`` / ``GRUCellStep`` node (``reads``: the value names a node reads). The graph itself where
    there is none."""
    nodes = graph.nodes
    if sum(n.op == "Linear" for n in nodes) < 2:
        return graph
    readers: dict = {}
    for node in nodes:
        for name in reads(node.args) + reads(list(node.kwargs.values())):
            readers.setdefault(name, set()).add(node.name)
    outputs = set(reads(graph.outputs if isinstance(graph.outputs, list) else [graph.outputs]))
    shapes = {spec.meta.name: spec.meta.shape for spec in graph.inputs}
    shapes.update((meta.name, meta.shape) for node in nodes for meta in node.outputs)
    new, i, found = [], 0, 0
    while i < len(nodes):
        fused = None
        if nodes[i].op == "Linear":
            for ops, match in _PATTERNS:
                fused = match(nodes[i:i + len(ops)], readers, outputs, shapes)
                if fused is not None:
                    i += len(ops)
                    break
        if fused is not None:
            new.append(fused)
            found += 1
            continue
        new.append(nodes[i])
        i += 1
    return dataclasses.replace(graph, nodes=new) if found else graph


def embed_layers(graph: Graph, reads) -> Graph:
    """``graph`` with each ``LSTMLayer`` whose input is an ``Embedding``'s output (directly, or through the
    ``(1, 0, 2)`` permutation of ``batch_first``) and nothing else's replaced by one ``EmbeddedLSTMLayer``
    node, where the table has no more rows than the layer has tokens (so projecting the table is no more
    work than projecting the tokens) and the layer is one the step kernels run (float32, no ``proj_size``,
    a dense gradient of the table). The graph itself where there is none."""
    nodes = graph.nodes
    if not any(n.target == _LSTM_LAYER for n in nodes) or not any(n.target == _EMBEDDING for n in nodes):
        return graph
    readers, kept = readers_and_kept(graph, reads)
    producers = {meta.name: node for node in nodes for meta in node.outputs}
    metas = {spec.meta.name: spec.meta for spec in graph.inputs}
    metas.update((meta.name, meta) for node in nodes for meta in node.outputs)

    def only_input(node, target):
        """The node of ``target`` whose only output is read by ``node`` alone and is not kept."""
        source = producers.get(_value(node.args[0])) if node.args else None
        if source is None or source.target != target or len(source.outputs) != 1 or source.kwargs:
            return None
        out = source.outputs[0].name
        return source if out not in kept and len(readers.get(out, [])) == 1 else None

    replaced, dropped = {}, set()
    for layer in nodes:
        if layer.target != _LSTM_LAYER or layer.kwargs or len(layer.args) != 9 or layer.args[7] is not None:
            continue
        permute = only_input(layer, _PERMUTE)
        if permute is not None and permute.args[1:] != [{"tuple": [1, 0, 2]}]:
            continue
        embed = only_input(permute or layer, _EMBEDDING)
        if embed is None or len(embed.args) != 5 or embed.args[4] is not False:
            continue
        table, x = metas.get(_value(embed.args[0])), metas[_value(layer.args[0])]
        shapes = [table.shape if table else None, x.shape]
        if any(s is None or None in s or not all(isinstance(d, int) for d in s) for s in shapes):
            continue
        if table.shape[0] > x.shape[0] * x.shape[1]:
            continue
        if any(_value(a) is not None and metas.get(_value(a)) is not None and metas[_value(a)].dtype != "float32"
               for a in [embed.args[0]] + layer.args[1:7]):
            continue
        padding_idx, scale_grad_by_freq = embed.args[2:4]
        args = [embed.args[0], embed.args[1], padding_idx, scale_grad_by_freq, permute is not None,
                *layer.args[1:7], layer.args[8]]
        replaced[id(layer)] = Node(_EMBEDDED_LSTM, args, {}, layer.outputs, layer.module, layer.module_type,
                                   layer.location)
        dropped.update(id(n) for n in (embed, permute) if n is not None)
    if not replaced:
        return graph
    return dataclasses.replace(graph, nodes=[replaced.get(id(n), n) for n in nodes if id(n) not in dropped])
