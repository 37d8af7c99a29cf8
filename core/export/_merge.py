"""One graph from the runs of a capture: sizes that differ between the capture points become expressions.

Every run must record the same ops in the same order with the same values (a branch on a dynamic size
records different ops and is refused). An int argument or an output size that differs between the points is
fitted as a polynomial of the Dims (``_symbolic.fit_size``). A constant tensor that differs between the points
(``ember.zeros(x.shape[0], 4)``: a tensor made with the input's size) becomes an ``ember.creation:full`` node
when every element holds one value; otherwise it is refused.
"""

from __future__ import annotations

import copy

import numpy as np

from ._graph import Graph, InputSpec, Node, TensorMeta, encode_float
from ._symbolic import DataDependentError, fit_size


class _Mismatch(Exception):
    """Two runs disagree at some argument."""


def merge(runs: list, points: list) -> Graph:
    base = runs[0]
    _same_ops(runs, points)
    creations, inputs = [], []
    for i, spec in enumerate(base.inputs):
        arrays = [run.constants.get(run.inputs[i].target) for run in runs] if spec.kind == "constant" else None
        meta = _merged_meta([run.inputs[i].meta for run in runs], points, spec.target)
        if arrays is not None and not _all_equal(arrays):
            creations.append(_creation(spec, meta, arrays, points, _first_use(base, spec.meta.name)))
            continue
        inputs.append(InputSpec(spec.kind, spec.target, meta, spec.dims))
    nodes = list(creations)
    for i, node in enumerate(base.nodes):
        where = f"{node.location}, op {node.op}"
        args = _merge_arg([run.nodes[i].args for run in runs], points, where)
        kwargs = _merge_arg([run.nodes[i].kwargs for run in runs], points, where)
        outputs = [_merged_meta([run.nodes[i].outputs[k] for run in runs], points, where)
                   for k in range(len(node.outputs))]
        nodes.append(Node(node.target, args, kwargs, outputs, node.module, node.module_type, node.location))
    outputs = _merge_arg([run.outputs for run in runs], points, "the forward's result")
    for run, point in zip(runs[1:], points[1:]):
        if run.mutations != base.mutations:
            raise DataDependentError(
                f"ember.export: the forward changes other buffers in place on other inputs (example: "
                f"{sorted(base.mutations)}, {_sizes(point) or 'shuffled values'}: {sorted(run.mutations)})")
    return prune(Graph(inputs, nodes, outputs, dict(base.mutations)))


def _names_in(encoded, found: set) -> set:
    if isinstance(encoded, list):
        for e in encoded:
            _names_in(e, found)
    elif isinstance(encoded, dict):
        for kind, value in encoded.items():
            if kind in ("value", "array"):
                found.add(value)
            else:
                _names_in(value, found)
    return found


def prune(graph: Graph) -> Graph:
    """Drops the nodes whose results nothing uses (Ember's own argument checks, such as the index bounds
    ``embedding`` verifies with numpy, run during the capture but have no part in the result) and the
    constants no node reads. Every op the graph records is pure (in-place ops were recorded as their
    results; the values written back into buffers count as read), so this changes no output."""
    used = _names_in(graph.outputs, set()) | set(graph.mutations.values())
    kept = []
    for node in reversed(graph.nodes):
        if any(o.name in used for o in node.outputs):
            kept.append(node)
            _names_in([node.args, node.kwargs], used)
    inputs = [i for i in graph.inputs if i.kind != "constant" or i.meta.name in used]
    return Graph(inputs, kept[::-1], graph.outputs, graph.mutations)


def _same_ops(runs: list, points: list) -> None:
    base = runs[0]
    for run, point in zip(runs[1:], points[1:]):
        for a, b in zip(base.nodes, run.nodes):
            if a.target != b.target or [o.name for o in a.outputs] != [o.name for o in b.outputs]:
                raise DataDependentError(
                    f"ember.export: the forward records different ops on other inputs: {a.op} at {a.location} "
                    f"with the example, {b.op} at {b.location} with {_sizes(point) or 'shuffled values'}. A "
                    f"Python branch depends on tensor values or a dynamic size; keep the branch independent of "
                    f"them, or narrow the Dim's range to one side of it")
        if len(base.nodes) != len(run.nodes):
            longer = base if len(base.nodes) > len(run.nodes) else run
            extra = longer.nodes[min(len(base.nodes), len(run.nodes))]
            raise DataDependentError(
                f"ember.export: the forward records a different number of ops on other inputs (example "
                f"{_sizes(points[0])}: {len(base.nodes)}, {_sizes(point) or 'shuffled values'}: {len(run.nodes)}; "
                f"first extra op {extra.op} at {extra.location}): a Python loop or branch depends on tensor values "
                f"or a dynamic size")


def _sizes(point: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in point.items())


def _all_equal(arrays: list) -> bool:
    first = arrays[0]
    return all(a.shape == first.shape and a.dtype == first.dtype and np.array_equal(a, first, equal_nan=True)
               for a in arrays[1:])


def _first_use(graph, name: str) -> str:
    for node in graph.nodes:
        if f"'{name}'" in repr(node.args) + repr(node.kwargs):
            return node.location
    return "<unknown>"


def _creation(spec: InputSpec, meta: TensorMeta, arrays: list, points: list, where: str) -> Node:
    """A constant that follows the dynamic sizes and holds one value throughout: ``full(size, value)``."""
    values = {a.flat[0].item() if a.size else None for a in arrays}
    uniform = all(a.size == 0 or (a == a.flat[0]).all() for a in arrays) and len(values - {None}) <= 1
    if not uniform or any(s is None for s in meta.shape):
        raise DataDependentError(
            f"ember.export: {where}: a constant tensor ({list(arrays[0].shape)}) changes between the capture "
            f"runs (with the input values or the dynamic sizes) but is not made by an op from the inputs: "
            f"numpy on tensor data, ember.arange(n) of a size, random values drawn from a generator other than "
            f"the default one (generator=...), or with numpy. Build it with ember ops from the input, or "
            f"drop the Dim")
    fill = (values - {None} or {0}).pop()
    size = {"tuple": [s if isinstance(s, int) else {"sym": s} for s in meta.shape]}
    return Node("ember.creation:full", [size, encode_float(fill) if isinstance(fill, float) else fill], {"dtype": {"dtype": meta.dtype}},
                [TensorMeta(spec.meta.name, meta.shape, meta.dtype)], "", "", where)


def _merged_meta(metas: list, points: list, where: str) -> TensorMeta:
    shape = []
    for axis in range(len(metas[0].shape)):
        sizes = [m.shape[axis] for m in metas]
        if len(set(sizes)) == 1:
            shape.append(sizes[0])
        else:
            shape.append(fit_size(sizes, points))
    return TensorMeta(metas[0].name, shape, metas[0].dtype)


def _merge_arg(items: list, points: list, where: str):
    try:
        return _merge(items, points)
    except _Mismatch as error:
        raise DataDependentError(
            f"ember.export: {where}: an argument changes between the capture runs (with the input values or "
            f"the dynamic sizes) in a way the graph cannot express ({error}): it was read from tensor data, or "
            f"computed from a dynamic size with float arithmetic") from None


def _merge(items: list, points: list):
    first = items[0]
    if isinstance(first, bool) or first is None or isinstance(first, str):
        if any(i != first or type(i) is not type(first) for i in items):
            raise _Mismatch(f"{first!r} / {next(i for i in items if i != first)!r}")
        return first
    if isinstance(first, int):
        if not all(isinstance(i, int) and not isinstance(i, bool) for i in items):
            raise _Mismatch(f"{items}")
        if len(set(items)) == 1:
            return first
        expr = fit_size(items, points)
        if expr is None:
            raise _Mismatch(f"sizes {items} at {[_sizes(p) for p in points]}")
        return {"sym": expr}
    if isinstance(first, float):
        if any(i != first for i in items):
            raise _Mismatch(f"floats {items}")
        return first
    if isinstance(first, list):
        if any(not isinstance(i, list) or len(i) != len(first) for i in items):
            raise _Mismatch("lists of different lengths")
        return [_merge([i[k] for i in items], points) for k in range(len(first))]
    if isinstance(first, dict):
        if any(not isinstance(i, dict) or i.keys() != first.keys() for i in items):
            raise _Mismatch("different argument kinds")
        if len(first) == 1 and next(iter(first)) in ("value", "array", "dtype", "np_dtype", "function", "float"):
            if any(i != first for i in items):
                raise _Mismatch(f"{first} / {next(i for i in items if i != first)}")
            return copy.deepcopy(first)
        return {k: _merge([i[k] for i in items], points) for k in first}
    raise _Mismatch(f"unknown {type(first).__name__}")
