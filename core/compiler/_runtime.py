"""A compiled graph as ONE autograd node: the plan runs on arrays, its backward runs the steps' backwards.

The eager way builds one graph node per op (a ``Function`` object, edges, version-counter checks, the
engine's topological sort and gradient routing on the way back). A compiled graph knows its steps ahead of
time, so it is one node instead (:class:`CompiledFunction`): its forward runs the plan, each Ember op's
``forward`` called directly with a context of its own (no graph building, no per-op bookkeeping), each fused
run's generated kernel on the arrays; it keeps what each step's backward needs (the op's context, the run's
input arrays). Its backward walks the steps in reverse: a fused run's generated backward kernel, an op's own
``backward`` called with its context, gradients summed per value and brought back to each operand's shape
(broadcasting undone, as the engine does), and returns the gradients of the graph's inputs (parameters,
buffers, user inputs), which the engine delivers to the leaves as for any op.

The compiled backward is once differentiable: ``create_graph=True`` through a compiled graph raises (as
``torch.compile``'s AOT-autograd backward does for double backward); compute higher-order gradients eagerly.
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import _FREED_MESSAGE, _inplace_message, once_differentiable
from ..autograd.grad_mode import state
from ..export._graph import decode
from ..export._program import resolve_function
from ..ops._op import Op
from ..tensor import Tensor
from ._codegen import Run

_OP, _RUN, _CALL = 0, 1, 2  # kinds of step: an Ember op (a Function class), a fused run, a plain function


class Step:
    """One step of a plan ready to run: its kind, the callable, the node or run, the value names its
    positional arguments read (None where an argument is not one value) and the names of its outputs."""

    __slots__ = ("args", "fn", "kind", "kwargs", "node", "outputs", "reads")

    def __init__(self, fn, node):
        self.fn, self.node = fn, node
        if isinstance(node, Run):
            self.kind = _RUN
            self.reads = list(node.inputs)
            self.outputs = list(node.outputs)
            return
        self.kind = _OP if isinstance(fn, type) else _CALL
        self.args, self.kwargs = node.args, node.kwargs
        self.reads = [a["value"] if isinstance(a, dict) and set(a) == {"value"} else None for a in node.args]
        self.outputs = [meta.name for meta in node.outputs]


def supported(steps: list, dtypes) -> bool:
    """Whether the plan can run without ``apply``: Ember's own (internal) ops only (``Op``s and the fused
    cells of ``nn.modules._rnn_fused``, whose forward computes on arrays), and no float16 value (which
    ``apply`` widens for numba's kernels)."""
    return "float16" not in dtypes and all(step.kind != _OP or step.fn._internal for step in steps)


class Program:
    """The steps of a compiled graph, with which values need gradients for a given set of inputs needing
    them (worked out once per such set)."""

    def __init__(self, steps: list, input_names: list, output_names: list, reads: list | None = None):
        self.steps, self.input_names, self.output_names = steps, input_names, output_names
        self._needs: dict = {}  # inputs' requires_grad flags -> per step, needs_input_grad (or None: no grad)
        # per step, the values read for the last time there (``reads``: every value name each step reads):
        # dropped from the forward's table at once, so their memory is reused for the next values as in eager
        self.drops = [[] for _ in steps]
        if reads is not None:
            last = {name: i for i, names in enumerate(reads) for name in names}
            kept = set(input_names) | set(output_names)
            for name, i in last.items():
                if name not in kept:
                    self.drops[i].append(name)

    def needs(self, flags: tuple) -> list:
        found = self._needs.get(flags)
        if found is None:
            requiring = {name for name, flag in zip(self.input_names, flags) if flag}
            found = []
            for step in self.steps:
                needs = tuple(name is not None and name in requiring for name in step.reads)
                if any(needs) and step.kind != _CALL:
                    found.append(needs)
                    requiring.update(step.outputs)
                else:
                    found.append(None)
            self._needs[flags] = found
        return found


def run(program: Program, values: dict, sizes: dict, needs: list | None, record: list | None) -> None:
    """Runs the plan forward on ``values`` (value name -> Tensor, the inputs bound), adding each step's outputs.
    With ``record``, each step's backward state is appended to it (its context, or its run's input arrays)."""
    drops = program.drops
    for i, (step, need) in enumerate(zip(program.steps, needs or [None] * len(program.steps))):
        if i and drops[i - 1]:
            for name in drops[i - 1]:
                del values[name]
        if step.kind == _RUN:
            arrays = [values[name]._data for name in step.reads]
            outs = step.fn.forward(arrays)
            for name, out in zip(step.outputs, outs):
                values[name] = Tensor._wrap(out)
            if record is not None:
                # the inputs' arrays and version counters: a value changed in place before the backward raises
                record.append((arrays, [(values[name], values[name]._vc[0]) for name in step.reads])
                              if need is not None else None)
            continue
        args = [decode(a, values, sizes, resolve_function) for a in step.args]
        kwargs = {k: decode(v, values, sizes, resolve_function) for k, v in step.kwargs.items()} \
            if step.kwargs else {}
        if step.kind == _CALL:
            out = step.fn(*args, **kwargs)
            outs = out if isinstance(out, tuple) else (out,)
            values.update(zip(step.outputs, outs))
            if record is not None:
                record.append(None)
            continue
        cls = step.fn
        ctx = object.__new__(cls)
        ctx.needs_input_grad = need if need is not None else (False,) * len(args)
        out = cls.forward(ctx, *args, **kwargs)
        outs = out if isinstance(out, tuple) else (out,)
        wrapped = [o if isinstance(o, Tensor) else Tensor._wrap(o if type(o) is np.ndarray else np.asarray(o))
                   for o in outs]
        values.update(zip(step.outputs, wrapped))
        if record is not None:
            if need is None:
                record.append(None)
                continue
            if ctx._output is True:  # save_output(): the output's array and version counter
                first = wrapped[0]
                ctx._output = (first._data, first._vc, first._vc[0])
            ctx._n_outputs = len(wrapped)
            ctx._output_shapes = tuple(w._data.shape for w in wrapped)
            ctx._output_dtypes = tuple(w._data.dtype for w in wrapped)
            ctx._in = tuple((name, args[k]._data.shape, args[k]._data.dtype) if needed else None
                            for k, (name, needed) in enumerate(zip(step.reads, need)))
            record.append(ctx)


def _fit(g, shape, dtype):
    """``g`` (a Tensor) summed back to ``shape`` (undoing broadcasting) and cast to ``dtype``."""
    data = g._data
    if data.shape != shape:
        extra = data.ndim - len(shape)
        axes = tuple(range(extra)) + tuple(extra + i for i, n in enumerate(shape) if n == 1 and data.shape[extra + i] != 1)
        if axes:
            data = data.sum(axis=axes, keepdims=True)
        if extra:
            data = data.reshape(shape)
    if data.dtype != dtype:
        data = data.astype(dtype)
    return g if data is g._data else Tensor._wrap(data)


def _add(adjoints: dict, name: str, g) -> None:
    old = adjoints.get(name)
    adjoints[name] = g if old is None else Tensor._wrap(old._data + g._data)


def backward_steps(program: Program, record: list, adjoints: dict) -> None:
    """The steps' backwards in reverse: ``adjoints`` (value name -> gradient Tensor) holds the outputs'
    gradients on entry and every value's on return."""
    steps = program.steps
    for i in range(len(steps) - 1, -1, -1):
        saved = record[i]
        if saved is None:
            continue
        step = steps[i]
        grads = [adjoints.pop(name, None) for name in step.outputs]
        if all(g is None for g in grads):
            continue
        if step.kind == _RUN:
            saved, versions = saved
            for k, (t, version) in enumerate(versions):
                if t._vc[0] != version:
                    raise RuntimeError(_inplace_message(t, k, _RunNode(), version))
            kernels = step.fn
            shape = kernels.shape or np.broadcast_shapes(*(a.shape for a in saved))
            arrays = [np.zeros(shape, kernels.dtype) if g is None else g._data for g in grads]
            results = kernels.backward(saved, arrays)
            for name, array, r in zip(step.reads, saved, results):
                _add(adjoints, name, _fit(Tensor._wrap(r), array.shape, array.dtype))
            continue
        ctx = saved
        if ctx._materialize_grads:
            grads = [Tensor._wrap(np.zeros(s, d)) if g is None else g
                     for g, s, d in zip(grads, ctx._output_shapes, ctx._output_dtypes)]
        result = type(ctx).backward(ctx, *grads)
        if not isinstance(result, tuple):
            result = (result,)
        for edge, g in zip(ctx._in, result):
            if edge is None or g is None:
                continue
            if not isinstance(g, Tensor):
                g = Tensor._wrap(np.asarray(g, dtype=edge[2]))
            _add(adjoints, edge[0], _fit(g, edge[1], edge[2]))
        record[i] = None  # (the copy's reference: its saved values go once the node is released)


class _RunNode:
    """A fused run as error messages name it."""

    @staticmethod
    def name() -> str:
        return "CompiledFusedBackward"


class CompiledFunction(Op):
    """A compiled graph as one op: ``apply(state, *inputs)`` with ``state = (program, sizes, flags)``, the
    inputs the graph's (parameters, buffers, constants, user inputs, in the graph's order)."""

    @staticmethod
    def forward(ctx, state_, *inputs):
        program, sizes, flags = state_
        values = dict(zip(program.input_names, inputs))
        record: list = []
        run(program, values, sizes, program.needs(flags), record)
        ctx.program, ctx.record = program, record
        ctx.set_materialize_grads(False)
        outs = tuple(values[name]._data for name in program.output_names)
        ctx.out_meta = [(o.shape, o.dtype) for o in outs]
        ctx.out_versions = [values[name]._vc for name in program.output_names]  # (shared with the outputs)
        return outs[0] if len(outs) == 1 else outs

    @staticmethod
    @once_differentiable
    def backward(ctx, *grads):
        if ctx._freed:
            raise RuntimeError(_FREED_MESSAGE)
        program = ctx.program
        record = list(ctx.record)  # (a copy: with retain_graph the graph's backward can run again)
        adjoints: dict = {}
        for name, g in zip(program.output_names, grads):
            if g is not None:
                _add(adjoints, name, g)
        backward_steps(program, record, adjoints)
        return (None,) + tuple(adjoints.get(name) if needed else None
                               for name, needed in zip(program.input_names, ctx.needs_input_grad[1:]))

    def _release(self) -> None:
        super()._release()
        self.record = None

    def name(self) -> str:
        return "CompiledFunctionBackward"


def call(program: Program, inputs: list, sizes: dict) -> dict:
    """Runs the compiled graph on ``inputs`` (Tensors in ``program.input_names``' order): the values by
    name, the graph's outputs made by one :class:`CompiledFunction` node when gradients are needed."""
    flags = tuple(t._requires_grad for t in inputs)
    values = dict(zip(program.input_names, inputs))
    if not (state.grad_enabled and any(flags)) or not program.output_names:
        run(program, values, sizes, None, None)
        return values
    outs = CompiledFunction.apply((program, sizes, flags), *inputs)
    outs = outs if isinstance(outs, tuple) else (outs,)
    node = next((o.grad_fn for o in outs if o.grad_fn is not None), None)
    if node is not None:  # an output changed in place is a value the steps saved: their checks see it, as eager's
        for o, vc in zip(outs, node.out_versions):
            o._vc = vc
    values.update(zip(program.output_names, outs))
    return values


__all__ = ["CompiledFunction", "Program", "Step", "call", "supported"]
