"""Graph breaks: a forward the capture cannot take runs eagerly, and each submodule it calls is compiled on its own.

torch's dynamo splits a function at the bytecode: the ops before the break are one graph, the ops after it
another. Ember captures by running the forward (``ember.export``), so it splits at module boundaries: when
a module's forward cannot be captured (a branch on tensor values, ``.item()``, a call marked
:func:`disable`), that forward runs eagerly, and while it runs each of its submodules is *routed*
to a compiled forward of its own, with its own guards and cache. A submodule that cannot be captured
either is split the same way, down to the leaves. (All submodules are routed, not only the direct
children, so that ``self.blocks[2](x)`` called from the broken forward runs compiled too.)

Routing is scoped: for the time of the eager forward, ``forward`` in each child's instance ``__dict__``
points at a router (``Module.__call__`` finds it before the class's ``forward``, as for
``OptimizedModule``); the previous state is restored when the forward returns or raises. Outside a
compiled call the modules are as the user left them. The compiled forward of a child captures a
:class:`_ForwardOf` the child, which shares its parameters, buffers and submodules and calls the class's
forward, so the child's hooks run once (in ``Module.__call__``, around the router) and are not captured.

``_Record``: what one top-level call compiled and where it broke, for the warning and :func:`explain`.
"""

from __future__ import annotations

import contextlib
import functools
import re
import sys
import threading
import traceback
import warnings
import weakref

from ..export import _capture
from ..export._location import CORE_DIR, user_location
from ..export._symbolic import DataDependentError
from ..nn.modules.module import Module


class _State(threading.local):
    record = None  # the _Record of the compiled call that is running (None: no compiled call runs)
    compiling = 0  # an ember.compile capture runs: a call of a disable()d function is a graph break
    suspended = 0  # inside a call disable()d with recursive=True: submodules run eagerly, not routed


_state = _State()
_MISSING = object()


class GraphBreakError(DataDependentError):
    """A call marked with :func:`disable` reached while ``ember.compile`` captures: the graph breaks there."""


class GraphBreak:
    """Why one module's forward could not be captured: ``module`` (its path), ``reason`` (the capture's
    error), ``filename`` and ``lineno`` of the user's line that broke the graph (``location`` is both)."""

    __slots__ = ("filename", "lineno", "module", "reason")

    def __init__(self, module: str, reason: str, filename: str, lineno: int):
        self.module, self.reason, self.filename, self.lineno = module, reason, filename, lineno

    @property
    def location(self) -> str:
        return f"{self.filename}:{self.lineno}"

    def __repr__(self) -> str:
        return f"GraphBreak(module={self.module!r}, location={self.location!r}, reason={self.reason!r})"

    def __str__(self) -> str:
        return f"{self.location}: {self.module} runs eagerly: {self.reason}"


def graph_break(module_name: str, error: BaseException, module: Module) -> GraphBreak:
    """The break a capture's ``error`` makes: the innermost line of the user's code in its traceback; else
    the line the capture's message names (found on the stack where it was raised); else, for a forward of
    Ember's own modules, the innermost line of that ``forward`` (or its first line)."""
    forward = module.__dict__.get("_fn") or module.forward
    code = getattr(getattr(forward, "__func__", forward), "__code__", None)
    user = own = None
    for cause in (error, error.__cause__):
        for frame, lineno in traceback.walk_tb(getattr(cause, "__traceback__", None)):
            name = frame.f_code.co_filename
            if not name.startswith(CORE_DIR) and not name.startswith("<"):
                user = (name, lineno)
            if frame.f_code is code:
                own = (name, lineno)
        if user:
            break
    named = re.search(r"ember\.(?:export|compile): (.+?):(\d+): ", str(error))
    if user is None and named is not None and not named.group(1).startswith(CORE_DIR):
        user = (named.group(1), int(named.group(2)))
    if not (user or own) and code is not None:
        own = (code.co_filename, code.co_firstlineno)
    filename, lineno = user or own or ("<unknown>", 0)
    return GraphBreak(module_name, f"{type(error).__name__}: {error}", filename, lineno)


class _Record:
    """One top-level compiled call: the breaks by location, the compiled graphs that ran."""

    def __init__(self):
        self.breaks: dict = {}
        self.graphs: dict = {}

    def add_break(self, found: GraphBreak | None) -> None:
        if found is not None:  # (a break inside a child is met by its parent's capture first: keep one)
            self.breaks[found.location] = found


def used(graph) -> None:
    """A compiled graph ran (counted for the warning and explain())."""
    if _state.record is not None:
        _state.record.graphs[id(graph)] = graph


class _Breaks:
    """What a compiled module knows about its breaks: the reason by guard key, the break locations it
    warned about, and its children's routers (built on the first eager run)."""

    def __init__(self):
        self.reasons: dict = {}
        self.warned: set = set()
        self.children: dict = {}  # id(module) -> (module, router), of every module of a split (at its top)
        self.root = None  # the compiled module or function at the top of the split (for a submodule's)


def breaks_of(compiled) -> _Breaks:
    found = compiled.__dict__.get("graph_breaks")
    if found is None:
        found = compiled.__dict__["graph_breaks"] = _Breaks()
    return found


# --- the call -----------------------------------------------------------------------------------------------
def run_eagerly(compiled, key, args: tuple, kwargs: dict):
    """The forward of ``compiled`` that the capture refused, run eagerly with its children compiled. Called
    from eager code (no record yet: the top of a split), it warns once per break location afterwards."""
    record, top = _state.record, _state.record is None
    if top:
        record = _state.record = _Record()
    try:
        record.add_break(breaks_of(compiled).reasons.get(key))
        if disabled(compiled.module) is True:
            with suspended():
                out = compiled.module(*args, **kwargs)
        else:
            with _routed(_routes(compiled)):
                out = compiled.module(*args, **kwargs)
    finally:
        if top:
            _state.record = None
    if top:
        _warn(compiled, record)
    return out


def _warn(compiled, record: _Record) -> None:
    info = breaks_of(compiled)
    new = [b for b in record.breaks.values() if b.location not in info.warned]
    if not new:
        return
    info.warned.update(b.location for b in new)
    count = len(record.graphs)
    lines = "\n".join(f"  {b}" for b in new)
    warnings.warn(f"ember.compile: {compiled.name} could not be captured as one graph; the forwards that break "
                  f"it run eagerly, and {count} subgraph{'s' * (count != 1)} of their submodules ran compiled. "
                  f"Graph breaks:\n{lines}\n(fullgraph=True raises instead; ember.compiler.explain() lists the "
                  f"breaks)", RuntimeWarning, stacklevel=_user_level())


def _user_level() -> int:
    """``stacklevel`` for ``warnings.warn`` called here: the first frame outside Ember's core."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(CORE_DIR):
        frame, level = frame.f_back, level + 1
    return level


def _routes(compiled) -> list:
    """(module, router) for every submodule of ``compiled``'s module (a compiled function's: of the modules
    it reads; for a bound method, of its ``self``), one per module object; containers (ModuleList) and
    modules compiled already are left alone. The routers and compiled forwards are shared by the whole
    split (kept by its top), so a module has one cache however it is reached."""
    root = breaks_of(compiled).root or compiled
    registry = breaks_of(root).children
    module = compiled.module
    seen = {id(module), id(getattr(getattr(module, "_fn", None), "__self__", None))}
    routes = []
    for child in module.modules():
        if id(child) in seen:
            continue
        seen.add(id(child))
        forward = child.__dict__.get("forward", _MISSING)
        if forward is not _MISSING and not hasattr(forward, "ember_original"):
            continue  # compiled already (OptimizedModule, nn.Module.compile) or the user's own forward
        if type(child).forward is Module.forward:
            continue  # a container: its elements are called, not it
        entry = registry.get(id(child))
        if entry is None or entry[0] is not child:
            entry = registry[id(child)] = (child, _router_for(root, child))
        if forward is not entry[1]:  # (not routed already by an enclosing split)
            routes.append(entry)
    return routes


def _original_forward(module: Module):
    current = module.__dict__.get("forward", _MISSING)
    if current is _MISSING:
        return type(module).forward.__get__(module)
    return getattr(current, "ember_original", current)


def _router_for(root, child: Module):
    original = _original_forward(child)
    if disabled(child) is True:
        def target(*args, **kwargs):
            with suspended():
                return original(*args, **kwargs)
    else:
        base = root.name.removesuffix(".forward")
        path = next((n for n, m in root.module.named_modules() if m is child and n), type(child).__name__)
        target = type(root)(_ForwardOf(child, original), False, root.dynamic, f"{base}.{path}")
        breaks_of(target).root = root

    def forward(*args, **kwargs):  # (another thread, which runs no split, sees the eager forward)
        if _capture._active is not None or _state.suspended or _state.record is None:
            return original(*args, **kwargs)
        return target(*args, **kwargs)

    forward.ember_original = original
    return forward


@contextlib.contextmanager
def _routed(routes: list):
    """For the time of the block, each child's calls go to its router; then each is as before."""
    saved = []
    try:
        for child, router in routes:
            d = child.__dict__
            saved.append((d, d.get("forward", _MISSING)))
            d["forward"] = router
        yield
    finally:
        for d, previous in reversed(saved):
            if previous is _MISSING:
                d.pop("forward", None)
            else:
                d["forward"] = previous


class _ForwardOf(Module):
    """A module's forward as a module of its own: the same parameters, buffers, submodules and training
    mode, no hooks (the module's hooks run around the router), for a child's own compiled forward."""

    def __init__(self, module: Module, forward):
        super().__init__()
        d = self.__dict__
        for name in ("_parameters", "_buffers", "_non_persistent_buffers_set", "_modules"):
            d[name] = module.__dict__[name]
        d["_target"] = module
        d["forward"] = forward

    @property
    def training(self) -> bool:
        return self.__dict__["_target"].training

    @training.setter
    def training(self, mode: bool) -> None:
        pass  # (Module.__init__ sets it; the target's mode is the one that counts)


# --- disable --------------------------------------------------------------------------------------------------
_DISABLED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # module -> recursive


def disable(fn=None, recursive: bool = True, *, reason: str | None = None):
    """Runs ``fn`` (a function or an ``ember.nn.Module``) eagerly inside compiled code (``torch.compiler.disable``).

    A compiled caller's capture breaks at the call: the caller runs eagerly and its submodules are
    compiled one by one (see ``docs/compile.md``, "What breaks a graph"). With ``recursive=True`` nothing
    ``fn`` calls is compiled either; with ``recursive=False`` only ``fn``'s own code runs eagerly and the
    submodules of a disabled module are compiled. A function is wrapped (the wrapper is returned); a
    module is marked and returned itself, unchanged otherwise. Used as a decorator with or without
    arguments.

    Example:
        >>> import ember
        >>> @ember.compiler.disable
        ... def show(x):
        ...     return x * 1
        >>> f = ember.compile(lambda x: show(x.tanh()) + 1)
        >>> bool(ember.allclose(f(ember.zeros(2)), ember.ones(2)))
        True
    """
    if fn is None:
        return functools.partial(disable, recursive=recursive, reason=reason)
    if isinstance(fn, Module):
        fn = fn.__dict__.get("_orig_mod", fn)
        _DISABLED[fn] = bool(recursive)
        return fn
    if not callable(fn):
        raise TypeError(f"ember.compiler.disable: expected a function or an ember.nn.Module, got "
                        f"{type(fn).__name__}")
    name = getattr(fn, "__qualname__", repr(fn))
    why = f" ({reason})" if reason else ""

    @functools.wraps(fn)
    def disabled_fn(*args, **kwargs):
        if _state.compiling and _capture._active is not None:
            raise GraphBreakError(f"ember.compile: {user_location()}: {name} is marked "
                                  f"ember.compiler.disable{why}: the graph breaks at this call")
        if recursive:
            with suspended():
                return fn(*args, **kwargs)
        return fn(*args, **kwargs)

    disabled_fn.ember_disabled = bool(recursive)
    return disabled_fn


def disabled(module: Module):
    """None, or the ``recursive`` a module (or a compiled function, a child's forward) was disabled with."""
    module = module.__dict__.get("_target", module)
    fn = module.__dict__.get("_fn")
    if fn is not None:
        return getattr(fn, "ember_disabled", None)
    return _DISABLED.get(module)


def is_compiling() -> bool:
    """True while ``ember.compile`` captures the code that calls it (``torch.compiler.is_compiling``): code
    the graph should leave out (logging, checks) can be skipped there instead of breaking the graph.

    Example:
        >>> import ember
        >>> ember.compiler.is_compiling()
        False
    """
    return bool(_state.compiling) and _capture._active is not None


@contextlib.contextmanager
def suspended():
    _state.suspended += 1
    try:
        yield
    finally:
        _state.suspended -= 1


@contextlib.contextmanager
def capturing(module: Module):
    """An ember.compile capture of ``module``: disabled calls inside it break the graph."""
    def refuse(child, args):
        raise GraphBreakError(f"ember.compile: {user_location()}: {type(child).__name__} is marked "
                              f"ember.compiler.disable: the graph breaks at this call")

    handles = []
    _state.compiling += 1
    try:
        for child in module.modules():
            if child is not module and child in _DISABLED:
                handles.append(child.register_forward_pre_hook(refuse, prepend=True))
        yield
    finally:
        _state.compiling -= 1
        for handle in handles:
            handle.remove()


# --- explain --------------------------------------------------------------------------------------------------
