"""``ember.compiler.explain`` (``torch._dynamo.explain``): how a compiled call was split into graphs and breaks.

Apart from ``_breaks`` because it compiles (``_compile`` imports ``_breaks``, so ``_breaks`` may not import it).
"""

from __future__ import annotations

import functools

from ..nn.modules.module import Module
from ._breaks import _Record, _state
from ._compile import compile


class ExplainOutput:
    """What :func:`explain` found (``torch._dynamo.explain``'s fields): ``graphs`` (the compiled graphs that
    ran), ``graph_count``, ``graph_break_count``, ``break_reasons`` (:class:`GraphBreak`, each naming the
    user's ``file:line``), ``ops_per_graph`` and ``op_count``."""

    def __init__(self, graphs: list, breaks: list):
        self.graphs = graphs
        self.graph_count = len(graphs)
        self.break_reasons = breaks
        self.graph_break_count = len(breaks)
        self.ops_per_graph = [[node.op for node in g.graph.nodes] for g in graphs]
        self.op_count = sum(len(ops) for ops in self.ops_per_graph)

    def __str__(self) -> str:
        lines = [f"Graph Count: {self.graph_count}", f"Graph Break Count: {self.graph_break_count}",
                 f"Op Count: {self.op_count}", "Break Reasons:"]
        for i, b in enumerate(self.break_reasons, 1):
            lines += [f"  Break Reason {i}:", f"    Module: {b.module}", f"    Reason: {b.reason}",
                      f"    User Stack: {b.location}"]
        lines.append("Ops per Graph:")
        for i, ops in enumerate(self.ops_per_graph, 1):
            lines.append(f"  Ops {i}: {', '.join(ops)}")
        return "\n".join(lines)

    __repr__ = __str__


def explain(fn_or_module, *args, **kwargs):
    """Compiles ``fn_or_module`` afresh, calls it on the arguments and says how it was split
    (``torch._dynamo.explain``): an :class:`ExplainOutput`. Without arguments, returns a function to call
    with them (``explain(f)(x)``, torch's newer form). Warns nothing; the compiled graphs are dropped.

    Example:
        >>> import ember
        >>> layer = ember.nn.Linear(3, 3)
        >>> def f(x):
        ...     y = layer(x)
        ...     return y if y.sum() > 0 else -y  # a branch on tensor values: a graph break
        >>> report = ember.compiler.explain(f, ember.ones(2, 3))
        >>> report.graph_count, report.graph_break_count  # layer compiled, f's own lines eager
        (1, 1)
    """
    if not args and not kwargs:
        return functools.partial(explain, fn_or_module)
    compiled = compile(fn_or_module.__dict__.get("_orig_mod", fn_or_module) if isinstance(fn_or_module, Module)
                       else fn_or_module)
    outer, _state.record = _state.record, _Record()
    try:
        compiled(*args, **kwargs)  # (a record is active: no warning)
        record = _state.record
    finally:
        _state.record = outer
    return ExplainOutput(list(record.graphs.values()), list(record.breaks.values()))
