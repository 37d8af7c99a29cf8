"""``ember.compile``: capture on first call, guards, the cache of compiled graphs, eager fallback."""

from __future__ import annotations

import functools
import json
import os
import warnings
import weakref

from ..autograd.function import Function
from ..autograd.grad_mode import state
from ..export import export
from ..export._merge import merge
from ..export._symbolic import Dim
from ..nn.modules.module import Module
from ..nn.parameter import Parameter
from ..random import get_rng_state, set_rng_state
from ..tensor import Tensor
from . import _breaks, _verified, config
from ._patterns import fused_cells_recorded
from ._plan import CompiledGraph
from ._writeback import compiled_graph


class _FunctionModule(Module):
    """A plain function as a module, so that ``ember.export`` can capture it. The modules and tensors the
    function reads from its closure, its globals or its ``self`` become submodules and buffers, so the graph
    reads them live (an optimizer's update, a gradient) instead of as constants of the capture."""

    def __init__(self, fn):
        super().__init__()
        object.__setattr__(self, "_fn", fn)
        for name, value in _referenced(fn).items():
            if isinstance(value, Module):
                self.add_module(name, value)
            elif isinstance(value, Parameter):
                self.register_parameter(name, value)
            elif isinstance(value, Tensor):
                self.register_buffer(name, value)

    def forward(self, *args, **kwargs):
        return self._fn(*args, **kwargs)


def _referenced(fn) -> dict:
    """The objects a function names outside its arguments: ``self`` of a bound method, closure cells, and
    the globals its code reads (by name; tensors inside containers are not looked into)."""
    found = {}
    owner = getattr(fn, "__self__", None)
    if isinstance(owner, (Module, Tensor)):
        found["self"] = owner
    code = getattr(fn, "__code__", None)
    if code is None:
        return found
    for name, cell in zip(code.co_freevars, getattr(fn, "__closure__", None) or ()):
        try:
            found[name] = cell.cell_contents
        except ValueError:  # an empty cell
            continue
    globals_ = getattr(fn, "__globals__", {})
    for name in code.co_names:
        if name in globals_:
            found.setdefault(name, globals_[name])
    return {name: value for name, value in found.items()
            if isinstance(value, (Module, Tensor)) and name.isidentifier() and not hasattr(Module, name)}


def _guard_inputs(args: tuple, kwargs: dict) -> tuple:
    """What the graph was specialised on in the inputs: each tensor's path, shape, dtype and
    requires_grad; every other argument by its value (the capture bakes it into the graph)."""
    found = []

    def walk(value, path):
        if isinstance(value, Tensor):
            found.append((path, tuple(value.shape), value.dtype.name, value._requires_grad))
        elif isinstance(value, (tuple, list)):
            for i, v in enumerate(value):
                walk(v, f"{path}[{i}]")
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{path}[{k!r}]")
        else:
            found.append((path, repr(value)))

    for i, value in enumerate(args):
        walk(value, f"args[{i}]")
    for key, value in kwargs.items():
        walk(value, key)
    return tuple(found)


def _failed_guard(old: tuple, new: tuple) -> str:
    """Which guard of the cached entry ``old`` the call ``new`` fails, in words."""
    (old_inputs, old_grad, old_training), (new_inputs, new_grad, new_training) = old, new
    if old_grad != new_grad:
        return f"grad mode: compiled with grad enabled={old_grad}, called with {new_grad}"
    if old_training != new_training:
        return "module training mode: a submodule's .training changed (model.train() / model.eval())"
    if len(old_inputs) != len(new_inputs):
        return f"the number of inputs: {len(old_inputs)} compiled, {len(new_inputs)} given"
    for o, n in zip(old_inputs, new_inputs):
        if o == n:
            continue
        if len(o) != len(n) or o[0] != n[0]:
            return f"input {n[0]}: {o[1:]} compiled, {n[1:]} given"
        if len(o) == 2:
            return f"input {n[0]}: the value {o[1]} compiled, {n[1]} given"
        for what, a, b in zip(("shape", "dtype", "requires_grad"), o[1:], n[1:]):
            if a != b:
                return f"input {n[0]}: {what} {list(a) if what == 'shape' else a} compiled, " \
                       f"{list(b) if what == 'shape' else b} given"
    return "unknown"


def _dynamic_key(inputs: tuple) -> tuple:
    """The input guards without the batch (first) axis of each tensor: what a dynamic graph is keyed on."""
    return tuple((g[0], (None,) + g[1][1:], *g[2:]) if len(g) == 4 and g[1] else g for g in inputs)


class _Compiled:
    """The compiled forward of one module: the cache of graphs by guard key, capture, fallback, debug."""

    def __init__(self, module: Module, fullgraph: bool, dynamic, name: str):
        self.module, self.fullgraph, self.dynamic, self.name = module, fullgraph, dynamic, name
        self.cache: dict = {}  # guard key -> CompiledGraph, or None where the capture failed (eager)
        self.modules = list(module.modules())
        self.limit_warned = False
        self.last_key = None
        _ALL.add(self)

    def key(self, args, kwargs) -> tuple:
        inputs = _guard_inputs(args, kwargs)
        if self.dynamic:
            inputs = _dynamic_key(inputs)
        return inputs, state.grad_enabled, tuple(m.training for m in self.modules)

    def __call__(self, *args, **kwargs):
        if Function._batching_hook is not None:  # inside ember.func.vmap or another capture: eager
            return self.module(*args, **kwargs)
        key = self.key(args, kwargs)
        compiled = self.cache.get(key, False)
        if compiled is False:
            if len(self.cache) >= config.cache_size_limit:
                self._warn_limit(key)
                return self.module(*args, **kwargs)
            compiled = self._compile(args, kwargs)
            key = self.key(args, kwargs)  # (dynamic=True may have given way to static shapes)
            self.cache[key] = compiled
            if compiled is None:
                _breaks.breaks_of(self).reasons[key] = self.last_break
        self.last_key = key
        if compiled is None:  # a graph break: this forward eagerly, its submodules compiled (_breaks)
            return _breaks.run_eagerly(self, key, args, kwargs)
        _breaks.used(compiled)
        return compiled(args, kwargs)

    def _warn_limit(self, key) -> None:
        if self.limit_warned:
            return
        self.limit_warned = True
        reference = self.last_key if self.last_key is not None else next(iter(self.cache))
        warnings.warn(
            f"ember.compile: {self.name} hit the cache size limit ({config.cache_size_limit} compiled graphs, "
            f"ember.compiler.config.cache_size_limit); the last guard that failed: "
            f"{_failed_guard(reference, key)}. Calls that match no compiled graph now run eagerly. "
            f"Pass dynamic=True if the batch size changes, or raise the limit", RuntimeWarning, stacklevel=3)

    def _compile(self, args, kwargs):
        if _breaks.disabled(self.module) is not None:  # ember.compiler.disable(module or function): eager,
            self.last_break = None  # (the break is the caller's, where the call is)
            return None
        program = None
        dynamic = self.dynamic
        if self.dynamic:
            program = self._export(args, kwargs, self._dynamic_shapes(args, kwargs), quiet=True)
            if program is None:  # a forward that fixes the batch size: one graph per shape from now on
                self.dynamic = False
                self.cache.clear()
        if program is None:
            program = self._export(args, kwargs, None, quiet=False)
        if program is None:  # not the batch size: a graph break, whatever the shapes
            self.dynamic = dynamic
            return None
        compiled = compiled_graph(program, self._weights(program))  # (buffer writes: _writeback)
        if os.environ.get("EMBER_COMPILE_DEBUG", "") not in ("", "0"):
            _write_debug(self.name, program, compiled)
        return compiled

    def _export(self, args, kwargs, dynamic_shapes, quiet: bool):
        """The captured program, or None (after a warning unless ``quiet``) where the capture fails."""
        rng = get_rng_state()  # the capture's runs draw no random numbers the eager run would have drawn
        try:
            state = list(self.module.state_dict(keep_vars=True).items())
            versions = [t._vc[0] for _, t in state]
            # (a call marked ember.compiler.disable breaks it; recurrent cells are recorded as their fused op)
            first_run = {}  # the key of the first run's graph (_verified: a graph checked before runs once)
            with _breaks.capturing(self.module), fused_cells_recorded():
                program = export(self.module, tuple(args), dict(kwargs), dynamic_shapes=dynamic_shapes,
                                 _enough=functools.partial(_checked_before, first_run))
            for (name, t), version in zip(state, versions):  # (buffers the graph writes back may change)
                if t._vc[0] != version and name not in program.graph.mutations:
                    raise RuntimeError(f"ember.compile: the forward changes {name!r} in place, which the compiled "
                                       f"graph would not do")
            for path in program.mutated_inputs:
                where = program.mutated_input_lines.get(path, "the forward")
                raise RuntimeError(f"ember.compile: {where}: the forward changes its input {path} in place, which "
                                   f"the compiled graph would not do (use an out-of-place op)")
            if first_run.get("runs") == 2 and first_run["key"] == _verified.key(program.graph, program.constants):
                _verified.remember(first_run["key"])  # (the two runs agreed: one run for this graph from now on)
            return program
        except Exception as error:
            if quiet:
                return None
            if self.fullgraph:
                raise
            self.last_break = _breaks.graph_break(self.name, error, self.module)  # (warned after the call)
            return None
        finally:
            set_rng_state(rng)

    def _dynamic_shapes(self, args, kwargs):
        """dynamic=True: the first axis of every tensor argument is one Dim (the batch)."""
        batch = Dim("batch", min=1)
        spec = {}
        for name, value in zip(_argument_names(self.module, len(args)), args):
            spec[name] = {0: batch} if isinstance(value, Tensor) and value.ndim else None
        for name, value in kwargs.items():
            spec[name] = {0: batch} if isinstance(value, Tensor) and value.ndim else None
        return spec

    def _weights(self, program) -> dict:
        """Parameters, buffers and constants by graph value name: the module's own tensors, so in-place
        updates (an optimizer's step, load_state_dict) reach the compiled graph."""
        state_tensors = dict(self.module.named_parameters(remove_duplicate=False))
        state_tensors.update(self.module.named_buffers(remove_duplicate=False))
        tensors = {}
        for spec in program.graph.inputs:
            if spec.kind in ("parameter", "buffer"):
                tensors[spec.meta.name] = state_tensors[spec.target]
            elif spec.kind == "constant":
                constant = program.constants[spec.target]
                tensors[spec.meta.name] = constant if isinstance(constant, Tensor) else Tensor._wrap(constant)
        return tensors


def _checked_before(found: dict, runs: list, points: list) -> bool:
    """The capture's ``enough`` (``_verified``): True when the first run's graph passed a two-run capture
    before, so the shuffled run is skipped; ``found`` gets the graph's key and how many runs the capture makes."""
    try:
        found["key"] = _verified.key(merge(runs, points), runs[0].constants)
    except Exception:  # noqa: BLE001 - the second run and the merge of both then say what is wrong
        found["runs"] = 2
        return False
    found["runs"] = 1 if _verified.seen(found["key"]) else 2
    return found["runs"] == 1


def _argument_names(module: Module, count: int) -> list:
    from ..export._inputs import bind_arguments  # the names the capture gives the arguments

    return list(bind_arguments(module, tuple(range(count)), {}))[:count] if count else []


_DEBUG_COUNT = [0]


def _write_debug(name: str, program, compiled: CompiledGraph) -> None:
    """EMBER_COMPILE_DEBUG=1: the captured graph, the plan and each generated kernel's source in a folder."""
    root = os.environ.get("EMBER_COMPILE_DEBUG_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "ember",
                                                                      "compile_debug")
    _DEBUG_COUNT[0] += 1
    folder = os.path.join(root, f"{os.getpid()}_{_DEBUG_COUNT[0]}_{name.replace('.', '_')}")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "graph.py"), "w") as file:
        file.write(program.graph.python_code())
    with open(os.path.join(folder, "graph.json"), "w") as file:
        json.dump(program.graph.to_json(), file, indent=1)
    plan = []
    for i, kernels in enumerate(compiled.kernels):
        run = kernels.run
        with open(os.path.join(folder, f"kernel_{i}.py"), "w") as file:
            file.write(kernels.source)
        shape = ", ".join(str(d) for d in run.shape)
        plan.append(f"kernel_{i}.py: {', '.join(n.name for n in run.nodes)} -> {', '.join(run.outputs)} "
                    f"(loop shape [{shape}], {run.dtype})")
    with open(os.path.join(folder, "plan.txt"), "w") as file:
        file.write("\n".join(plan) + "\n")


_ALL: weakref.WeakSet = weakref.WeakSet()  # every _Compiled, for reset()


def reset() -> None:
    """Drops every compiled graph (``torch.compiler.reset``): the next call of each compiled module or
    function captures again. Kernels stay on disk."""
    for compiled in list(_ALL):
        compiled.cache.clear()
        compiled.limit_warned = False
        compiled.last_key = None
        compiled.__dict__.pop("graph_breaks", None)


class OptimizedModule(Module):
    """A compiled module: calls run the compiled forward; ``_orig_mod`` is the original module.

    It shares the original's parameters, buffers and submodules (the same dicts), so ``state_dict``,
    ``load_state_dict``, ``named_parameters`` and ``to`` see the original's tensors under the original's
    names, also when the compiled module sits inside another model; other attributes are the original's.
    (torch's compiled module prefixes the names with ``_orig_mod.``; ``load_state_dict`` accepts that form.)
    """

    def __init__(self, module: Module, compiled: _Compiled):
        super().__init__()
        d = self.__dict__
        for name in ("_parameters", "_buffers", "_non_persistent_buffers_set", "_modules"):
            d[name] = module.__dict__[name]
        d["training"] = module.training
        d["_orig_mod"] = module
        d["_compiled"] = compiled
        d["forward"] = compiled

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.__dict__["_orig_mod"], name)

    def train(self, mode: bool = True) -> OptimizedModule:
        self._orig_mod.train(mode)
        self.__dict__["training"] = mode
        return self

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        prefix = "_orig_mod."
        if state_dict and all(k.startswith(prefix) for k in state_dict):
            state_dict = {k[len(prefix):]: v for k, v in state_dict.items()}
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    def __repr__(self) -> str:
        return f"OptimizedModule(\n  (_orig_mod): {repr(self._orig_mod).replace(chr(10), chr(10) + '  ')}\n)"


def compile(model=None, *, fullgraph: bool = False, dynamic: bool | None = None, backend=None,
            mode: str | None = None, options: dict | None = None, disable: bool = False):
    """Compiles a module or function: captured on first call, elementwise runs fused into numba kernels.

    ``torch.compile``'s signature and meaning. The first call captures the forward with
    :func:`ember.export.export` for the inputs' shapes, dtypes and ``requires_grad``, the grad mode and the
    modules' training mode (the *guards*); each run of consecutive elementwise ops is generated as one
    numba kernel (forward, and a backward derived from it), the other ops run as Ember's own. A call
    that fails a guard compiles again, up to ``ember.compiler.config.cache_size_limit`` graphs (8), then
    runs eagerly with a warning naming the guard. A forward the capture cannot take (a branch on tensor
    values, ``.item()``, a call marked ``ember.compiler.disable``) breaks the graph: it runs eagerly and each
    submodule it calls runs compiled on its own (recursively), with a warning naming the line; with
    ``fullgraph=True`` the capture's error, which names the line, is raised.

    Args:
        model: an ``ember.nn.Module`` (an :class:`OptimizedModule` is returned) or a function of tensors. With
            None, a decorator is returned.
        fullgraph: raise instead of falling back to eager when the forward cannot be captured.
        dynamic: True keeps the first axis of every tensor argument symbolic (one graph for every batch size);
            None and False specialise on every shape.
        backend, mode, options: accepted for ``torch.compile``'s signature; Ember has one backend.
        disable: return ``model`` itself, uncompiled.

    Example:
        >>> import ember
        >>> model = ember.nn.Sequential(ember.nn.Linear(4, 8), ember.nn.Tanh(), ember.nn.Linear(8, 1))
        >>> compiled = ember.compile(model)
        >>> x = ember.randn(16, 4)
        >>> bool(ember.allclose(compiled(x), model(x), atol=1e-6))
        True
    """
    if model is None:
        return functools.partial(compile, fullgraph=fullgraph, dynamic=dynamic, backend=backend, mode=mode,
                                 options=options, disable=disable)
    if disable:
        return model
    if backend not in (None, "inductor", "ember"):
        raise ValueError(f"ember.compile: backend must be None or 'ember' (Ember has one backend), got {backend!r}")
    if isinstance(model, OptimizedModule):
        model = model._orig_mod
    if isinstance(model, Module):
        return OptimizedModule(model, _Compiled(model, fullgraph, dynamic, type(model).__name__ + ".forward"))
    if not callable(model):
        raise TypeError(f"ember.compile: model must be an ember.nn.Module or a callable, got {type(model).__name__}")
    compiled = _Compiled(_FunctionModule(model), fullgraph, dynamic, getattr(model, "__qualname__", "function"))
    return functools.wraps(model)(compiled)
