"""Subgraphs a compiled graph runs as one of Ember's fused ops instead of their ops one by one.

The capture records what a module computes op by op: an ``LSTMCell`` step is recorded as its formula (two
linear layers, an add, four slices, the gate nonlinearities: 16 nodes), because its fused op
(``LSTMCellStep``: one pointwise kernel each way) declines while a capture's hook is active. Eager mode runs
the fused op; a compiled graph of a Python loop over cells would otherwise run 16 nodes per step (about 3x
eager's time on the LSTMCell loop of ``benchmarks/compile.py``). :func:`fuse_lstm_cells` finds the formula
and puts the fused op back: the same arguments as eager's call, so outputs and gradients are eager's.
"""

from __future__ import annotations

import dataclasses

from ..export._graph import Graph, Node

_LSTM_CELL = ["Linear", "Linear", "Add", "Slice", "Slice", "Slice", "Slice", "Sigmoid", "Mul", "Sigmoid", "Tanh",
              "Mul", "Add", "Sigmoid", "Tanh", "Mul"]
_TARGET = "ember.nn.modules._rnn_fused:LSTMCellStep"


def _value(arg):
    return arg["value"] if isinstance(arg, dict) and set(arg) == {"value"} else None


def _is_gate_slice(node, source: str, k: int, hidden: int) -> bool:
    """``source[:, k * hidden:(k + 1) * hidden]`` as the capture encodes it."""
    if len(node.args) != 2 or _value(node.args[0]) != source or node.kwargs:
        return False
    index = node.args[1]
    return index == {"tuple": [{"slice": [None, None, None]}, {"slice": [k * hidden, (k + 1) * hidden, None]}]}


def _match(nodes: list, readers: dict, outputs: set):
    """The fused op's node for the 16 nodes of ``lstm_cell_composite``, or None where they are something else
    (other wiring, a value of the formula used outside it, a dtype the kernels do not take)."""
    if [n.op for n in nodes] != _LSTM_CELL or any(n.kwargs for n in nodes[:3]):
        return None
    lin_x, lin_h, gates, s_i, s_f, s_g, s_o, sig_f, mul_fc, sig_i, tanh_g, mul_ig, c_new, sig_o, tanh_c, h_new = nodes
    if len(lin_x.args) != 3 or len(lin_h.args) != 3:
        return None
    names = [n.name for n in nodes]
    if not (_value(gates.args[0]) == names[0] and _value(gates.args[1]) == names[1]):
        return None
    hidden = h_new.outputs[0].shape[-1] if h_new.outputs[0].shape else None
    if not isinstance(hidden, int) or gates.outputs[0].shape[-1] != 4 * hidden:
        return None
    if not all(_is_gate_slice(s, names[2], k, hidden) for k, s in enumerate((s_i, s_f, s_g, s_o))):
        return None
    c = _value(mul_fc.args[1])
    wiring = [(sig_f, [s_f.name]), (mul_fc, [sig_f.name, c]), (sig_i, [s_i.name]), (tanh_g, [s_g.name]),
              (mul_ig, [sig_i.name, tanh_g.name]), (c_new, [mul_fc.name, mul_ig.name]), (sig_o, [s_o.name]),
              (tanh_c, [c_new.name]), (h_new, [sig_o.name, tanh_c.name])]
    if c is None or any([_value(a) for a in node.args] != expected for node, expected in wiring):
        return None
    inner = set(names) - {c_new.name, h_new.name}
    if any(name in outputs or readers.get(name, set()) - set(names) for name in inner):
        return None
    dtype = h_new.outputs[0].dtype
    if dtype not in ("float32", "float64") or any(n.outputs[0].dtype != dtype for n in nodes):
        return None
    x, w_ih, b_ih = lin_x.args
    h, w_hh, b_hh = lin_h.args
    if any(_value(a) is None for a in (x, w_ih, h, w_hh, b_ih, b_hh)):
        return None
    return Node(_TARGET, [x, h, {"value": c}, w_ih, w_hh, b_ih, b_hh], {}, [h_new.outputs[0], c_new.outputs[0]],
                h_new.module, h_new.module_type, h_new.location)


def fuse_lstm_cells(graph: Graph, reads) -> Graph:
    """``graph`` with each ``lstm_cell_composite`` formula replaced by one ``LSTMCellStep`` node (``reads``:
    the value names a node reads). The graph itself where there is none."""
    nodes = graph.nodes
    if sum(n.op == "Linear" for n in nodes) < 2:
        return graph
    readers: dict = {}
    for node in nodes:
        for name in reads(node.args) + reads(list(node.kwargs.values())):
            readers.setdefault(name, set()).add(node.name)
    outputs = set(reads(graph.outputs if isinstance(graph.outputs, list) else [graph.outputs]))
    new, i, found = [], 0, 0
    while i < len(nodes):
        fused = _match(nodes[i:i + len(_LSTM_CELL)], readers, outputs) if nodes[i].op == "Linear" else None
        if fused is not None:
            new.append(fused)
            i += len(_LSTM_CELL)
            found += 1
            continue
        new.append(nodes[i])
        i += 1
    return dataclasses.replace(graph, nodes=new) if found else graph
