"""The autograd engine: one place for the bookkeeping every op shares.

It walks the graph iteratively (no recursion limit), in an order where a node runs
only after every gradient for its outputs has arrived; sums each input gradient back
to the input's shape (undoing broadcasting), checks it, accumulates into leaves'
``.grad``, runs tensor hooks, and frees saved tensors unless ``retain_graph``.
"""

from __future__ import annotations

import os
import sys
import traceback

import numpy as np

from ..tensor import Tensor
from .function import _FREED_MESSAGE, _QUIET, Function, _numpy_errors
from .grad_mode import state

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None) -> None:
    """Accumulates gradients of ``tensors`` into the ``.grad`` of the leaves they depend on."""
    tensors = (tensors,) if isinstance(tensors, Tensor) else tuple(tensors)
    if grad_tensors is None or isinstance(grad_tensors, Tensor):
        grad_tensors = (grad_tensors,) * len(tensors) if grad_tensors is None else (grad_tensors,)
    roots = _make_roots(tensors, grad_tensors, create_graph)
    if retain_graph is None:
        retain_graph = create_graph
    if inputs is None:
        _execute(roots, retain_graph, create_graph, None, accumulate=True)
        return
    # only ``inputs`` accumulate: the graph runs as for ``grad`` and each input's gradient is added to its
    # ``.grad`` (a non-leaf that retains its gradient has had it stored by its hook already)
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    if not inputs:
        raise RuntimeError("'inputs' argument to backward() cannot be empty.")
    capture = _capture_slots(inputs)
    _execute(roots, retain_graph, create_graph, capture, accumulate=False)
    for t, key in zip(inputs, capture["keys"]):
        g = capture["grads"].get(key)
        if g is not None and not (t.grad_fn is not None and t.retains_grad):
            _accumulate(t, type(g)._wrap(g._data.copy(), g._requires_grad, g.grad_fn, g._output_nr), create_graph)
            for hook in tuple(t._hooks.values()) if t.grad_fn is None and t._hooks else ():
                if isinstance(hook, _PostAccumulateHook):
                    hook.fn(t)


def tensor_backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None) -> None:
    """Computes the gradient of this tensor with respect to the graph's leaves."""
    backward(self, gradient, retain_graph, create_graph, inputs)


tensor_backward.__name__, tensor_backward.__qualname__ = "backward", "Tensor.backward"  # bound as that


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=None,
         materialize_grads=False):
    """Computes and returns the gradients of ``outputs`` with respect to ``inputs``.

    Leaves' ``.grad`` are not touched. Example (a second derivative):
        >>> import ember
        >>> x = ember.tensor(3.0, requires_grad=True)
        >>> (dy,) = ember.autograd.grad(x ** 3, x, create_graph=True)
        >>> ember.autograd.grad(dy, x)
        (tensor(18.),)
    """
    outputs = (outputs,) if isinstance(outputs, Tensor) else tuple(outputs)
    single_input = isinstance(inputs, Tensor)
    inputs = (inputs,) if single_input else tuple(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = (grad_outputs,) * len(outputs) if grad_outputs is None else (grad_outputs,)
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"One of the differentiated Tensors (input {i}) does not require grad")
    if allow_unused is None:
        allow_unused = materialize_grads
    roots = _make_roots(outputs, grad_outputs, create_graph)
    if retain_graph is None:
        retain_graph = create_graph
    capture = _capture_slots(inputs)
    _execute(roots, retain_graph, create_graph, capture, accumulate=False)
    result = []
    for i, (t, key) in enumerate(zip(inputs, capture["keys"])):
        g = capture["grads"].get(key)
        if g is None:
            if materialize_grads:
                g = Tensor._wrap(np.zeros_like(t._data))
            elif not allow_unused:
                raise RuntimeError(
                    f"One of the differentiated Tensors (input {i}) appears to not have been used in the "
                    "graph. Set allow_unused=True if this is the desired behavior."
                )
        elif not create_graph:
            g = g.detach()
        result.append(g)
    return tuple(result)


def restated_grads(restate, inputs, needs, upstream) -> tuple:
    """A raw-kernel backward's path while a graph is recorded (``create_graph=True``): the gradients of
    ``restate(*inputs)``, the op's forward restated in differentiable ops (one output, or a tuple), under the
    gradient ``upstream`` (one, or a tuple with None for an output that got none), so that they can be
    differentiated again (gradient penalties, MAML). ``inputs`` are the op's tensors as it saw them, in
    argument order (None for a non-tensor); one gradient per input, None where ``needs`` is false.

    Each input that needs a gradient is replaced by a view of it first, so that the gradient caught is that
    operand's own even when one tensor is passed twice (self-attention's ``q is k is v``) or one input is
    computed from another (caught at the inputs themselves, such a gradient would be counted twice)."""
    views = tuple(t.view_as(t) if need and t is not None else t for t, need in zip(inputs, needs))
    wanted = [t for t, need in zip(views, needs) if need and t is not None]
    if not wanted:
        return (None,) * len(inputs)
    outputs = restate(*views)
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    upstream = upstream if isinstance(upstream, tuple) else (upstream,)
    pairs = [(out, g) for out, g in zip(outputs, upstream) if g is not None]
    got = iter(grad([out for out, _ in pairs], wanted, [g for _, g in pairs], create_graph=True,
                    materialize_grads=True))
    return tuple(next(got) if need and t is not None else None for t, need in zip(views, needs))


def _make_roots(tensors, grad_tensors, create_graph):
    if len(grad_tensors) != len(tensors):
        raise RuntimeError(f"got {len(grad_tensors)} gradients for {len(tensors)} tensors")
    roots = []
    for i, (t, g) in enumerate(zip(tensors, grad_tensors)):
        if not t.requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
        if g is None:
            if t._data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if t._data.dtype.kind == "c":
                raise RuntimeError("grad can be implicitly created only for real scalar outputs")
            g = Tensor._wrap(np.ones_like(t._data))
        elif not isinstance(g, Tensor):
            g = Tensor._wrap(np.asarray(g, dtype=t._data.dtype))
        if g.shape != t.shape:
            raise RuntimeError(
                f"Mismatch in shape: grad_output[{i}] has a shape of {tuple(g.shape)} and output[{i}] "
                f"has a shape of {tuple(t.shape)}."
            )
        roots.append((t, g))
    return roots


def _capture_slots(inputs) -> dict:
    """Where each input's gradient is caught: a leaf by identity, a non-leaf at its node's output."""
    keys = [id(t) if t.grad_fn is None else (t.grad_fn, t._output_nr) for t in inputs]
    return {"keys": keys, "leaves": {k for k in keys if isinstance(k, int)},
            "nodes": {k[0] for k in keys if not isinstance(k, int)}, "grads": {}}


def _execute(roots, retain_graph, create_graph, capture, accumulate):
    buffers: dict = {}
    # the roots' arrays (by id) and the arrays this pass made a leaf's .grad (id -> array): never taken over
    # again, and the latter take the leaf's further contributions in place
    owned: dict = {}
    finished: dict = {}  # leaves with post-accumulate hooks whose .grad this pass changed, in order
    root_nodes = []
    for t, g in roots:
        owned[id(g._data)] = None
        if t.grad_fn is None:  # backward() on a leaf
            _deliver_to_leaf(t, g, create_graph, capture, accumulate, owned, finished)
            continue
        node = t.grad_fn
        buf = buffers.get(node)
        if buf is None:
            buf = buffers[node] = [None] * node._n_outputs
            root_nodes.append(node)
        nr = t._output_nr
        buf[nr] = g if buf[nr] is None else buf[nr] + g
    buf = g = None

    dependencies = _count_dependencies(root_nodes)
    needed = _needed_nodes(root_nodes, capture) if capture is not None and not accumulate else None
    ready = [n for n in root_nodes if dependencies.get(n, 0) == 0]

    previous_mode = state.grad_enabled
    state.grad_enabled = create_graph
    quiet = _numpy_errors.set(_QUIET)  # no numpy warnings from backward formulas (hooks included), as torch
    try:
        while ready:
            node = ready.pop()
            grads = buffers.pop(node)
            if node._out_hooks:
                _run_output_hooks(node, grads)
            if capture is not None and node in capture["nodes"]:
                for nr, g in enumerate(grads):
                    if (node, nr) in capture["keys"] and g is not None:
                        capture["grads"][(node, nr)] = g
            if needed is not None and node not in needed:
                continue
            if node._freed and node._saved_versions:
                raise RuntimeError(_FREED_MESSAGE)
            if needed is None or not node._internal:  # (a user's Function sees torch's needs_input_grad)
                input_grads = list(node._call_backward(grads))
            else:
                input_grads = _call_for_needed(node, grads, needed, capture)
            grads = None  # the engine's own references go as soon as they are used: a leaf may take a
            if state.anomaly:  # gradient over only when nothing else holds it (_deliver_to_leaf)
                _check_anomaly(node, input_grads)
            if not retain_graph:
                node._release()
            for k, edge in enumerate(node._edges):
                g, input_grads[k] = input_grads[k], None
                if edge is None or g is None:
                    continue
                target, nr, shape, dtype = edge
                if not isinstance(g, Tensor):
                    g = Tensor._wrap(np.asarray(g, dtype=dtype))
                if g._data.shape != shape or g._data.dtype != dtype:
                    g = _fit_gradient(g, shape, dtype, node)
                if isinstance(target, Function):
                    buf = buffers.get(target)
                    if buf is None:
                        buf = buffers[target] = [None] * target._n_outputs
                    buf[nr] = g if buf[nr] is None else buf[nr] + g
                    buf = None
                    dependencies[target] -= 1
                    if dependencies[target] == 0:
                        ready.append(target)
                else:
                    _deliver_to_leaf(target, g, create_graph, capture, accumulate, owned, finished,
                                     retain_graph)
                g = None
    finally:
        state.grad_enabled = previous_mode
        _numpy_errors.reset(quiet)
    for leaf in finished.values():  # each once, after its gradient is complete
        for hook in tuple(leaf._hooks.values()):
            if isinstance(hook, _PostAccumulateHook):
                hook.fn(leaf)


def _call_for_needed(node, grads, needed, capture) -> list:
    """An op's backward in a ``grad`` pass, told (through ``needs_input_grad``) to compute only the gradients
    that lead to a captured input: a Linear's weight and bias gradients are not built (and, under
    ``create_graph``, not recorded) when only its input's is wanted, as torch's ops are told (a PINN's
    residual through its ``create_graph`` grads: 5-9 % less time, benchmarks/README.md)."""
    full = node.needs_input_grad
    leaves, targets = capture["leaves"], capture["nodes"]
    wanted = tuple([need and edge is not None and (
        edge[0] in needed or edge[0] in targets if isinstance(edge[0], Function) else id(edge[0]) in leaves)
        for need, edge in zip(full, node._edges)])
    if wanted == full:
        return list(node._call_backward(grads))
    node.needs_input_grad = wanted
    try:
        return list(node._call_backward(grads))
    finally:
        node.needs_input_grad = full


def _count_dependencies(root_nodes) -> dict:
    dependencies: dict = {}
    seen = set(root_nodes)
    stack = list(root_nodes)
    while stack:
        node = stack.pop()
        for edge in node._edges:
            if edge is None or not isinstance(edge[0], Function):
                continue
            target = edge[0]
            dependencies[target] = dependencies.get(target, 0) + 1
            if target not in seen:
                seen.add(target)
                stack.append(target)
    return dependencies


def _needed_nodes(root_nodes, capture) -> set:
    """Nodes from which a captured input can be reached; ``grad`` runs nothing else.

    Found by walking the reversed edges back from the nodes that feed an input."""
    leaves, targets = capture["leaves"], capture["nodes"]
    parents: dict = {}
    frontier = []
    seen, stack = set(root_nodes), list(root_nodes)
    while stack:
        node = stack.pop()
        for edge in node._edges:
            if edge is None:
                continue
            target = edge[0]
            if isinstance(target, Function):
                parents.setdefault(target, []).append(node)
                if target in targets:
                    frontier.append(node)
                if target not in seen:
                    seen.add(target)
                    stack.append(target)
            elif id(target) in leaves:
                frontier.append(node)
    needed: set = set()
    while frontier:
        node = frontier.pop()
        if node not in needed:
            needed.add(node)
            frontier.extend(parents.get(node, ()))
    return needed


def _deliver_to_leaf(leaf, g, create_graph, capture, accumulate, owned, finished, retain_graph=True) -> None:
    """Hands the gradient ``g`` to ``leaf``: its hooks, then the capture of ``grad`` or ``.grad``.

    ``.grad`` takes the gradient's array over without a copy when nothing but the engine holds it (as
    torch's AccumulateGrad steals a gradient whose use count is one): no other tensor or view shares the
    array, no hook kept the tensor, no other leaf took it, and the pass neither keeps its graph nor builds
    one. Otherwise ``.grad`` gets a copy, so that writing into ``.grad`` (an optimizer's ``zero_grad``, a
    user's ``p.grad.mul_``) can never change a tensor someone else holds."""
    from_caller = True
    if leaf._hooks:
        for hook in tuple(leaf._hooks.values()):  # a snapshot: a hook may remove itself
            replaced = hook(g)
            if replaced is not None:
                g, from_caller = replaced, False
            replaced = None
        if accumulate and any(isinstance(h, _PostAccumulateHook) for h in leaf._hooks.values()):
            finished[id(leaf)] = leaf
    if capture is not None and id(leaf) in capture["leaves"]:
        grads = capture["grads"]
        grads[id(leaf)] = g if id(leaf) not in grads else grads[id(leaf)] + g
        return
    if not accumulate:
        return
    grad = leaf.grad
    if (grad is not None and not create_graph and type(g._data) is np.ndarray
            and owned.get(id(grad._data)) is grad._data):
        np.add(grad._data, g._data, out=grad._data)  # a .grad this pass made: summed in place, as torch does
        grad._vc[0] += 1
        return
    grad = None
    data = g._data
    if type(data) is np.ndarray:
        take = not (retain_graph or create_graph) and id(data) not in owned and _exclusive(g, data, from_caller)
    else:  # vmap's batched arrays, meta arrays: taken when not a view and not taken before
        take = id(data) not in owned and data.base is None
    if not take:
        data = data.copy()
        g = type(g)._wrap(data, g._requires_grad, g.grad_fn, g._output_nr)
    if leaf.grad is None and type(data) is np.ndarray:  # ``data`` becomes ``.grad``
        owned[id(data)] = data
    data = None
    _accumulate(leaf, g, create_graph)


def _probe_callee(obj) -> int:
    return sys.getrefcount(obj)


def _probe_caller() -> int:
    obj = object()
    return _probe_callee(obj)


# References to a gradient tensor when ``_exclusive`` counts them: the engine loop's variable, the
# parameter of ``_deliver_to_leaf`` and the argument of ``sys.getrefcount`` (measured, not assumed: the
# count differs between Python versions)
_CALL_REFS = _probe_caller()
_LOCAL_REFS = sys.getrefcount(object())  # the argument alone


def _exclusive(g, data, from_caller: bool) -> bool:
    """Whether only the engine holds the gradient tensor ``g`` and its array ``data``.

    ``g`` is held by the engine loop's variable (unless a hook replaced it), by ``_deliver_to_leaf`` and
    by ``_exclusive``'s own frames; its array by ``g``, ``_deliver_to_leaf``'s and this frame's ``data``.
    Any further reference (a hook that kept the tensor, a second tensor over the same array, a retained
    gradient, a view) makes a copy necessary, as does a read-only array. A view qualifies only when it is
    a C-contiguous window over the whole of an array that nothing else holds (a sum reshaped, a product
    transposed back). An array a numba kernel allocated has numba's ``_MemInfo`` as its base."""
    if not data.flags.writeable:
        return False
    # g: caller's variable (if it is the caller's tensor), _deliver_to_leaf's parameter, this parameter
    expected_tensor = _CALL_REFS + 1 if from_caller else _CALL_REFS
    if sys.getrefcount(g) > expected_tensor:
        return False
    # data: g's slot, _deliver_to_leaf's variable, this parameter, getrefcount's argument
    if sys.getrefcount(data) > _CALL_REFS + 1:
        return False
    base = data.base
    if base is None:
        return True
    if type(base).__name__ == "_MemInfo":  # memory a numba kernel allocated and returned: exclusive when
        # numba counts one owner (no other array shares it), it wraps no Python object, and only ``data``
        # refers to it (its base slot, this variable, the argument)
        return base.refcount == 1 and base.parent is None and sys.getrefcount(base) <= _LOCAL_REFS + 2
    if not (type(base) is np.ndarray and base.base is None and data.flags.c_contiguous
            and data.nbytes == base.nbytes):
        return False
    # base: data's reference, this variable, the argument; and the tensor it was viewed from (an
    # Ember view keeps its base tensor in ``_base``) when nothing but ``g`` holds that tensor
    allowed = _LOCAL_REFS + 2
    owner = g._base
    if owner is not None:
        if owner._data is not base or sys.getrefcount(owner) > _LOCAL_REFS + 2:
            return False
        allowed += 1
    return sys.getrefcount(base) <= allowed


class _PostAccumulateHook:
    """A hook run with the leaf tensor once its ``.grad`` holds this backward pass's whole gradient.

    It sits among the leaf's gradient hooks, where it changes nothing; the engine calls ``fn(leaf)`` at
    the end of the pass (a leaf used twice gets two contributions but one call).
    """

    __slots__ = ("fn",)

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, grad):
        return None


def register_post_accumulate_grad_hook(self, hook):
    """Registers ``hook(tensor)``, called after this leaf's gradient is accumulated into ``.grad``
    (PyTorch's ``Tensor.register_post_accumulate_grad_hook``); returns a handle with ``remove()``."""
    if self.grad_fn is not None:
        raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
    return self.register_hook(_PostAccumulateHook(hook))


def _accumulate(t, g, create_graph) -> None:
    if not create_graph:
        g = g.detach()
    if t.grad is None:
        t.grad = g
    elif create_graph:
        t.grad = t.grad + g
    elif t.grad.is_sparse or g.is_sparse:  # a sparse COO gradient adds by its own rules (dense + sparse: dense)
        t.grad = (g + t.grad if t.grad.is_sparse and not g.is_sparse else t.grad + g).detach()
    else:
        t.grad = Tensor._wrap(t.grad._data + g._data)


def _fit_gradient(g, shape, dtype, node):
    """Sums a broadcast gradient back to its input's shape and casts it to the input's dtype."""
    if g._data.shape != shape:
        extra = g.ndim - len(shape)
        if extra < 0:
            raise _invalid_gradient(g, shape, node)
        axes = tuple(range(extra)) + tuple(
            extra + i for i, n in enumerate(shape) if n == 1 and g._data.shape[extra + i] != 1
        )
        if axes:
            g = g.sum(dim=axes, keepdim=True)
        if extra:
            g = g.reshape(g._data.shape[extra:])
        if g._data.shape != shape:
            raise _invalid_gradient(g, shape, node)
    if g._data.dtype != dtype:
        g = g.to(dtype)
    return g


def _invalid_gradient(g, shape, node):
    return RuntimeError(
        f"Function {node.name()} returned an invalid gradient - got {list(g.shape)} but expected shape "
        f"compatible with {list(shape)}"
    )


def _run_output_hooks(node, grads) -> None:
    for nr, hooks in node._out_hooks.items():
        g = grads[nr]
        if g is None:
            continue
        hooks = tuple(hooks.values())  # a snapshot: a hook may remove itself
        for hook in hooks:
            if not getattr(hook, "retains_grad", False):
                replaced = hook(g)
                if replaced is not None:
                    g = replaced
        for hook in hooks:  # retain_grad stores the gradient the other hooks made, whatever their order
            if getattr(hook, "retains_grad", False):
                hook(g)
        grads[nr] = g


def _check_anomaly(node, input_grads) -> None:
    for i, g in enumerate(input_grads):
        if g is None:
            continue
        data = getattr(g, "_data", g)
        if isinstance(data, np.ndarray) and data.dtype.kind == "f" and np.isnan(data).any():
            where = ""
            if node._forward_trace is not None:
                frames = [f for f in node._forward_trace if not f.filename.startswith(_PACKAGE_DIR)]
                frames = frames or list(node._forward_trace)
                where = "\nThe forward call that created it:\n" + "".join(traceback.format_list(frames[-4:]))
            raise RuntimeError(f"Function '{node.name()}' returned nan values in its {i}th output.{where}")
