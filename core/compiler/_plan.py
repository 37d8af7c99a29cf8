"""From a captured graph to a plan: runs of elementwise nodes become fused kernels, other nodes call Ember's ops.

The plan is a list of steps in the graph's order. A step is either one node of the graph, called as the
interpreter of ``ember.export`` calls it (``Op.apply`` with the decoded arguments), or a :class:`Run` of
consecutive elementwise nodes with the same output shape and float dtype, applied as one
:class:`FusedElementwise` op whose forward and backward are the run's generated kernels.
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import once_differentiable
from ..export._graph import Graph, decode
from ..export._program import _bind_inputs, _user_tensors, _value_names, resolve, resolve_function
from ..ops._op import Op
from ..tensor import Tensor
from ._codegen import ELEMENTWISE, Kernels, Run
from ._fused_norm import fuse_norm_relu
from ._patterns import embed_layers, fuse_cells
from ._runtime import Program, Step, call, supported

# the ops a run may hold (module:Class as a node names them)
FUSIBLE = {
    f"ember.ops.{module}:{name}"
    for module, names in {"arithmetic": "Add Sub Mul Div Neg Abs Reciprocal Pow",
                          "unary": "Exp Log Sqrt Sin Cos", "activation": "Tanh Sigmoid Relu"}.items()
    for name in names.split()
}
assert {t.rpartition(":")[2] for t in FUSIBLE} <= set(ELEMENTWISE)


class FusedElementwise(Op):
    """A run of elementwise ops as one op: the generated forward kernel, and the generated backward kernel
    that recomputes the forward's scalars from the saved inputs."""

    @staticmethod
    def forward(ctx, kernels, *inputs):
        ctx.kernels = kernels
        ctx.save_for_backward(*inputs)
        outs = kernels.forward([t._data for t in inputs])
        return outs[0] if len(outs) == 1 else tuple(outs)

    @staticmethod
    @once_differentiable
    def backward(ctx, *grads):
        inputs = ctx.saved_tensors
        results = ctx.kernels.backward([t._data for t in inputs], [g._data for g in grads])
        return (None,) + tuple(Tensor._wrap(r) if needed else None
                               for r, needed in zip(results, ctx.needs_input_grad[1:]))

    def name(self) -> str:
        return "CompiledFusedBackward"


def _dtypes(graph: Graph) -> dict:
    found = {spec.meta.name: spec.meta.dtype for spec in graph.inputs}
    for node in graph.nodes:
        found.update({meta.name: meta.dtype for meta in node.outputs})
    return found


def _fusible(node, dtypes: dict) -> bool:
    if node.target not in FUSIBLE or node.kwargs or len(node.outputs) != 1:
        return False
    out = node.outputs[0]
    if out.dtype not in ("float32", "float64") or not out.shape or None in out.shape:
        return False
    values = 0
    for arg in node.args:
        if isinstance(arg, dict):
            if set(arg) != {"value"} or dtypes.get(arg["value"]) != out.dtype:
                return False
            values += 1
        elif isinstance(arg, bool) or not isinstance(arg, (int, float)):
            return False
    if node.op == "Pow":  # a tensor base and a nonzero number exponent only
        return isinstance(node.args[0], dict) and not isinstance(node.args[1], dict) and node.args[1] != 0
    return values > 0


def _reads(encoded) -> list:
    """The value names an encoded argument reads (``{"value": ...}`` and ``{"array": ...}``)."""
    if isinstance(encoded, list):
        return [n for e in encoded for n in _reads(e)]
    if isinstance(encoded, dict):
        (kind, value), = encoded.items()
        if kind in ("value", "array"):
            return [value]
        if kind in ("tuple", "list", "slice"):
            return _reads(value)
        if kind == "dict":
            return [n for _, v in value for n in _reads(v)]
    return []


def _joined(shape, other):
    """The loop shape of a run of ``shape`` with a node of shape ``other`` added, or None if they cannot
    share a loop (sizes that do not broadcast; symbolic sizes must then be equal)."""
    if shape == other:
        return shape
    if not all(isinstance(d, int) for d in (*shape, *other)):
        return None
    try:
        return list(np.broadcast_shapes(tuple(shape), tuple(other)))
    except ValueError:
        return None


def partition(graph: Graph, broadcast: bool = True, dtypes: dict | None = None) -> list:
    """The graph's nodes grouped: single nodes, and runs (lists of two or more consecutive fusible nodes of
    one float dtype whose shapes broadcast together, or with ``broadcast=False`` are equal)."""
    dtypes = dtypes or _dtypes(graph)
    groups, current, shape = [], [], None

    def close():
        groups.extend([current] if len(current) > 1 else current)

    for node in graph.nodes:
        if _fusible(node, dtypes):
            out = node.outputs[0]
            if current and out.dtype == current[0].outputs[0].dtype:
                joined = _joined(shape, out.shape) if broadcast else (shape if shape == out.shape else None)
                if joined is not None:
                    current.append(node)
                    shape = joined
                    continue
            close()
            current, shape = [node], out.shape
            continue
        close()
        current = []
        groups.append(node)
    close()
    return groups


def make_runs(graph: Graph) -> list:
    """``partition``'s groups with each list of nodes made a :class:`Run` (its inputs and outputs found). A
    value needed after its run is stored at the run's loop shape, so a run where such a value is smaller
    (broadcast inside the loop) is split into runs of equal shapes."""
    returned = set(_value_names(graph.outputs))
    dtypes = _dtypes(graph)
    steps = []
    for group in _with_outputs(partition(graph, dtypes=dtypes), returned):
        if not isinstance(group, tuple):
            steps.append(group)
            continue
        nodes, outputs = group
        shape = _loop_shape(nodes)
        if any(node.outputs[0].shape != shape for node in nodes if node.name in outputs):
            split = partition(Graph([], nodes, graph.outputs), broadcast=False, dtypes=dtypes)
            for sub in _with_outputs(split, returned, outside=outputs):
                steps.append(_run(*sub) if isinstance(sub, tuple) else sub)
            continue
        steps.append(_run(nodes, outputs))
    return [step for step in steps if step is not None]


def _loop_shape(nodes: list) -> list:
    shape = nodes[0].outputs[0].shape
    for node in nodes[1:]:
        shape = _joined(shape, node.outputs[0].shape)
    return shape


def _with_outputs(groups: list, returned: set, outside: list | None = None) -> list:
    """Each run of ``groups`` as (nodes, the values read after it); single nodes as they are. ``outside``:
    values read after these groups (when they are a split run)."""
    readers: dict = {}  # value name -> indices of the groups that read it
    for g, group in enumerate(groups):
        for node in group if isinstance(group, list) else [group]:
            for name in _reads(node.args) + _reads(list(node.kwargs.values())):
                readers.setdefault(name, set()).add(g)
    result = []
    for g, group in enumerate(groups):
        if not isinstance(group, list):
            result.append(group)
            continue
        outputs = [node.name for node in group if node.name in returned or node.name in (outside or ())
                   or any(r != g for r in readers.get(node.name, ()))]
        result.append((group, outputs))
    return result


def _run(nodes: list, outputs: list):
    if not outputs:  # nothing reads the run's values
        return None
    made = {node.name for node in nodes}
    inputs = []
    for node in nodes:
        for name in _reads(node.args):
            if name not in made and name not in inputs:
                inputs.append(name)
    return Run(nodes, inputs, outputs, tuple(_loop_shape(nodes)), nodes[0].outputs[0].dtype)


class CompiledGraph:
    """A captured program run as its plan: fused kernels for the runs, Ember's ops for the rest; one autograd
    node for the whole graph (``_runtime``), or where an op needs ``Op.apply``, one node per step."""

    def __init__(self, program, tensors: dict):
        self.program = program
        # LSTMCell / GRUCell formulas as eager's fused ops; batch norm + (residual add +) ReLU as one op; an
        # embedding's LSTM projecting the table's rows
        self.graph = embed_layers(fuse_norm_relu(fuse_cells(program.graph, _reads), _reads), _reads)
        self.tensors = tensors  # parameters, buffers and constants by graph value name
        self.steps = []
        for step in make_runs(self.graph):
            if isinstance(step, Run):
                self.steps.append((Kernels(step), step))
            else:
                self.steps.append((resolve(step.target), step))
        # one autograd node for the whole graph (``_runtime``), unless an op needs ``apply`` (float16 widening)
        steps = [Step(fn, step) for fn, step in self.steps]
        inputs = [spec.meta.name for spec in self.graph.inputs]
        outputs = [name for name in dict.fromkeys(_value_names(self.graph.outputs)) if name not in inputs]
        reads = [step.inputs if isinstance(step, Run) else _reads(step.args) + _reads(list(step.kwargs.values()))
                 for _, step in self.steps]
        self.runtime = Program(steps, inputs, outputs, reads) if supported(steps, _dtypes(self.graph).values()) \
            else None

    @property
    def kernels(self) -> list:
        return [kernels for kernels, step in self.steps if isinstance(step, Run)]

    def __call__(self, args: tuple, kwargs: dict):
        graph = self.graph
        tensors = dict(self.tensors)
        sizes = _bind_inputs(graph, tensors, _user_tensors(self.program.arguments, args, kwargs))
        if self.runtime is not None:
            values = call(self.runtime, [tensors[name] for name in self.runtime.input_names], sizes)
            return decode(graph.outputs, values, sizes, resolve_function)
        for fn, step in self.steps:
            if isinstance(step, Run):
                out = FusedElementwise.apply(fn, *(tensors[name] for name in step.inputs))
                outs = (out,) if len(step.outputs) == 1 else out
                tensors.update(zip(step.outputs, outs))
                continue
            call_args = [decode(a, tensors, sizes, resolve_function) for a in step.args]
            call_kwargs = {k: decode(v, tensors, sizes, resolve_function) for k, v in step.kwargs.items()}
            out = fn.apply(*call_args, **call_kwargs) if isinstance(fn, type) else fn(*call_args, **call_kwargs)
            if len(step.outputs) == 1:
                out = (out,)
            for meta, o in zip(step.outputs, out):
                tensors[meta.name] = o
        return decode(graph.outputs, tensors, sizes, resolve_function)
