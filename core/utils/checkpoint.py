"""``ember.utils.checkpoint``: activation checkpointing, as ``torch.utils.checkpoint``.

A checkpointed function runs its forward under ``no_grad``: none of its intermediate activations are kept,
only its inputs. Backward runs it again, with gradients on and the random state of the first run (so dropout
draws the same masks), and backpropagates through that recomputation. Memory goes down from one set of
activations per layer to one per checkpointed segment, for one more forward pass of compute.

Both of torch's variants are here, with torch's rules:

- ``use_reentrant=True`` (what ``use_reentrant=None`` means, with torch's warning): the checkpoint is an
  autograd ``Function`` of its tensor arguments. Backward calls ``ember.autograd.backward`` on the
  recomputed outputs, which accumulates into the ``.grad`` of the parameters the function uses. As in torch,
  the outputs require grad only if a tensor argument does (else the parameters inside get no gradient),
  keyword arguments are refused, and ``autograd.grad`` is not supported (Ember does not detect it: the
  parameters' ``.grad`` would be filled as a side effect, where torch raises).
- ``use_reentrant=False``: the tensors the function reaches from outside -- its arguments, and the parameters
  or other tensors requiring grad it closes over -- all become inputs of the checkpoint's node, so gradients
  flow through the engine like any op's: ``autograd.grad`` works, parameters get gradients even when no
  argument requires grad, keyword arguments and any (nested tuple / list / dict) output work. torch finds
  those tensors with saved-tensor hooks; Ember has none, and instead watches, during the ``no_grad`` forward,
  which tensors requiring grad reach an op (``Function.apply``'s dispatch hook; under ``ember.func.vmap``,
  which holds that hook, the function runs without checkpointing, and ``vmap`` inside a checkpointed function
  raises rather than miss a tensor). Its backward recomputes the whole function (torch's ``early_stop`` stops
  recomputing once the saved tensors needed are rebuilt; here every recomputation runs to the end, which costs
  time, not memory). ``determinism_check="default"`` compares the recomputed outputs' shapes and dtypes with
  the first run's; ``context_fn`` gives the forward and recomputation contexts; ``debug`` is accepted (Ember's
  anomaly mode, ``ember.autograd.detect_anomaly``, names the op that failed).

Example:
    >>> import ember
    >>> from ember.utils.checkpoint import checkpoint
    >>> layer = ember.nn.Linear(4, 4)
    >>> x = ember.randn(2, 4, requires_grad=True)
    >>> checkpoint(layer, x, use_reentrant=False).sum().backward()
    >>> layer.weight.grad.shape
    ember.Size([4, 4])
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from typing import Any, Callable

from .. import random as _random
from ..autograd import engine
from ..autograd.function import Function
from ..autograd.grad_mode import enable_grad, no_grad, state
from ..nn.modules.container import Sequential
from ..tensor import Tensor

__all__ = ["CheckpointError", "checkpoint", "checkpoint_sequential", "detach_variable", "noop_context_fn"]

_USE_REENTRANT_WARNING = (
    "ember.utils.checkpoint{where}: the use_reentrant parameter should be passed explicitly. Starting in "
    "PyTorch 2.9, calling checkpoint without use_reentrant will raise an exception. use_reentrant=False is "
    "recommended, but if you need to preserve the current default behavior, you can pass use_reentrant=True. "
    "Refer to docs for more details on the differences between the two variants."
)


class CheckpointError(RuntimeError):
    """The recomputation in backward did not reproduce the forward (torch's ``CheckpointError``)."""


def noop_context_fn():
    """The default ``context_fn``: no context around the forward or the recomputation."""
    return contextlib.nullcontext(), contextlib.nullcontext()


def detach_variable(inputs: tuple) -> tuple:
    """Each tensor of ``inputs`` detached, keeping its ``requires_grad``; other values as they are."""
    if not isinstance(inputs, tuple):
        raise RuntimeError("Only tuple of tensors is supported. Got Unsupported input type: "
                           f"{type(inputs).__name__}")
    return tuple(_detached_copy(x) if isinstance(x, Tensor) else x for x in inputs)


def checkpoint(function: Callable, *args, use_reentrant: bool | None = None,
               context_fn: Callable = noop_context_fn, determinism_check: str = "default",
               debug: bool = False, early_stop: bool = True, **kwargs) -> Any:
    """Runs ``function(*args, **kwargs)`` without keeping its activations; backward recomputes them.

    Args:
        function: what to run (a module or any callable).
        *args: its arguments; tensors among them are saved for the recomputation.
        use_reentrant: the variant (see the module's docstring). ``None`` warns and means ``True``, as in
            torch 2.13.
        preserve_rng_state: (keyword) restore the random state of the forward before recomputing, so random
            ops (dropout) draw the same values. Default: True.
        context_fn: returns two context managers, for the forward and for the recomputation
            (``use_reentrant=False`` only).
        determinism_check: ``"default"`` (check the recomputed outputs' shapes and dtypes) or ``"none"``.
        debug: accepted (``use_reentrant=False`` only).
        early_stop: accepted; the recomputation always runs the whole function.
        **kwargs: keyword arguments of ``function`` (``use_reentrant=False`` only).

    Returns:
        What ``function`` returns.

    Example:
        >>> import ember
        >>> from ember.utils.checkpoint import checkpoint
        >>> x = ember.ones(3, requires_grad=True)
        >>> checkpoint(lambda t: (t * t).sum(), x, use_reentrant=True).backward()
        >>> x.grad
        tensor([2., 2., 2.])
    """
    if use_reentrant is None:
        warnings.warn(_USE_REENTRANT_WARNING.format(where=""), stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs and use_reentrant:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))
    if use_reentrant:
        if context_fn is not noop_context_fn or debug is not False:
            raise ValueError("Passing `context_fn` or `debug` is only supported when use_reentrant=False.")
        if not any(isinstance(a, Tensor) and a.requires_grad for a in args):
            warnings.warn("None of the inputs have requires_grad=True. Gradients will be None", stacklevel=2)
        flat = _Flattened(function)  # the node's outputs are the tensors; the rest is put back around them
        outputs = list(CheckpointFunction.apply(flat, preserve, *args))
        return flat.rebuild(outputs)
    if determinism_check not in ("default", "none"):
        raise ValueError("determinism_check should be one of ['default', 'none'], but got "
                         f"{determinism_check}")
    return _checkpoint_without_reentrant(function, preserve, context_fn, determinism_check, args, kwargs)


def checkpoint_sequential(functions, segments: int, input, use_reentrant: bool | None = None, **kwargs):
    """Runs ``functions`` (an ``nn.Sequential`` or a list of modules / callables) one after another, split
    into ``segments`` chunks; every chunk but the last is checkpointed, so only the chunks' inputs are kept.

    Example:
        >>> import ember
        >>> from ember.utils.checkpoint import checkpoint_sequential
        >>> model = ember.nn.Sequential(*[ember.nn.Linear(4, 4) for _ in range(4)])
        >>> x = ember.randn(2, 4, requires_grad=True)
        >>> checkpoint_sequential(model, 2, x, use_reentrant=False).shape
        ember.Size([2, 4])
    """
    if use_reentrant is None:
        warnings.warn(_USE_REENTRANT_WARNING.format(where=".checkpoint_sequential"), stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))
    if isinstance(functions, Sequential):
        functions = list(functions.children())
    segment_size = len(functions) // segments

    def run_function(start, end):
        def forward(input):
            for j in range(start, end + 1):
                input = functions[j](input)
            return input

        return forward

    end = -1
    for start in range(0, segment_size * (segments - 1), segment_size):
        end = start + segment_size - 1
        input = checkpoint(run_function(start, end), input, use_reentrant=use_reentrant,
                           preserve_rng_state=preserve)
    return run_function(end + 1, len(functions) - 1)(input)


# --- use_reentrant=True: torch's CheckpointFunction ---------------------------------------------------------
class CheckpointFunction(Function):
    """The reentrant checkpoint: a Function of the tensor arguments whose backward runs a backward pass."""

    @staticmethod
    def forward(ctx, run_function, preserve_rng_state, *args):
        ctx.run_function = run_function
        ctx.rng_state = _random.get_rng_state() if preserve_rng_state else None
        ctx.inputs = [None if isinstance(a, Tensor) else a for a in args]
        ctx.tensor_indices = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        ctx.save_for_backward(*(args[i] for i in ctx.tensor_indices))
        return run_function(*args)  # (Function.apply runs forward under no_grad)

    @staticmethod
    def backward(ctx, *grad_outputs):
        inputs = list(ctx.inputs)
        for i, t in zip(ctx.tensor_indices, ctx.saved_tensors):
            inputs[i] = t
        with _forward_rng(ctx.rng_state):
            detached = detach_variable(tuple(inputs))
            with enable_grad():
                outputs = ctx.run_function(*detached)
        outputs = (outputs,) if isinstance(outputs, Tensor) else tuple(outputs)
        pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if isinstance(o, Tensor) and o.requires_grad]
        if not pairs:
            raise RuntimeError("none of output has requires_grad=True, this checkpoint() is not necessary")
        engine.backward([o for o, _ in pairs], [g for _, g in pairs])
        return (None, None) + tuple(x.grad if isinstance(x, Tensor) else None for x in detached)


class _Flattened:
    """``function`` returning the tuple of the tensors in its result; ``rebuild`` makes the result again."""

    def __init__(self, function):
        self.function, self.rebuild = function, None

    def __call__(self, *args):
        tensors, rebuild = _flatten(self.function(*args))
        if self.rebuild is None:
            self.rebuild = rebuild
        return tuple(tensors)


# --- use_reentrant=False ------------------------------------------------------------------------------
class _Recompute(Function):
    """The non-reentrant checkpoint's node: inputs are the tensor arguments and every outside tensor requiring
    grad the function used; ``forward`` hands back the outputs computed already, ``backward`` recomputes them
    and asks the engine for their gradients with respect to those inputs."""

    @staticmethod
    def forward(ctx, run, n_args, *tensors):
        ctx.run, ctx.n_args = run, n_args
        ctx.save_for_backward(*tensors[:n_args])
        ctx.outside = tensors[n_args:]
        outputs, run.outputs = run.outputs, None  # the node keeps no output
        return tuple(outputs)

    @staticmethod
    def backward(ctx, *grad_outputs):
        run = ctx.run
        create_graph = state.grad_enabled  # backward(create_graph=True): the gradients' graph must reach the
        # inputs themselves, so the recomputation starts from them rather than from detached copies
        saved = ctx.saved_tensors
        arguments = list(saved) if create_graph else [_detached_copy(t) for t in saved]
        with _forward_rng(run.rng_state), enable_grad(), run.recompute_context:
            outputs = run.call(arguments)
        if run.check and [(tuple(o.shape), o.dtype) for o in outputs] != run.metadata:
            raise CheckpointError(
                "ember.utils.checkpoint: Recomputed values have different metadata than during the forward "
                f"pass: shapes and dtypes {run.metadata} in forward, "
                f"{[(tuple(o.shape), o.dtype) for o in outputs]} when recomputed."
            )
        pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad and g is not None]
        targets = [t for t in arguments if t.requires_grad] + [t for t in ctx.outside]
        if not pairs or not targets:
            return (None, None) + (None,) * (len(arguments) + len(ctx.outside))
        grads = iter(engine.grad([o for o, _ in pairs], targets, [g for _, g in pairs], allow_unused=True,
                                 create_graph=create_graph))
        argument_grads = tuple(next(grads) if t.requires_grad else None for t in arguments)
        return (None, None) + argument_grads + tuple(grads)


class _Run:
    """What the non-reentrant node needs to run the function again: the function, its non-tensor arguments,
    the shape of its output, the random state and the contexts."""

    def __init__(self, function, args, kwargs, preserve, context_fn, determinism_check):
        self.function, self.kwargs = function, kwargs
        self.args = list(args)
        self.tensor_indices = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        self.kwarg_tensors = [k for k, v in kwargs.items() if isinstance(v, Tensor)]
        self.rng_state = _random.get_rng_state() if preserve else None
        self.forward_context, self.recompute_context = context_fn()
        self.check = determinism_check == "default"
        self.outputs = self.rebuild = self.metadata = None

    def tensors(self) -> list:
        return [self.args[i] for i in self.tensor_indices] + [self.kwargs[k] for k in self.kwarg_tensors]

    def call(self, tensors: list) -> list:
        """``function`` on ``tensors`` put in place of the tensor arguments; its tensor outputs, flattened."""
        args, kwargs = list(self.args), dict(self.kwargs)
        n = len(self.tensor_indices)
        for i, t in zip(self.tensor_indices, tensors[:n]):
            args[i] = t
        for k, t in zip(self.kwarg_tensors, tensors[n:]):
            kwargs[k] = t
        result = self.function(*args, **kwargs)
        outputs, rebuild = _flatten(result)
        if self.rebuild is None:
            self.rebuild = rebuild
        return outputs


def _checkpoint_without_reentrant(function, preserve, context_fn, determinism_check, args, kwargs):
    run = _Run(function, args, kwargs, preserve, context_fn, determinism_check)
    tensors = run.tensors()
    if not state.grad_enabled or Function.__dict__["_batching_hook"] not in (None, _WATCHING_HOOK):
        # nothing to recompute for; or inside ember.func.vmap, whose hook runs each op (this checkpoint's
        # node too) sample by sample: the function runs as it is, with the same values and gradients
        with run.forward_context:
            return function(*args, **kwargs)
    watcher = _OutsideTensors(tensors)
    with no_grad(), watcher, run.forward_context:
        outputs = run.call(tensors)
    if not outputs:
        return run.rebuild([])
    run.outputs = outputs
    run.metadata = [(tuple(o.shape), o.dtype) for o in outputs]
    results = _Recompute.apply(run, len(tensors), *tensors, *watcher.found.values())
    return run.rebuild(list(results))


class _OutsideTensors:
    """While active, records every tensor requiring grad that reaches an op in this thread (the forward runs
    under ``no_grad``, so such a tensor comes from outside the function: a parameter, a captured tensor).

    It uses ``Function.apply``'s dispatch hook: one hook, installed while any watcher of any thread is active,
    hands each op to the innermost watcher of the calling thread, then to the hook that was there before
    (``ember.func.vmap``'s). If something else replaces the hook meanwhile (``vmap`` started inside the
    checkpointed function), the tensors seen may be incomplete, and ``__exit__`` raises rather than give
    wrong gradients.
    """

    _lock = threading.Lock()
    _watchers: dict = {}  # thread id -> that thread's active watchers, innermost last
    _previous: list = [None]  # the hook before ours, as Function's class dict holds it (in a list: a
    # staticmethod read as a class attribute would come out unwrapped)

    def __init__(self, inputs: list):
        self.known = {id(t) for t in inputs}
        self.found: dict = {}

    def __enter__(self):
        with self._lock:
            if not self._watchers:
                self._previous[0] = Function.__dict__["_batching_hook"]
                Function._batching_hook = _WATCHING_HOOK
            self._watchers.setdefault(threading.get_ident(), []).append(self)
        return self

    def __exit__(self, *exc):
        with self._lock:
            replaced = Function.__dict__["_batching_hook"] is not _WATCHING_HOOK
            stack = self._watchers[threading.get_ident()]
            stack.remove(self)
            if not stack:
                del self._watchers[threading.get_ident()]
            if not self._watchers and not replaced:
                Function._batching_hook = self._previous[0]
        if replaced and exc[0] is None:
            raise RuntimeError("checkpoint(use_reentrant=False): Function.apply's dispatch hook was replaced "
                               "while the function ran (ember.func.vmap inside it?), so the tensors it used "
                               "are not known; use use_reentrant=True there")
        return False

    @classmethod
    def _dispatch(cls, op, args, kwargs):
        stack = cls._watchers.get(threading.get_ident())
        if stack:
            stack[-1]._record(args)
            stack[-1]._record(kwargs.values())
        previous = cls._previous[0]
        return NotImplemented if previous is None else previous.__func__(op, args, kwargs)

    def _record(self, values) -> None:
        for value in values:
            if isinstance(value, (list, tuple)):
                self._record(value)
            elif isinstance(value, Tensor) and value._requires_grad and id(value) not in self.known:
                self.found.setdefault(id(value), value)


_WATCHING_HOOK = staticmethod(_OutsideTensors._dispatch)


def _flatten(result):
    """The tensors of ``result`` (a tensor or nested tuples / lists / dicts) and a function that puts new
    tensors back in their places."""
    if isinstance(result, Tensor):
        return [result], lambda tensors: tensors[0]
    if isinstance(result, (tuple, list, dict)):
        items = list(result.values()) if isinstance(result, dict) else list(result)
        flat, rebuilders, counts = [], [], []
        for item in items:
            tensors, rebuild = _flatten(item)
            flat += tensors
            rebuilders.append(rebuild)
            counts.append(len(tensors))

        # (the closure keeps the container's type and keys, not the container: its tensors must not live on)
        kind, named = type(result), hasattr(result, "_fields")
        keys = list(result) if isinstance(result, dict) else None

        def rebuild(tensors):
            parts, start = [], 0
            for part, count in zip(rebuilders, counts):
                parts.append(part(tensors[start:start + count]))
                start += count
            if keys is not None:
                return kind(zip(keys, parts))
            return kind(*parts) if named else kind(parts)

        return flat, rebuild
    return [], lambda tensors: result


def _detached_copy(t: Tensor) -> Tensor:
    """``t`` detached, requiring grad when ``t`` does: a fresh leaf for the recomputation."""
    detached = t.detach()
    detached.requires_grad = t.requires_grad
    return detached


@contextlib.contextmanager
def _forward_rng(rng_state):
    """Runs the block with the default generator in the state it had at the forward (``rng_state``), then
    puts back the state it had before; does nothing when ``rng_state`` is None."""
    if rng_state is None:
        yield
        return
    saved = _random.get_rng_state()
    _random.set_rng_state(rng_state)
    try:
        yield
    finally:
        _random.set_rng_state(saved)
