"""A module compiled in place: ``nn.Module.compile`` and the Trainer's ``fit(ember.compile(module))``.

``ember.compile(module)`` returns a wrapper (``OptimizedModule``); compiled *in place*, the module itself
runs the compiled forward: its instance attribute ``forward`` becomes a ``CompiledForward``, so
``module(x)``, and ``self(x)`` inside a ``TrainingModule``'s steps, run the compiled graph while the
module's class, its other methods and its ``state_dict`` stay as they were (Lightning's ``from_compiled``
does the same for a LightningModule).
"""

from __future__ import annotations

import copy

from ..nn.modules.module import Module
from ._compile import OptimizedModule, _Compiled, compile


class CompiledForward:
    """``module.forward`` of a module compiled in place: calls run the compiled forward (capture on first
    call, guards, cached graphs, eager fallback). Calls made while it runs (the capture running the forward
    once, an eager fallback calling ``module(...)``) reach the forward it replaced, not itself again."""

    def __init__(self, module: Module, compiled: _Compiled | None, options: tuple, replaced=None):
        self.module = module
        self.compiled = compiled  # None until the first call (a deep copy's)
        self.options = options  # (fullgraph, dynamic) of ember.compile
        self.replaced = replaced  # an instance attribute ``forward`` the user had set, if any
        self.running = False

    @property
    def __wrapped__(self):  # the eager forward: its signature is this one's (inspect.signature, export)
        if self.replaced is not None:
            return self.replaced
        return type(self.module).forward.__get__(self.module)

    def __call__(self, *args, **kwargs):
        if self.running:
            return self.__wrapped__(*args, **kwargs)
        if self.compiled is None:
            self.compiled = _Compiled(self.module, *self.options, type(self.module).__name__ + ".forward")
        self.running = True
        try:
            return self.compiled(*args, **kwargs)
        finally:
            self.running = False

    def __deepcopy__(self, memo):
        """A deep copy of the module is compiled too, afresh: its own graphs of its tensors,
        captured on its first call (the copy is not complete while this runs)."""
        module = copy.deepcopy(self.module, memo)
        return CompiledForward(module, None, self.options, copy.deepcopy(self.replaced, memo))


def _install(module: Module, compiled: _Compiled) -> Module:
    module.__dict__["forward"] = CompiledForward(module, compiled, (compiled.fullgraph, compiled.dynamic),
                                                 module.__dict__.get("forward"))
    return module


def compile_in_place(module: Module, **kwargs) -> Module:
    """Compiles ``module``'s forward in place with ``ember.compile(module, **kwargs)``; returns ``module``.
    Compiling again replaces the earlier compilation (its cached graphs are dropped)."""
    if isinstance(module, OptimizedModule):
        module = module._orig_mod
    uncompile(module)
    optimized = compile(module, **kwargs)
    if optimized is not module:  # (disable=True returns the module itself)
        _install(module, optimized._compiled)
    return module


def from_compiled(optimized: OptimizedModule) -> Module:
    """The module an ``OptimizedModule`` wraps, now running that compiled forward itself (its graphs and
    options are kept): Lightning's ``from_compiled``."""
    module = _install(uncompile(optimized._orig_mod), optimized._compiled)
    optimized.__dict__["forward"] = module.forward  # (so that a fallback through either ends in the eager forward)
    return module


def compiled_forward(module: Module) -> CompiledForward | None:
    """The ``CompiledForward`` of a module compiled in place, or None."""
    forward = module.__dict__.get("forward")
    return forward if isinstance(forward, CompiledForward) else None


def uncompile(module: Module) -> Module:
    """Undoes ``compile_in_place`` / ``from_compiled``: ``module.forward`` is the eager one again."""
    forward = compiled_forward(module)
    if forward is not None:
        del module.__dict__["forward"]
        if forward.replaced is not None:
            module.__dict__["forward"] = forward.replaced
    return module
