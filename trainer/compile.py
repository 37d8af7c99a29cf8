"""``from_compiled`` and ``to_uncompiled``, as in Lightning's ``lightning.pytorch.utilities.compile``.

``ember.compile(module)`` returns an ``OptimizedModule``, which wraps the ``TrainingModule`` but is not one.
``from_compiled`` gives back the ``TrainingModule`` itself, running the compiled forward (``self(x)`` in its
steps); ``Trainer.fit / validate / test / predict`` call it on a compiled model they are given.
"""

from __future__ import annotations

from .module import TrainingModule


def from_compiled(model) -> TrainingModule:
    """The ``TrainingModule`` an ``OptimizedModule`` wraps, with its forward compiled in place (the same
    compiled graphs and options; ``self(x)`` and ``self.forward(x)`` run them, the steps stay eager).

    Example:
        >>> import ember
        >>> from ember.trainer.tasks import Classifier
        >>> module = from_compiled(ember.compile(Classifier(ember.nn.Linear(4, 3))))
        >>> type(module).__name__
        'Classifier'
    """
    from ember.compiler import OptimizedModule  # lazy: ember.compiler loads the capture
    from ember.compiler._in_place import from_compiled as unwrap

    # (ValueError, not TypeError: Lightning's from_compiled raises these)
    if not isinstance(model, OptimizedModule):
        raise ValueError(f"`model` is required to be an ember.compiler.OptimizedModule (what ember.compile "  # noqa: TRY004
                         f"returns for a module); got {type(model).__name__}")
    if not isinstance(model._orig_mod, TrainingModule):
        raise ValueError(f"`model` is expected to be a compiled TrainingModule; got a compiled "  # noqa: TRY004
                         f"{type(model._orig_mod).__name__}")
    return unwrap(model)


def to_uncompiled(model) -> TrainingModule:
    """The ``TrainingModule`` with its eager forward back: of an ``OptimizedModule``, or of a module that
    ``from_compiled`` or ``module.compile()`` compiled in place."""
    from ember.compiler import OptimizedModule
    from ember.compiler._in_place import compiled_forward, uncompile

    if isinstance(model, OptimizedModule):
        model = model._orig_mod
    elif not isinstance(model, TrainingModule) or compiled_forward(model) is None:
        raise ValueError(f"`model` must be an OptimizedModule or a compiled TrainingModule; got "
                         f"{type(model).__name__}")
    return uncompile(model)


def maybe_unwrap_optimized(model):
    """A model given to the Trainer: a ``TrainingModule`` as it is, an ``OptimizedModule`` of one through
    ``from_compiled`` (Lightning's ``_maybe_unwrap_optimized``); anything else as it is, for the caller's check."""
    if isinstance(model, TrainingModule):
        return model
    from ember.compiler import OptimizedModule

    return from_compiled(model) if isinstance(model, OptimizedModule) else model
