"""``ember.autograd.forward_ad``: forward-mode AD with ``torch.autograd.forward_ad``'s API.

Inside ``dual_level()``, ``make_dual(x, t)`` makes a "dual tensor": ``x``'s values carrying a tangent ``t``.
Every op applied to dual tensors gives a dual result whose tangent is the op's Jacobian-vector product,
and ``unpack_dual(y)`` returns ``(primal, tangent)``. Leaving the level drops every tangent.

How the tangents are computed (the design, and why). Ember has no forward formula per op, and writing one
for each of its ops (hundreds, in files of their own) would be a second derivative table to keep in step
with the backward formulas. Instead each op's tangent comes from its own backward formula, per op and
eagerly: while a level is active, ``Function.apply`` is hooked (the ``_batching_hook`` that vmap and
``ember.export`` use, so no op pays anything when no level is active). An op with a dual input runs on
stand-ins of its inputs that require grad, and the engine computes ``g = J^T u`` for a zero cotangent ``u``
with ``create_graph=True``; since ``g`` is linear in ``u``, differentiating ``<g, t>`` with respect to ``u``
gives ``J t`` (the double-vjp trick ``ember.func.jvp`` applies to whole functions; here it is applied to one
op at a time, so it needs an op's backward to be differentiable only in its incoming gradient, and a tangent
is there as soon as the op has run, as in torch). Computing tangents lazily at ``unpack_dual`` instead (one
double vjp over the whole recorded graph) would need a graph recorded for dual tensors that do not require
grad, which users would see in ``requires_grad`` / ``grad_fn``, and nothing under ``no_grad``. The stand-ins
are leaves sharing the inputs' arrays, so each double vjp walks one node (the cost per op does not grow with
the depth of the graph); afterwards the op's node is connected as torch's would be: it records a graph
exactly when torch's does (grad mode on and an input requiring grad), a primal that does not require grad
never becomes a leaf that collects ``.grad``, and forward AD works under ``no_grad`` as torch's does. An
in-place op gives its tensor the result's tangent: through the rebased ``grad_fn`` when the tensor records a
graph, else through ``written_in_place``, which the in-place mechanism (``ops/inplace.py``) calls. A custom
``Function`` with a ``jvp`` staticmethod gets its own formula (``ctx.save_for_forward`` keeps tensors for it,
read in ``jvp`` as ``ctx.saved_tensors``); a user's ``Function`` without one raises torch's
``NotImplementedError``.

What differs from torch: an op whose backward is a raw kernel (once differentiable) raises an error naming
it; complex dual tensors are not supported; a tangent is kept per tensor, so an op on a *view* gives
the view its own tangent (an in-place change through a view updates the base's tangent only when the base
records a graph); ``vmap`` or ``ember.export`` started inside a level replace its hook (``unpack_dual`` then
raises); tangents are not themselves differentiable (no forward-over-reverse). ``ember.func.jvp`` stays the
double-vjp of a whole function: it composes with ``vmap`` (``jacfwd``, ``hessian``), which this hook does not.

Example:
    >>> import ember
    >>> import ember.autograd.forward_ad as fwAD
    >>> x, v = ember.tensor([1.0, 2.0]), ember.tensor([1.0, 0.0])
    >>> with fwAD.dual_level():
    ...     y = fwAD.make_dual(x, v) ** 2
    ...     fwAD.unpack_dual(y).tangent
    tensor([2., 0.])
"""

from __future__ import annotations

import functools
import weakref
from typing import NamedTuple

import numpy as np

from ..tensor import Tensor
from .engine import grad as autograd_grad
from .function import Function
from .grad_mode import enable_grad, state

__all__ = ["UnpackedDualTensor", "dual_level", "enter_dual_level", "exit_dual_level", "make_dual", "unpack_dual"]


class _Level:
    """The one active level: tangents by tensor (``id``) or, for a tensor in a graph, by its place in the graph
    (``(id(grad_fn), output_nr)``), so that the copy an in-place op makes of a tensor that records a graph
    (same node, same place) and the tensor rebased onto the in-place op find their tangents."""

    def __init__(self, index: int, previous_hook):
        self.index = index
        self.previous_hook = previous_hook
        self.tangents: dict = {}

    def key(self, t: Tensor):
        return (t.grad_fn, (id(t.grad_fn), t._output_nr)) if t.grad_fn is not None else (t, id(t))

    def tangent(self, t: Tensor):
        owner, key = self.key(t)
        entry = self.tangents.get(key)
        if entry is None or entry[0]() is not owner:
            return None
        return entry[1]

    def set_tangent(self, t: Tensor, tangent: Tensor) -> None:
        owner, key = self.key(t)
        tangents = self.tangents
        self.tangents[key] = (weakref.ref(owner, lambda _ref: tangents.pop(key, None)), tangent)


_level: _Level | None = None  # global, as torch's ``_current_level``


def _hook_value(hook):
    return None if hook is None else staticmethod(hook)


def enter_dual_level() -> int:
    """Enters a forward AD level (the one level: torch does not nest them) and returns its index, 0."""
    global _level
    if _level is not None:
        raise RuntimeError("Nested forward mode AD is not supported at the moment")
    _level = _Level(0, Function._batching_hook)
    Function._batching_hook = staticmethod(_hook)
    return _level.index


def exit_dual_level(*, level: int | None = None) -> None:
    """Leaves the current level; every tangent made inside it is dropped."""
    global _level
    current = -1 if _level is None else _level.index
    if level is None:
        level = current
    if level != current:
        raise RuntimeError("Trying to exit a forward AD level that was not the last one that was created. "
                           "This is not supported.")
    if _level is None:
        raise RuntimeError("Dual level must be a positive number.")
    Function._batching_hook = _hook_value(_level.previous_hook)  # (also when a vmap inside has replaced it)
    _level.tangents.clear()
    _level = None


class dual_level:
    """Context manager (or decorator) for forward AD: ``enter_dual_level`` on entry, ``exit_dual_level`` on exit.

    Example:
        >>> import ember
        >>> import ember.autograd.forward_ad as fwAD
        >>> with fwAD.dual_level():
        ...     out = fwAD.make_dual(ember.tensor([3.0]), ember.tensor([1.0])).exp()
        ...     tangent = fwAD.unpack_dual(out).tangent
        >>> fwAD.unpack_dual(out).tangent is None  # the level is gone
        True
    """

    def __enter__(self) -> int:
        return enter_dual_level()

    def __exit__(self, *exc) -> None:
        exit_dual_level()

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with dual_level():
                return func(*args, **kwargs)

        return wrapper


class UnpackedDualTensor(NamedTuple):
    """What :func:`unpack_dual` returns: the ``primal`` (a view without tangent) and the ``tangent`` (or None)."""

    primal: Tensor
    tangent: Tensor | None


class _View(Function):
    """The dual tensor ``make_dual`` returns for a primal that records a graph: an alias of it (torch: a view)."""

    _internal = True

    @staticmethod
    def forward(ctx, x):
        return x._data

    @staticmethod
    def backward(ctx, grad):
        return grad

    def name(self) -> str:
        return "ViewBackward"


class _Alias(_View):
    """The primal ``unpack_dual`` returns for a dual tensor that records a graph (torch's ``AliasBackward``)."""

    def name(self) -> str:
        return "AliasBackward"


def _untracked_view(t: Tensor) -> Tensor:
    view = Tensor._wrap(t._data, False, None, 0, t._vc)
    view._base = t if t._base is None else t._base
    return view


def _view(cls, t: Tensor) -> Tensor:
    if not (state.grad_enabled and t._requires_grad):
        return _untracked_view(t)
    with _hook_off():
        view = cls.apply(t)
    view._base = t if t._base is None else t._base
    return view


def _check_level(level, what: str) -> _Level:
    current = -1 if _level is None else _level.index
    if level is None:
        level = current
    if level < 0:
        raise RuntimeError("Trying to create a dual Tensor for forward AD but no level exists, make sure to "
                           "enter_dual_level() first.")
    if level != current:
        raise RuntimeError(f"Invalid level given to {what}")
    return _level


def make_dual(tensor: Tensor, tangent: Tensor, *, level: int | None = None) -> Tensor:
    """A dual tensor: an alias of ``tensor`` carrying ``tangent`` (kept as it is when its memory layout is
    ``tensor``'s, else copied into that layout), at the current level.

    Example:
        >>> import ember
        >>> import ember.autograd.forward_ad as fwAD
        >>> with fwAD.dual_level():
        ...     dual = fwAD.make_dual(ember.tensor([0.0]), ember.tensor([2.0]))
        ...     fwAD.unpack_dual(ember.sin(dual)).tangent
        tensor([2.])
    """
    current = _check_level(level, "_make_dual")
    for name, t in (("primal", tensor), ("tangent", tangent)):
        if not isinstance(t, Tensor):
            raise TypeError(f"make_dual(): expected the {name} to be a Tensor, got {type(t).__name__}")
        if t._data.dtype.kind not in "fc":
            raise ValueError(f"Expected {name} to be floating point or complex, but got: {t.dtype}")
        if t._data.dtype.kind == "c":
            raise NotImplementedError(f"make_dual(): Ember's forward AD does not support complex tensors (the "
                                      f"{name} is {t.dtype})")
    if tangent.shape != tensor.shape:
        raise RuntimeError(f"Trying to set a forward gradient that has a different size than that of the original "
                           f"Tensor, this is not supported. Tensor is of size {list(tensor.shape)} while the given "
                           f"forward gradient is of size {list(tangent.shape)}.")
    if current.tangent(tensor) is not None:
        raise RuntimeError(f"Making a dual Tensor based on a Tensor that already has a forward gradient at the same "
                           f"level {current.index} is not supported.")
    if tangent._data.strides != tensor._data.strides:  # torch stores the tangent in the primal's layout
        array = np.empty_like(tensor._data, dtype=tangent._data.dtype)
        np.copyto(array, tangent._data)
        tangent = Tensor._wrap(array)
    dual = _view(_View, tensor)
    current.set_tangent(dual, tangent)
    return dual


def unpack_dual(tensor: Tensor, *, level: int | None = None) -> UnpackedDualTensor:
    """``(primal, tangent)`` of ``tensor`` at the current level: ``primal`` a view of it without tangent,
    ``tangent`` as stored (None for a tensor without one, and outside any level).

    Example:
        >>> import ember
        >>> import ember.autograd.forward_ad as fwAD
        >>> fwAD.unpack_dual(ember.tensor([1.0])).tangent is None
        True
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"_unpack_dual(): argument 'dual' (position 1) must be Tensor, not {type(tensor).__name__}")
    if level is None and _level is None:
        return UnpackedDualTensor(tensor, None)
    if level is not None and level < 0:
        return UnpackedDualTensor(tensor, None)
    if _level is None or level not in (None, _level.index):
        raise RuntimeError("Invalid level given to _fw_primal")
    if Function._batching_hook is not _hook:
        raise RuntimeError("unpack_dual(): ember.func.vmap or ember.export ran inside dual_level() and replaced its hook "
                           "on Function.apply, so the ops run since have no tangents; call them outside the level")
    tangent = _level.tangent(tensor)
    return UnpackedDualTensor(_view(_Alias, tensor), tangent)


def written_in_place(target: Tensor, result: Tensor) -> None:
    """Called by the in-place ops' one mechanism (``ops/inplace.py``) once ``result``'s values are written into
    ``target``: ``target``'s tangent becomes ``result``'s, written into its existing tangent as torch does
    (zeros when the result has none). A no-op when no level is active."""
    level = _level
    if level is None:
        return
    new, old = level.tangent(result), level.tangent(target)
    if new is None and old is None or new is old:
        return
    if old is None:
        level.set_tangent(target, Tensor._wrap(np.array(new._data, dtype=target._data.dtype)))
        return
    np.copyto(old._data, 0 if new is None else new._data, casting="unsafe")
    old._vc[0] += 1


# --- the hook on Function.apply ------------------------------------------------------------------------


class _hook_off:
    """Ops run inside the hook (the op itself on stand-ins, the backward passes) are plain ops."""

    def __enter__(self):
        Function._batching_hook = _hook_value(_level.previous_hook)

    def __exit__(self, *exc):
        Function._batching_hook = staticmethod(_hook)


def _hook(cls, args, kwargs):
    level = _level
    tangents = [level.tangent(a) if isinstance(a, Tensor) else None for a in args]
    if all(t is None for t in tangents):
        previous = level.previous_hook
        return NotImplemented if previous is None else previous(cls, args, kwargs)
    with _hook_off():
        return _dual_apply(level, cls, args, kwargs, tangents)


def _stand_in(a: Tensor) -> Tensor:
    """A leaf that requires grad in ``a``'s place, sharing its array and version counter."""
    return Tensor._wrap(a._data, True, None, 0, a._vc)


def _dual_apply(level: _Level, cls, args, kwargs, tangents):
    recording = state.grad_enabled
    tracked = [recording and isinstance(a, Tensor) and a._requires_grad for a in args]
    # every input with a tangent or a graph of its own runs as a leaf stand-in, so that the double vjp walks this
    # op's node alone, not the history behind it (which would make a long forward quadratic)
    stand_ins = [_stand_in(a) if t is not None or r else a for a, t, r in zip(args, tangents, tracked)]
    with enable_grad():
        out = cls.apply(*stand_ins, **kwargs)
    outputs = out if isinstance(out, tuple) else (out,)
    chosen = [i for i, o in enumerate(outputs) if isinstance(o, Tensor) and o.grad_fn is not None]
    out_tangents = []
    if chosen:
        node = outputs[chosen[0]].grad_fn
        differentiable = [outputs[i] for i in chosen]
        if cls.jvp is not Function.jvp:
            out_tangents = _custom_jvp(cls, node, args, stand_ins, tangents, len(chosen))
        elif not cls._internal and not cls.__module__.startswith("ember."):
            raise NotImplementedError("You must implement the jvp function for custom autograd.Function to use it "
                                      "with forward mode AD.")
        else:
            out_tangents = _double_vjp(cls, differentiable, stand_ins, tangents)
        node._edges = tuple(_connected_edge(e, s, a, r) for e, s, a, r in zip(node._edges, stand_ins, args, tracked))
    if not any(tracked):
        outputs = tuple(Tensor._wrap(o._data, False, None, o._output_nr) if isinstance(o, Tensor) else o
                        for o in outputs)
    for i, tangent in zip(chosen, out_tangents):
        if tangent is not None:
            level.set_tangent(outputs[i], tangent)
    return outputs if isinstance(out, tuple) else outputs[0]


def _connected_edge(edge, stand_in, a, tracked: bool):
    """The op's edge for input ``a`` as torch records it: to ``a`` itself when ``a`` records a graph, else none.
    The stand-in (which the op may have saved for its backward) becomes an alias of ``a``, so that gradients
    of gradients (``create_graph``) through the saved stand-in reach ``a`` too."""
    if stand_in is a or edge is None:
        return edge
    if not tracked:
        return None
    alias = _Alias.apply(a)
    stand_in.grad_fn, stand_in._output_nr = alias.grad_fn, 0
    return (a.grad_fn or a, a._output_nr, edge[2], edge[3])


def _zeros(like: Tensor) -> Tensor:
    return Tensor._wrap(np.zeros(like._data.shape, like._data.dtype))


def _double_vjp(cls, outputs, stand_ins, tangents):
    """``J t`` for each of the op's differentiable ``outputs``: ``d/du <J^T u, t>`` (``J^T u`` is linear in ``u``)."""
    inputs = [s for s, t in zip(stand_ins, tangents) if t is not None]
    chosen = [t for t in tangents if t is not None]
    cotangents = [_zeros(o).requires_grad_() for o in outputs]
    try:
        with enable_grad():
            vjps = autograd_grad(outputs, inputs, cotangents, retain_graph=True, create_graph=True, allow_unused=True)
            pairs = [(g, t.to(g.dtype) if t.dtype != g.dtype else t)
                     for g, t in zip(vjps, chosen) if g is not None and g.requires_grad]
            found = [None] * len(outputs)
            if pairs:
                found = autograd_grad([g for g, _ in pairs], cotangents, [t for _, t in pairs], allow_unused=True)
    except RuntimeError as error:
        if "only once differentiable" not in str(error) and "double backward" not in str(error):
            raise
        name = cls.__name__
        raise RuntimeError(f"forward AD: {name} has no forward-mode formula in Ember: a tangent is computed by "
                           f"differentiating the op's backward (double vjp), and {name}'s backward is a raw kernel "
                           f"that cannot be differentiated ({error})") from None
    if all(g is None for g in vjps):  # the op does not depend on the dual inputs (torch: no tangent)
        return [None] * len(outputs)
    return [(_zeros(o) if f is None else f.detach()) for o, f in zip(outputs, found)]


def _custom_jvp(cls, node, args, stand_ins, tangents, n_outputs):
    """A user's ``jvp(ctx, *input_tangents)``: zeros for tensor inputs without tangent, None for the others,
    with ``ctx.saved_tensors`` what ``ctx.save_for_forward`` kept (the inputs themselves, not the stand-ins)."""
    given = [t if t is not None else (_zeros(a) if isinstance(a, Tensor) else None) for a, t in zip(args, tangents)]
    inputs = {id(s): a for s, a in zip(stand_ins, args)}
    saved = tuple(inputs.get(id(t), t) for t in node._saved_for_forward)
    kept = node._saved, node._saved_versions, node._saved_outputs
    node._saved, node._saved_versions, node._saved_outputs = saved, (None,) * len(saved), False
    try:
        result = cls.jvp(node, *given)
    finally:
        node._saved, node._saved_versions, node._saved_outputs = kept
    result = result if isinstance(result, tuple) else (result,)
    if len(result) != n_outputs:
        raise RuntimeError(f"{cls.__name__}.jvp returned {len(result)} tangents for {n_outputs} differentiable "
                           f"outputs")
    return list(result)
