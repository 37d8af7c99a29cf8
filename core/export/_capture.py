"""The capture: run a model's forward with tracing tensors and record every op it calls.

A tracing tensor is an ordinary ``Tensor`` whose array is a ``TracedArray`` (an ndarray subclass): it has
the example's values, so everything the forward computes is real, but reading its values from Python
(``bool()``, ``.item()``, ``int()``, ``.tolist()``) in the user's code raises :class:`DataDependentError`
naming the line. Parameters and buffers are traced views too while the forward runs. Every op goes through
``Function.apply``; while a capture runs, ``Function._batching_hook`` (the hook ``ember.func.vmap`` uses the
same way) sends it to :meth:`Tracer.call_op`, which runs the op on plain arrays and appends one ``Node``.
numpy functions applied to traced arrays outside an op reach :meth:`Tracer.call_numpy` through
``TracedArray.__array_ufunc__`` / ``__array_function__``.

:func:`capture` runs the forward once per capture point (``_inputs._points``: the example, its values
shuffled, and the sizes the Dims move to), each run into its own ``Tracer``; ``_merge`` makes one graph of
the runs.
"""

from __future__ import annotations

import contextlib
import re

import numpy as np

from .. import _dtype
from ..autograd.function import Function
from ..autograd.grad_mode import no_grad
from ..random import default_generator
from ..tensor import Tensor
from ._graph import InputSpec, Node, TensorMeta, encode_float
from ._inputs import _dims_of, _flatten_inputs, _leaf_specs, _points, _resized, _shuffled, bind_arguments
from ._location import CORE_DIR, error_location, first_frame, user_location
from ._symbolic import DataDependentError

_active = None  # the running Tracer (a capture is not re-entrant)


def _check_read(what: str) -> None:
    """Reading a traced value from Python: allowed in Ember's own code (argument checks), refused in the
    user's, where the answer would be baked into the graph."""
    frame = first_frame(skip_core=False)
    if frame is not None and frame.f_code.co_filename.startswith(CORE_DIR):
        return
    raise DataDependentError(
        f"ember.export: {user_location()}: {what} of a traced tensor: the forward reads tensor values in "
        f"Python (a branch such as `if x.sum() > 0`, .item(), int()), which a graph cannot hold. Use tensor ops (ember.where, masks) instead, or compute "
        f"the value outside the exported forward"
    )


class TracedArray(np.ndarray):
    """The array of a tracing tensor: the example's values; its Python conversions refuse (see above), and
    numpy functions called on it outside an op (the indices of ``max(dim)``, comparisons) are recorded."""

    from_weights = False  # derived from parameters / buffers only (by a method the capture does not see)

    def __array_finalize__(self, obj):
        if getattr(obj, "from_weights", False):
            self.from_weights = True

    def astype(self, dtype, order="K", casting="unsafe", subok=True, copy=True):
        if _active is not None and id(self) in _active.values and (copy or np.dtype(dtype) != self.dtype):
            return _active.call_numpy(astype, None, (self, dtype), {})
        return np.ndarray.astype(self, dtype, order=order, casting=casting, subok=subok, copy=copy)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if _active is None:
            return _plain_call(getattr(ufunc, method), inputs, kwargs)
        return _active.call_numpy(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        if _active is None:
            return _plain_call(func, args, kwargs)
        return _active.call_numpy(func, None, args, kwargs)

    def __bool__(self):
        _check_read("bool()")
        return np.ndarray.__bool__(self)

    def item(self, *args):
        _check_read(".item()")
        return np.ndarray.item(self, *args)

    def tolist(self):
        _check_read(".tolist()")
        return np.ndarray.tolist(self)

    def __int__(self):
        _check_read("int()")
        return np.ndarray.__int__(self)

    def __float__(self):
        _check_read("float()")
        return np.ndarray.__float__(self)

    def __index__(self):
        _check_read("an index (operator.index)")
        return np.ndarray.__index__(self)

# --- the tracer -------------------------------------------------------------------------------------------
class _Value:
    """A value of the graph during one run: its metadata and its array (kept, so that ids stay unique)."""

    __slots__ = ("array", "key", "meta")

    def __init__(self, meta: TensorMeta, array: np.ndarray, key):
        self.meta, self.array, self.key = meta, array, key


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower().strip("_") or "op"


def _dtype_name(array: np.ndarray) -> str:
    return _dtype.from_numpy_dtype(array.dtype).name


class Tracer:
    """One run of the forward at one capture point: the values by array identity, the nodes, the inputs."""

    def __init__(self):
        self.values: dict[int, _Value] = {}
        self.nodes: list[Node] = []
        self.inputs: list[InputSpec] = []
        self.constants: dict[str, np.ndarray] = {}
        self.module_stack: list[tuple[str, str]] = []
        self.mutations: dict[str, str] = {}  # buffer state_dict name -> the value written into it
        self.written: dict[int, str] = {}  # id(array) -> the user's line that last changed it in place
        self.adopted: set[int] = set()  # plain arrays overwritten by a graph value (``_copyto``)
        self._names: dict[str, int] = {}

    def unique(self, base: str) -> str:
        base = re.sub(r"\W", "_", base) or "v"
        if base[0].isdigit():
            base = "_" + base
        count = self._names.get(base, 0)
        self._names[base] = count + 1
        return base if count == 0 else f"{base}_{count}"

    # --- inputs -------------------------------------------------------------------------------------------
    def add_input(self, kind: str, target: str, name: str, array: np.ndarray, dims: dict | None = None) -> _Value:
        meta = TensorMeta(self.unique(name), list(array.shape), _dtype_name(array))
        value = _Value(meta, array, array)
        self.values[id(array)] = value
        spec_dims = {axis: [d.name, d.min, d.max] for axis, d in (dims or {}).items()}
        self.inputs.append(InputSpec(kind, target, meta, spec_dims))
        return value

    def traced_tensor(self, value: _Value) -> Tensor:
        traced = value.array.view(TracedArray)
        value.key = traced
        self.values[id(traced)] = value
        return Tensor._wrap(traced)

    def value_of(self, t: Tensor) -> _Value:
        value = self.values.get(id(t._data))
        if value is not None:
            return value
        if isinstance(t._data, TracedArray) and t._data.from_weights:  # folded: a constant of the graph
            name = self.unique("c_folded")
            self.constants[name] = t._data.view(np.ndarray)
            value = self.add_input("constant", name, name, self.constants[name])
            self.values[id(t._data)] = value
            return value
        if isinstance(t._data, TracedArray):
            raise DataDependentError(
                f"ember.export: {user_location()}: a tensor computed from traced values outside Ember's ops "
                f"(with numpy, or by a function that does not go through Function.apply) reaches an op; the "
                f"graph cannot record it. Compute it with ember ops"
            )
        name = self.unique("c_lifted_tensor" if t._data.ndim else "c_scalar")
        self.constants[name] = t._data
        return self.add_input("constant", name, name, t._data)

    # --- ops ----------------------------------------------------------------------------------------------
    def call_op(self, cls, args: tuple, kwargs: dict):
        traced = []
        encoded_args = [self.encode(a, traced) for a in args]
        encoded_kwargs = {k: self.encode(v, traced) for k, v in kwargs.items()}
        plain_args = tuple(self.plain(a) for a in args)
        plain_kwargs = {k: self.plain(v) for k, v in kwargs.items()}
        out = _run_plain(cls, plain_args, plain_kwargs)
        if not traced:  # constants only: computed now, a constant of the graph where it is used
            return out
        single = not isinstance(out, tuple)
        outs = (out,) if single else out
        base = _snake(cls.__name__)
        results, metas = [], []
        for o in outs:
            if o is None:
                results.append(None)
                metas.append(TensorMeta(self.unique(base), [], "none"))
                continue
            array = o._data.view(np.ndarray)
            value = _Value(TensorMeta(self.unique(base), list(array.shape), _dtype_name(array)), array, None)
            metas.append(value.meta)
            results.append(self.traced_tensor(value))
        self._add_node(f"{cls.__module__}:{cls.__qualname__}", encoded_args, encoded_kwargs, metas)
        return results[0] if single else tuple(results)

    def plain(self, obj):
        """An argument with traced tensors (and arrays) as plain ones: the op runs on ndarrays only."""
        if isinstance(obj, Tensor) and isinstance(obj._data, TracedArray):
            return Tensor._wrap(obj._data.view(np.ndarray))
        if isinstance(obj, TracedArray):
            return obj.view(np.ndarray)
        if isinstance(obj, (tuple, list)):
            items = [self.plain(o) for o in obj]
            return type(obj)(*items) if hasattr(obj, "_fields") else type(obj)(items)
        if isinstance(obj, dict):
            return {k: self.plain(v) for k, v in obj.items()}
        return obj

    def call_numpy(self, func, method, args: tuple, kwargs: dict):
        """A numpy function or ufunc applied to traced arrays outside an op: a node ``numpy:name``."""
        name = func.__name__ if method in (None, "__call__") else f"{func.__name__}.{method}"
        if func is np.copyto:  # an in-place op writes its result into a traced tensor: rebind that tensor
            return self._copyto(*args, **kwargs)
        if "out" in kwargs:
            return self._ufunc_into(func, method, name, args, kwargs)
        fn = func if method is None else getattr(func, method)
        traced = []
        encoded_args = [self.encode(a, traced) for a in args]
        encoded_kwargs = {k: self.encode(v, traced) for k, v in kwargs.items()}
        out = _plain_call(fn, args, kwargs)
        computed = out if isinstance(out, tuple) else (out,)
        if not traced or not all(isinstance(o, (np.ndarray, np.generic)) for o in computed):
            return out  # (no traced input, or a question about the arrays: np.may_share_memory, np.shape)
        if not (isinstance(func, np.ufunc) or name in NUMPY_FUNCTIONS or func is astype):
            raise DataDependentError(f"ember.export: {user_location()}: numpy.{name} is applied to a traced "
                                     f"tensor; the graph cannot record it (compute it with ember ops)")
        single = not isinstance(out, tuple)
        outs = (out,) if single else out
        results, metas = [], []
        for o in outs:
            array = np.asarray(o).view(np.ndarray)
            value = _Value(TensorMeta(self.unique(name.replace(".", "_")), list(array.shape), _dtype_name(array)),
                           array, None)
            metas.append(value.meta)
            results.append(self.traced_tensor(value)._data)
        self._add_node(f"numpy:{name}", encoded_args, encoded_kwargs, metas)
        return results[0] if single else tuple(results)

    def _ufunc_into(self, func, method, name: str, args: tuple, kwargs: dict):
        """``numpy.add(a, 1, out=a)`` (``a += 1``, as ``num_batches_tracked`` counts) on a traced array: the
        ufunc recorded out of place, its result written into ``a``, and ``a`` rebound to it (``_copyto``)."""
        kwargs = dict(kwargs)
        out = kwargs.pop("out")
        outs = out if isinstance(out, tuple) else (out,)
        if (len(outs) != 1 or method != "__call__" or not isinstance(outs[0], np.ndarray)
                or id(outs[0]) not in self.values or set(kwargs) - {"casting"}):
            raise DataDependentError(f"ember.export: {user_location()}: numpy.{name}(out=...) writes into an "
                                     f"array the graph does not hold (a view of a traced tensor, or a plain "
                                     f"array), which the graph cannot record; use an ember op")
        casting = kwargs.pop("casting", "same_kind")
        result = self.call_numpy(func, method, args, {})
        self._copyto(outs[0], result, casting=casting)
        return outs[0]

    def _copyto(self, dst, src, casting="same_kind", where=True):
        overwritten = self.values.get(id(dst))
        if overwritten is not None and overwritten.meta.name in self.constants:  # (earlier reads keep its value)
            self.constants[overwritten.meta.name] = dst.copy()
        _plain_call(np.copyto, (dst, src), {"casting": casting, "where": where})
        own = dst.base is None and not isinstance(dst, TracedArray)  # (a plain array the forward made)
        if id(dst) not in self.values:
            if not (own and where is True and isinstance(src, np.ndarray) and id(src) in self.values):
                return
            self.adopted.add(id(dst))  # ``ember.empty(3).normal_()``: the array now holds a graph value
        if isinstance(src, np.ndarray) and id(src) not in self.values and not isinstance(src, TracedArray):
            self.value_of(Tensor._wrap(src))  # a value made from constants only (``fill_``): a constant
        source = self.values.get(id(src)) if isinstance(src, np.ndarray) else None
        if source is None or where is not True:
            raise DataDependentError(f"ember.export: {user_location()}: an in-place change of a traced tensor "
                                     f"the graph cannot record (use the out-of-place op)")
        if source.array.dtype != dst.dtype:  # (an in-place op's result cast to the tensor's dtype)
            src = self.call_numpy(astype, None, (src, dst.dtype), {})
            source = self.values[id(src)]
        if source.array.shape != dst.shape:  # (a value broadcast into the tensor)
            source = self.values[id(self.call_numpy(np.broadcast_to, None, (src, dst.shape), {}))]
        self.values[id(dst)] = source  # later ops that read dst read the in-place op's result
        self.written[id(dst)] = user_location()
        return

    def call_random(self, method: str, args: tuple, kwargs: dict):
        """A draw from the default generator outside an op (``ember.rand``, dropout's mask): a node
        ``random:<method>`` that draws again, from the default generator, each time the graph runs."""
        traced = []
        encoded_args = [self.encode(a, traced) for a in args]
        encoded_kwargs = {k: self.encode(v, traced) for k, v in kwargs.items()}
        out = _plain_call(getattr(default_generator.np._real, method), args, kwargs)
        if not isinstance(out, np.ndarray):  # one number: a constant (the runs draw others; the merge refuses)
            return out
        value = _Value(TensorMeta(self.unique(method), list(out.shape), _dtype_name(out)), out, None)
        result = self.traced_tensor(value)._data
        self._add_node(f"random:{method}", encoded_args, encoded_kwargs, [value.meta])
        return result

    def _add_node(self, target, encoded_args, encoded_kwargs, metas):
        module, module_type = self.module_stack[-1] if self.module_stack else ("", "")
        self.nodes.append(Node(target, encoded_args, encoded_kwargs, metas, module, module_type, user_location()))

    # --- arguments ----------------------------------------------------------------------------------------
    def encode(self, obj, traced: list):
        """An op argument as JSON (see ``_graph``); ``traced`` collects the graph values it reads."""
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, Tensor):
            value = self.value_of(obj)
            if value.meta.name not in self.constants:
                traced.append(value)
            return {"value": value.meta.name}
        if isinstance(obj, (int, np.integer)) and not isinstance(obj, np.bool_):
            return int(obj)
        if isinstance(obj, float):
            return encode_float(obj)
        if isinstance(obj, np.ndarray) and id(obj) in self.values:  # a traced tensor's array, passed as data
            value = self.values[id(obj)]
            traced.append(value)
            return {"array": value.meta.name}
        if isinstance(obj, TracedArray) and obj.from_weights:
            return {"array": self.value_of(Tensor._wrap(obj)).meta.name}
        if isinstance(obj, TracedArray):
            raise DataDependentError(f"ember.export: {user_location()}: an array computed from traced values "
                                     f"is passed to an op as data; the graph cannot record it")
        if isinstance(obj, tuple) and not hasattr(obj, "_fields"):
            return {"tuple": [self.encode(o, traced) for o in obj]}
        if isinstance(obj, list):
            return {"list": [self.encode(o, traced) for o in obj]}
        if isinstance(obj, dict) and all(isinstance(k, str) for k in obj):
            return {"dict": [[k, self.encode(v, traced)] for k, v in obj.items()]}
        if isinstance(obj, slice):
            return {"slice": [self.encode(v, traced) for v in (obj.start, obj.stop, obj.step)]}
        if obj is Ellipsis:
            return {"ellipsis": None}
        if isinstance(obj, _dtype.dtype):
            return {"dtype": obj.name}
        if isinstance(obj, np.dtype) or (isinstance(obj, type) and issubclass(obj, np.generic)):
            return {"np_dtype": np.dtype(obj).name}
        if isinstance(obj, np.generic) and obj.dtype.kind in "biuf":
            return {"scalar": [obj.item(), obj.dtype.name]}
        if isinstance(obj, np.ndarray):  # an array argument (indices, a mask): a constant input of the graph
            return {"array": self.value_of(Tensor._wrap(obj)).meta.name}
        if isinstance(obj, np.ufunc) or callable(obj) and getattr(obj, "__module__", "") == "numpy":
            return {"function": f"numpy:{obj.__name__}"}
        if callable(obj) and str(getattr(obj, "__module__", "")).startswith("ember."):
            return {"function": f"{obj.__module__}:{obj.__qualname__}"}
        raise TypeError(f"ember.export: {user_location()}: cannot record an argument of type "
                        f"{type(obj).__name__} ({obj!r:.60}) in the graph")

    def encode_outputs(self, output):
        """The forward's result as JSON: values by name, containers, plain constants."""
        if isinstance(output, Tensor):
            return {"value": self.value_of(output).meta.name}
        if isinstance(output, tuple) and not hasattr(output, "_fields"):
            return {"tuple": [self.encode_outputs(o) for o in output]}
        if isinstance(output, list):
            return {"list": [self.encode_outputs(o) for o in output]}
        if isinstance(output, dict):
            return {"dict": [[str(k), self.encode_outputs(v)] for k, v in output.items()]}
        if output is None or isinstance(output, (bool, int, str)):
            return output
        if isinstance(output, float):
            return encode_float(output)
        raise TypeError(f"ember.export: the forward returns a {type(output).__name__}; the graph holds tensors, "
                        f"tuples, lists, dicts and plain numbers")


# numpy.random.Generator methods a graph may call (``random:<method>`` nodes): draws, no state changes
RANDOM_METHODS = frozenset(
    ["beta", "binomial", "chisquare", "choice", "dirichlet", "exponential", "f", "gamma", "geometric", "gumbel",
     "integers", "laplace", "logistic", "lognormal", "multinomial", "negative_binomial", "normal", "pareto",
     "permutation", "poisson", "random", "rayleigh", "standard_cauchy", "standard_exponential",
     "standard_gamma", "standard_normal", "standard_t", "uniform", "vonmises", "wald", "weibull"])


class _RecordingGenerator:
    """The default generator's ``np`` (numpy's Generator) while a capture runs: a draw made outside an op is
    recorded (``Tracer.call_random``); a draw inside an op's forward is the op's own (the op is the node)."""

    def __init__(self, real):
        self._real = real

    def __getattr__(self, name: str):
        attribute = getattr(self._real, name)
        if name not in RANDOM_METHODS or _active is None or Function._batching_hook is None:
            return attribute
        return lambda *args, **kwargs: _active.call_random(name, args, kwargs)


# numpy functions a graph may call on traced arrays (besides every ufunc): pure functions of their arguments
NUMPY_FUNCTIONS = frozenset(
    ["all", "any", "amax", "amin", "argmax", "argmin", "argsort", "around", "broadcast_to", "clip", "concatenate", "count_nonzero", "cumsum", "expand_dims", "flip", "isclose", "isfinite", "isinf", "isnan", "max", "mean", "min", "moveaxis", "nonzero", "ones_like", "prod", "ravel", "repeat", "reshape", "round", "sort", "squeeze", "stack", "sum", "swapaxes", "take", "take_along_axis", "tile", "transpose", "tril", "triu", "where", "zeros_like", "full_like", "empty_like"])


def astype(array, dtype):
    """``array.astype(dtype)`` as a function (numpy < 2.1 has no ``np.astype``): a graph's cast of an array."""
    return np.asarray(array).astype(dtype)


def _plain(obj):
    if isinstance(obj, TracedArray):
        return obj.view(np.ndarray)
    if isinstance(obj, (tuple, list)):
        return type(obj)(_plain(o) for o in obj)
    return obj


def _plain_call(fn, args, kwargs):
    """``fn`` on plain arrays (numpy's own implementation, no recording), results as plain arrays."""
    return fn(*(_plain(a) for a in args), **{k: _plain(v) for k, v in kwargs.items()})


def _run_plain(cls, args: tuple, kwargs: dict):
    """The op itself, the capture's hook off while it runs (an op's own inner ops are not recorded)."""
    Function._batching_hook = None
    try:
        return cls.apply(*args, **kwargs)
    finally:
        Function._batching_hook = staticmethod(_hook)


def _hook(cls, args, kwargs):
    if cls._internal:
        return _active.call_op(cls, args, kwargs)
    if cls.__module__.startswith("ember."):  # an Ember Function on tensors (a domain's op): a node when its
        try:  # arguments can be recorded; else (a checkpoint's function argument) traced through
            return _active.call_op(cls, args, kwargs)
        except TypeError as error:
            if "cannot record an argument" not in str(error):
                raise
    return NotImplemented  # a user's custom Function: traced through (its forward's ops are recorded)


# --- module calls -----------------------------------------------------------------------------------------
@contextlib.contextmanager
def _module_paths(model, tracer: Tracer):
    """Forward hooks on every submodule keep the path of the module that is running, for each node."""
    handles = []

    def enter(path, kind):
        def pre_hook(module, args):
            tracer.module_stack.append((path, kind))

        def post_hook(module, args, output):
            tracer.module_stack.pop()

        return pre_hook, post_hook

    for path, module in model.named_modules():
        if not path:
            continue
        pre, post = enter(path, type(module).__name__)
        handles.append(module.register_forward_pre_hook(pre))
        handles.append(module.register_forward_hook(post, always_call=True))
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


# --- the runs ---------------------------------------------------------------------------------------------
def _run_at(model, args: tuple, kwargs: dict, leaves: list, point: dict, index: int) -> Tracer:
    """One run of the forward on the inputs of capture point ``index`` (see ``_points``), recording."""
    global _active
    tracer = Tracer()
    weights = []  # parameters and buffers: their arrays are traced views while the forward runs
    for name, p in model.named_parameters():
        weights.append((p, tracer.add_input("parameter", name, "p_" + name.replace(".", "_"), p._data), name))
    persistent = set(model.state_dict())
    constant_buffers = []  # (name, tensor, version): a change of one would be frozen into the graph
    for name, b in model.named_buffers():
        if name in persistent:
            weights.append((b, tracer.add_input("buffer", name, "b_" + name.replace(".", "_"), b._data), name))
        else:  # a non-persistent buffer is not in the state_dict: a constant of the program
            value = tracer.add_input("constant", name, "b_" + name.replace(".", "_"), b._data)
            tracer.constants[value.meta.name] = b._data
            tracer.inputs[-1].target = value.meta.name
            constant_buffers.append((name, b, b._vc[0]))
    traced, examples, views = {}, [], {}
    for path, name, tensor, spec in leaves:
        axes = _dims_of(path, tensor, spec)
        if index == 0:  # a copy: an in-place op in the forward must not change the caller's tensor
            array = tensor._data.copy()
            examples.append((path, array, tensor._data))
        elif index == 1:
            array = _shuffled(tensor._data)
        else:
            array = np.ascontiguousarray(_resized(tensor._data, axes, point))
        traced[id(tensor)] = tracer.traced_tensor(tracer.add_input("user_input", path, name, array, axes))
        views[path] = id(traced[id(tensor)]._data)

    def swap(value):
        if isinstance(value, Tensor):
            return traced.get(id(value), value)
        if isinstance(value, (tuple, list)) and not hasattr(value, "_fields"):
            return type(value)(swap(v) for v in value)
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items()}
        return value

    _active = tracer
    Function._batching_hook = staticmethod(_hook)
    recording = default_generator.np = _RecordingGenerator(default_generator.np)
    try:
        for tensor, value, _ in weights:
            tensor._data = tracer.traced_tensor(value)._data
            tensor._data.from_weights = True
        with no_grad(), _module_paths(model, tracer):
            output = model(*swap(tuple(args)), **swap(dict(kwargs)))
        tracer.mutations = _mutations(tracer, weights)
        _check_attributes(model, tracer)
        if default_generator.np is not recording:
            raise DataDependentError("ember.export: the forward reseeds or replaces the default generator "
                                     "(ember.manual_seed), which a graph cannot replay; seed "
                                     "outside the forward")
        for name, b, version in constant_buffers:
            if b._vc[0] != version:
                raise DataDependentError(f"ember.export: the forward changes the non-persistent buffer {name!r} "
                                         f"in place; the graph holds it as a constant and cannot write it back "
                                         f"(register it with persistent=True to make the change a mutation)")
    finally:
        Function._batching_hook = None
        _active = None
        if default_generator.np is recording:  # (a forward that reseeded keeps its new generator)
            default_generator.np = recording._real
        for tensor, value, _ in weights:
            tensor._data = value.array
    tracer.outputs = tracer.encode_outputs(output)
    tracer.values.clear()  # the run's intermediate arrays: only the nodes and constants are merged
    tracer.mutated_inputs = tuple(path for path, array, original in examples
                                  if not np.array_equal(array, original, equal_nan=array.dtype.kind in "fc"))
    tracer.input_writes = {path: tracer.written[views[path]] for path in tracer.mutated_inputs
                           if views[path] in tracer.written}  # the line of each input's last in-place change
    return tracer


def _check_attributes(model, tracer: Tracer) -> None:
    """A tensor attribute of a module that is not a buffer, overwritten in place by a graph value: the graph
    would compute with the new value but never write it back."""
    for path, module in model.named_modules():
        for name, value in vars(module).items():
            if isinstance(value, Tensor) and id(value._data) in tracer.adopted:
                where = tracer.written.get(id(value._data), "the forward")
                raise DataDependentError(f"ember.export: {where}: the forward changes the tensor attribute "
                                         f"{(path + '.' if path else '') + name!r} in place, which is not a "
                                         f"buffer; a graph writes back buffers only (register_buffer)")


def _mutations(tracer: Tracer, weights: list) -> dict:
    """The buffers the forward changed in place, each with the value it holds now (written back into it after
    each run of the graph); a parameter changed in place is refused."""
    found = {}
    parameters = {spec.target for spec in tracer.inputs if spec.kind == "parameter"}
    for tensor, value, name in weights:
        now = tracer.values.get(id(tensor._data))
        if now is value:
            continue
        where = tracer.written.get(id(tensor._data), "the forward")
        if now is None:
            raise DataDependentError(f"ember.export: {where}: the forward gives {name!r} a new array the graph "
                                     f"does not hold ({name}.data = ...); change it in place with ember ops")
        if name in parameters:
            raise DataDependentError(f"ember.export: {where}: the forward changes parameter {name!r} in place "
                                     f"(under no_grad); a graph updates buffers only (register it as a buffer, "
                                     f"or change it outside the forward)")
        found[name] = now.meta.name
    return found


def capture(model, args: tuple, kwargs: dict, dynamic_shapes, enough=None) -> tuple:
    """Runs the forward once per capture point, recording; returns the runs, arguments, points and Dims.
    Without Dims, ``enough(runs, points)`` is asked after the first run whether that run suffices (the caller
    vouches that its graph passed the check of the second, shuffled run before: ``ember.compile``)."""
    if _active is not None:
        raise RuntimeError("ember.export: a capture is already running (export is not re-entrant)")
    if Function._batching_hook is not None:
        raise RuntimeError("ember.export cannot run inside ember.func.vmap")
    named = bind_arguments(model, args, kwargs)
    leaves = _flatten_inputs(named, _leaf_specs(named, dynamic_shapes))
    points, dims = _points(leaves)
    buffers = [(b, b._data.copy()) for _, b in model.named_buffers()]
    runs = []
    rng = default_generator.get_state()  # the capture draws nothing the eager run would have drawn (and the
    try:  # runs draw different numbers: a draw the graph does not record is a constant the merge refuses)
        for p in range(len(points)):
            _run_point(model, args, kwargs, leaves, points, p, runs, buffers)
            if p == 0 and enough is not None and not dims and enough(runs, points[:1]):
                points = points[:1]
                break
    finally:
        default_generator.set_state(rng)
    return runs, named, points, dims


def _run_point(model, args, kwargs, leaves, points, p: int, runs: list, buffers: list) -> None:
    """The run at capture point ``p`` appended to ``runs``; its failure explained; the buffers restored."""
    point = points[p]
    try:
        runs.append(_run_at(model, args, kwargs, leaves, point, p))
    except DataDependentError:
        raise
    except Exception as error:
        if p == 0:
            raise
        if p == 1:
            raise DataDependentError(f"ember.export: {error_location(error)}: the forward fails on other "
                                     f"input values of the same shape ({type(error).__name__}: {error}); "
                                     f"the capture needs a forward that runs on any values") from error
        raise _specialised(points, p, error) from error
    finally:  # a training-mode forward updates statistics: each run starts from the same state
        for b, saved in buffers:
            np.copyto(b._data, saved)


def _specialised(points: list, p: int, error: Exception) -> RuntimeError:
    changed = {k: v for k, v in points[p].items() if v != points[0][k]}
    now = ", ".join(f"{k}={v}" for k, v in changed.items())
    was = ", ".join(f"{k}={points[0][k]}" for k in changed)
    return RuntimeError(
        f"ember.export: {error_location(error)}: the forward fails when the dynamic sizes change ({now}; the "
        f"example has {was}): {type(error).__name__}: {error}. A size was fixed during the capture (a "
        f"tensor of fixed shape, a value read from the data); keep sizes following the input "
        f"(x.shape[0], -1 in view), narrow the Dim's range, or drop the Dim"
    )
