"""``Function``: the base of every differentiable op and of user-defined custom functions.

An instance of a Function is both the ``ctx`` its ``forward`` and ``backward`` see and
the node of the autograd graph (``tensor.grad_fn``). ``apply`` runs ``forward``, wraps
its result in tensors and, when recording, remembers one edge per input:
``(target, output_nr, shape, dtype)`` where ``target`` is the input's ``grad_fn``
or, for a leaf, the input tensor itself. The engine (``engine.py``) walks these edges.

Ember's own ops set ``_internal = True``: their ``forward`` receives tensors but
computes on ``._data`` (the arrays) and returns ndarrays, without the cost of a ``no_grad`` block.
A user's subclass, as in PyTorch, receives tensors and returns tensors.
"""

from __future__ import annotations

import traceback

import numpy as np

from .. import _device
from ..tensor import Tensor
from .grad_mode import no_grad, state

# numpy's floating-point warnings (log(0), 1/0, overflow in exp) never reach the user, as in PyTorch: Ember's
# own ops run forward with numpy's error state at "ignore", and the engine runs a whole backward pass so.
# numpy >= 2 keeps that state in a context variable; setting it directly is a few times cheaper than
# entering np.errstate (timings: benchmarks/README.md).
try:
    from numpy._core.umath import _extobj_contextvar as _numpy_errors
except ImportError:  # numpy 1.x: a per-thread state set by np.seterr

    class _numpy_errors:  # stands in for numpy 2's context variable
        set = staticmethod(lambda errors: np.seterr(**errors))
        reset = staticmethod(lambda old: np.seterr(**old))

    _QUIET = {"all": "ignore"}
else:
    with np.errstate(all="ignore"):
        _QUIET = _numpy_errors.get()

_FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you call "
    ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
    "graph a second time or if you need to access saved tensors after calling backward."
)


def _has_half(args, kwargs) -> bool:
    return any(isinstance(a, Tensor) and a._data.dtype == np.float16 for a in (*args, *kwargs.values()))


def _widen(value, dtype):
    """A float16 tensor as an untracked tensor of ``dtype``; anything else unchanged."""
    if isinstance(value, Tensor) and value._data.dtype == np.float16:
        return Tensor._wrap(value._data.astype(dtype))
    return value


def _narrow(out, dtype):
    """The forward's result with its ``dtype`` arrays rounded back to float16."""
    if isinstance(out, tuple):
        return tuple(_narrow(o, dtype) for o in out)
    if isinstance(out, np.ndarray) and out.dtype == dtype:
        return out.astype(np.float16)
    return out


def _half_error(cls, error: NotImplementedError) -> NotImplementedError:
    """numba's bare ``NotImplementedError: float16`` as PyTorch words a missing kernel, naming the op."""
    if str(error) != "float16":
        return error
    name = cls.__name__.removesuffix("Backward")
    return NotImplementedError(f'"{name}" not implemented for \'Half\' (float16); compute in float32 '
                               f"(x.float()) and convert back with .half()")


class Function:
    """Base class for differentiable operations with ``forward`` and ``backward`` side by side.

    Example:
        >>> import ember
        >>> class Cube(ember.autograd.Function):
        ...     @staticmethod
        ...     def forward(ctx, x):
        ...         ctx.save_for_backward(x)
        ...         return x ** 3
        ...     @staticmethod
        ...     def backward(ctx, grad):
        ...         (x,) = ctx.saved_tensors
        ...         return grad * 3 * x ** 2
        >>> x = ember.tensor(2.0, requires_grad=True)
        >>> Cube.apply(x).backward()
        >>> x.grad
        tensor(12.)
    """

    _internal = False
    # Ops whose backward is a raw kernel set this; differentiating their backward raises.
    once_differentiable = False
    _saved = ()
    _saved_versions = ()
    _saved_for_forward = ()
    _output = None
    _freed = False
    _out_hooks = None
    _non_differentiable = ()
    _materialize_grads = True
    _forward_trace = None
    _saved_outputs = False  # some saved tensors are this node's outputs (``_SavedOutput``)
    _output_shapes = ()
    _output_dtypes = ()
    # Set by ``ember.func.vmap`` while it runs: ``hook(cls, args, kwargs)`` applies the op to batched inputs
    # (one call for the whole batch) or returns NotImplemented. None otherwise, so the cost is one lookup.
    _batching_hook = None
    _meta = False  # made from meta tensors (see _call_backward)
    # numba has no float16. An op built on numba kernels sets this to ``np.float32``: float16 inputs are then
    # computed in float32 and the results rounded back to float16 (PyTorch's CPU kernels also compute half
    # in float). ``_half`` says a node ran so, for its backward.
    _half_compute = None
    _half = False

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("a Function subclass must implement forward(ctx, ...)")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("a Function subclass must implement backward(ctx, ...)")

    @staticmethod
    def jvp(ctx, *grad_inputs):
        """Forward-mode formula of a custom Function (``ember.autograd.forward_ad``): the outputs' tangents
        from the inputs' ones."""
        raise NotImplementedError("You must implement the jvp function for custom autograd.Function to use it "
                                  "with forward mode AD.")

    @staticmethod
    def setup_context(ctx, inputs, output):
        """PyTorch 2's other form: ``forward(*args)`` without ``ctx``, then ``setup_context(ctx, inputs,
        output)`` saves what ``backward`` needs (``inputs`` the tuple of ``forward``'s arguments)."""
        raise NotImplementedError("setup_context is not implemented.")

    # --- context API (PyTorch's names) -------------------------------------------------
    def save_for_backward(self, *tensors) -> None:
        """Keeps tensors for ``backward``; modifying one in place before then is an error."""
        self._saved = tensors
        self._saved_versions = tuple(t._vc[0] if hasattr(t, "_vc") else None for t in tensors)

    def save_for_forward(self, *tensors) -> None:
        """Keeps tensors for ``jvp`` (forward-mode AD), which reads them as ``ctx.saved_tensors``."""
        self._saved_for_forward = tensors

    def save_output(self) -> None:
        """Asks ``apply`` to keep the (single) output for ``backward`` as ``ctx.output``.

        The output is kept as its array and version counter, not as the tensor, so that
        node and output do not reference each other; ``ctx.output`` rebuilds the tensor
        with this node as its ``grad_fn``, which keeps higher-order gradients exact.
        """
        self._output = True

    @property
    def saved_tensors(self) -> tuple:
        if self._freed:
            raise RuntimeError(_FREED_MESSAGE)
        saved = self._saved
        if self._saved_outputs:  # outputs of this node, rebuilt with it as their grad_fn
            saved = tuple(t.tensor(self) if type(t) is _SavedOutput else t for t in saved)
        for i, (t, version) in enumerate(zip(saved, self._saved_versions)):
            if version is not None and t._vc[0] != version:
                raise RuntimeError(_inplace_message(t, i, self, version))
        return saved

    @property
    def output(self):
        if self._freed:
            raise RuntimeError(_FREED_MESSAGE)
        data, vc, version = self._output
        if vc[0] != version:
            raise RuntimeError(_inplace_message(Tensor._wrap(data), 0, self, version, current=vc[0], what="output"))
        return Tensor._wrap(data, True, self, 0, vc)

    def mark_non_differentiable(self, *tensors) -> None:
        self._non_differentiable = tuple(id(t) for t in tensors)

    def mark_dirty(self, *tensors) -> None:
        """Accepted for PyTorch compatibility; Ember's in-place ops track versions themselves."""

    def set_materialize_grads(self, value: bool) -> None:
        self._materialize_grads = bool(value)

    def name(self) -> str:
        return type(self).__name__ + "Backward"

    def __repr__(self) -> str:
        return f"<{self.name()}>"

    @property
    def next_functions(self) -> tuple:
        return tuple((None, 0) if e is None else (e[0], e[1]) for e in self._edges)

    def register_hook(self, hook):
        raise NotImplementedError("hooks on graph nodes are not supported; use Tensor.register_hook")

    # --- apply --------------------------------------------------------------------------
    @classmethod
    def apply(cls, *args, **kwargs):
        if cls._batching_hook is not None:
            out = cls._batching_hook(cls, args, kwargs)
            if out is not NotImplemented:
                return out
        meta = _device.meta_ids and _device.meta_inputs(args)  # an op on meta tensors: see _device
        # an op may say its output's shape and dtype without computing it (``meta``, same arguments)
        forward = cls.meta if meta and hasattr(cls, "meta") else cls.forward
        ctx = object.__new__(cls)
        needs = None
        if state.grad_enabled:
            mask, bit = 0, 1
            for a in args:
                if isinstance(a, Tensor) and a._requires_grad:
                    mask |= bit
                bit <<= 1
            if mask:
                needs = _needs(mask, len(args))
        record = needs is not None
        ctx.needs_input_grad = needs if record else _needs(0, len(args))

        if cls._internal:
            run_args, run_kwargs = args, kwargs
            if cls._half_compute is not None and _has_half(args, kwargs):
                ctx._half = True
                run_args = tuple(_widen(a, cls._half_compute) for a in args)
                run_kwargs = {k: _widen(v, cls._half_compute) for k, v in kwargs.items()}
            # (already quiet inside the engine's backward pass)
            quiet = None if _numpy_errors.get() is _QUIET else _numpy_errors.set(_QUIET)
            try:
                out = forward(ctx, *run_args, **run_kwargs)
            except ValueError as error:
                if "broadcast" not in str(error):
                    raise
                raise _broadcast_error(cls, args) from None
            except NotImplementedError as error:
                raise _half_error(cls, error) from None
            finally:
                if quiet is not None:
                    _numpy_errors.reset(quiet)
            if ctx._half:
                out = _narrow(out, cls._half_compute)
        else:
            with no_grad():
                if cls.setup_context is Function.setup_context:
                    out = forward(ctx, *args, **kwargs)
                else:  # PyTorch 2's form
                    out = forward(*args, **kwargs)
                    cls.setup_context(ctx, args, out)

        if meta:
            out = _device.as_meta(out)
            ctx._meta = True
        node = None
        if record:
            node = ctx
            ctx._edges = tuple([(a.grad_fn or a, a._output_nr, a._data.shape, a._data.dtype) if need else None
                                for a, need in zip(args, needs)])
            if state.anomaly:
                ctx._forward_trace = traceback.extract_stack()[:-1]

        if type(out) is np.ndarray:  # the common case: one array
            ctx._n_outputs = 1
            if node is None:
                result = Tensor._wrap(out)
            else:  # (no _output_shapes: the engine calls a node of one output only with its gradient)
                result = Tensor._wrap(out, True, node) if out.dtype.kind in "fc" else Tensor._wrap(out)
        elif isinstance(out, tuple):
            ctx._n_outputs = len(out)
            results = tuple([_wrap_output(ctx, node, o, i) for i, o in enumerate(out)])
            if ctx._output is True:
                raise RuntimeError(f"{cls.__name__}: save_output() is only for single-output functions")
            if node is not None and ctx._saved and not cls._internal:
                _link_saved_outputs(ctx, out, results)
            return results
        else:
            ctx._n_outputs = 1
            result = _wrap_output(ctx, node, out, 0)
            if node is not None and ctx._saved and isinstance(out, Tensor):
                _link_saved_outputs(ctx, (out,), (result,))
        if ctx._output is True:
            ctx._output = (result._data, result._vc, result._vc[0])
        return result

    # --- called by the engine ------------------------------------------------------------
    def _call_backward(self, grads: list) -> tuple:
        if self._meta:  # made from meta tensors: each input's gradient is a meta tensor of its shape, dtype
            return tuple(None if e is None else Tensor._wrap(_device.meta_array(e[2], e[3]))
                         for e in self._edges)
        if self._materialize_grads and self._output_shapes:
            for i, g in enumerate(grads):
                if g is None:
                    grads[i] = Tensor._wrap(np.zeros(self._output_shapes[i], self._output_dtypes[i]))
        if self._half:
            grads = [_widen(g, self._half_compute) for g in grads]
        try:
            result = self.backward(self, *grads)  # (the engine has numpy's warnings off for the whole pass)
        except NotImplementedError as error:
            raise _half_error(type(self), error) from None
        if not isinstance(result, tuple):
            result = (result,)
        n_in = len(self._edges)
        if len(result) < n_in:  # trailing non-tensor arguments may be left out
            result = result + (None,) * (n_in - len(result))
        elif len(result) > n_in:
            if any(g is not None for g in result[n_in:]):
                raise RuntimeError(
                    f"function {self.name()} returned an incorrect number of gradients "
                    f"(expected {n_in}, got {len(result)})"
                )
            result = result[:n_in]
        if self._half:  # the gradients of float16 inputs in float16
            result = tuple(g.half() if isinstance(g, Tensor) and e is not None and e[3] == np.float16 else g
                           for g, e in zip(result, self._edges))
        return result

    def _release(self) -> None:
        self._saved = ()
        self._output = None
        self._freed = True


_NEEDS: dict = {}


def _needs(mask: int, n: int) -> tuple:
    """``needs_input_grad`` for ``n`` arguments whose bit in ``mask`` says they require grad: one shared tuple per
    pattern, so that a recorded op keeps one object fewer for the garbage collector to count and walk."""
    key = (mask << 12) | n if n < 4096 else None
    found = _NEEDS.get(key)
    if found is None:
        found = tuple([bool(mask >> i & 1) for i in range(n)])
        if key is not None and len(_NEEDS) < 4096:
            _NEEDS[key] = found
    return found


def _wrap_output(ctx, node, out, i):
    differentiable = True
    if isinstance(out, Tensor):  # a user's forward returns tensors
        differentiable = not (ctx._non_differentiable and id(out) in ctx._non_differentiable)
        out = out._data
    elif type(out) is not np.ndarray:
        out = np.asarray(out)
    if node is None:
        return Tensor._wrap(out, False, None, i)
    ctx._output_shapes += (out.shape,)
    ctx._output_dtypes += (out.dtype,)
    if out.dtype.kind not in "fc" or not differentiable:
        return Tensor._wrap(out, False, None, i)
    return Tensor._wrap(out, True, node, i)


class _SavedOutput:
    """A saved tensor that is an output of the node saving it (a user's ``forward`` saved what it returned):
    kept as the output's array and version counter, not as a tensor, so that node and output do not
    reference each other, and rebuilt with the node as its ``grad_fn`` (higher-order gradients flow
    through it, as in PyTorch)."""

    __slots__ = ("data", "differentiable", "index", "vc")

    def __init__(self, result: Tensor):
        self.data, self.differentiable, self.index, self.vc = (
            result._data, result.grad_fn is not None, result._output_nr, result._vc)

    def tensor(self, node) -> Tensor:
        return Tensor._wrap(self.data, self.differentiable, node if self.differentiable else None, self.index,
                            self.vc)


def _link_saved_outputs(ctx, outputs: tuple, results: tuple) -> None:
    """Replaces saved tensors that are (by identity) what ``forward`` returned with ``_SavedOutput``s of the
    tensors ``apply`` made of them."""
    made = {id(o): r for o, r in zip(outputs, results) if isinstance(o, Tensor)}
    if not any(id(t) in made for t in ctx._saved):
        return
    ctx._saved_versions = tuple(made[id(t)]._vc[0] if id(t) in made else v
                                for t, v in zip(ctx._saved, ctx._saved_versions))
    ctx._saved = tuple(_SavedOutput(made[id(t)]) if id(t) in made else t for t in ctx._saved)
    ctx._saved_outputs = True


def _broadcast_error(cls, args) -> RuntimeError:
    """PyTorch's message for shapes that do not broadcast, prefixed with the op's name."""
    shapes = [tuple(a.shape) for a in args if hasattr(a, "shape")]
    detail = ""
    if len(shapes) >= 2:
        a, b = shapes[0], shapes[1]
        for dim in range(1, max(len(a), len(b)) + 1):
            sa = a[-dim] if dim <= len(a) else 1
            sb = b[-dim] if dim <= len(b) else 1
            if sa != sb and sa != 1 and sb != 1:
                detail = (f"the size of tensor a ({sa}) must match the size of tensor b ({sb}) at non-singleton "
                          f"dimension {max(len(a), len(b)) - dim}; ")
                break
    listed = " and ".join(str(s) for s in shapes)
    return RuntimeError(f"{cls.__name__.lower()}: {detail}shapes {listed} cannot be broadcast together")


def _inplace_message(t, index, node, version, current=None, what="saved tensor") -> str:
    current = t._vc[0] if current is None else current
    return (
        "one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: [{t.dtype} {list(t.shape)}], which is {what} {index} of {node.name()}, "
        f"is at version {current}; expected version {version} instead. Hint: the in-place "
        "operation modified a tensor after it was used; use an out-of-place operation or .clone()."
    )


def unchanged_input(ctx, x, version):
    """``x`` as the op ``ctx`` saw it (at ``version``), for a backward that restates the op in ops; the in-place
    error if it has changed since. (Kept as ``(x, version)`` rather than saved: a fast backward that reads
    other arrays goes on working when ``x`` is later changed in place, as in PyTorch.)"""
    if x._vc[0] != version:
        raise RuntimeError(_inplace_message(x, 0, ctx, version, what="the input"))
    return x


class FunctionCtx(Function):
    """Alias kept for code that annotates ``ctx`` with PyTorch's name."""


def once_differentiable(backward):
    """Decorator for a ``backward`` that is not itself differentiable (e.g. a raw kernel).

    Running it while building a graph for higher-order gradients raises a clear error.
    """

    def wrapper(ctx, *grads):
        if state.grad_enabled:
            raise RuntimeError(
                f"{ctx.name()} is only once differentiable: its backward is a raw kernel "
                "and cannot be differentiated again (create_graph=True)"
            )
        return backward(ctx, *grads)

    wrapper.__name__ = getattr(backward, "__name__", "backward")
    wrapper.__doc__ = backward.__doc__
    return wrapper
