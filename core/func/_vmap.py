"""``vmap``: a function of one sample, run on a whole batch at once (``torch.func.vmap``)."""

from __future__ import annotations

import functools
import itertools
import threading

from ..ops.joining import cat, stack
from ..random import default_generator
from ..tensor import Tensor
from . import _batching, _rules
from ._batching import Unbatchable, is_batched, make_batched
from ._pytree import broadcast_prefix, tree_flatten, tree_unflatten

_RANDOMNESS = ("error", "different", "same")
_levels = itertools.count(1)
_running = [0]  # vmaps running in any thread: the dispatch hook is on while there are some
_lock = threading.Lock()


class _ThreadState(threading.local):
    def __init__(self):
        self.levels = []  # (level, batch size) of this thread's running vmaps, outermost first


_state = _ThreadState()


def active_levels() -> list:
    """(level, batch size) of the vmaps running in this thread, outermost first."""
    return _state.levels


def vmap(func, in_dims=0, out_dims=0, randomness: str = "error", *, chunk_size: int | None = None):
    """Vectorizes ``func`` over a dimension of its inputs: ``vmap(f)(xs)`` stacks ``f(x)`` for ``x`` in ``xs``.

    The batch runs through each op once (``sum(x, 0)`` becomes a sum over dim 1 of the batch, per-sample
    matmuls one batched matmul, per-sample convolutions one convolution). An op without a batching rule
    runs once per sample. Python code that reads a batched tensor's values (``if x.sum() > 0``, ``.item()``)
    goes on batched when every sample has the same value, and otherwise makes the whole function run once
    per sample. Either way the result is the same.

    Args:
        func: takes and returns tensors, or tuples / lists / dicts of them.
        in_dims: the batch dimension of each input: an int for all, None for an input that is not batched,
            or a (nested) tuple matching the positional arguments.
        out_dims: where the batch dimension goes in each output (an int or a tuple matching the outputs).
        randomness: "error" (random ops inside ``func`` raise), "different" (each sample draws its own
            numbers) or "same" (every sample gets the same numbers).
        chunk_size: run at most this many samples at a time (less memory, same result).

    Example:
        >>> import ember
        >>> from ember.func import vmap
        >>> vmap(ember.dot)(ember.ones(5, 3), ember.ones(5, 3))
        tensor([3., 3., 3., 3., 3.])
    """
    if randomness not in _RANDOMNESS:
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or 'same'. Got {randomness}")
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size <= 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")

    @functools.wraps(func)
    def wrapped(*args, **kwargs):
        return _vmap_call(func, in_dims, out_dims, randomness, chunk_size, args, kwargs)

    return wrapped


def _name(func) -> str:
    return getattr(func, "__name__", type(func).__name__)


def _vmap_call(func, in_dims, out_dims, randomness, chunk_size, args, kwargs):
    where = f"vmap({_name(func)}, in_dims={in_dims}, ...)(<inputs>)"
    if not isinstance(in_dims, (int, tuple)) or isinstance(in_dims, bool):
        raise ValueError(f"{where}: expected `in_dims` to be int or a (potentially nested) tuple matching "  # noqa: TRY004 (PyTorch's exception type)
                         f"the structure of inputs, got: {type(in_dims)}.")
    if isinstance(in_dims, tuple) and len(in_dims) != len(args):
        raise ValueError(f"{where}: in_dims is not compatible with the structure of `inputs`. in_dims has "
                         f"structure {in_dims} but inputs has {len(args)} positional arguments")
    flat_args, spec = tree_flatten(args)
    flat_dims = broadcast_prefix(in_dims, args, where)
    sizes = []
    for i, (x, dim) in enumerate(zip(flat_args, flat_dims)):
        if dim is None:
            continue
        if not isinstance(dim, int):
            raise ValueError(f"{where}: in_dims must be ints or None, got {dim!r}")  # noqa: TRY004 (PyTorch's exception type)
        if not isinstance(x, Tensor):
            raise ValueError(f"{where}: Got in_dim={dim} for an input but the input is of type {type(x)}. We "  # noqa: TRY004 (PyTorch's exception type)
                             "cannot vmap over non-Tensor arguments, please use None as the respective in_dim")
        if not -x.ndim <= dim < max(x.ndim, 0) or x.ndim == 0:
            raise ValueError(f"{where}: Got in_dim={dim} for some input, but that input is a Tensor of "
                             f"dimensionality {x.ndim} so expected in_dim to satisfy -{x.ndim} <= in_dim < {x.ndim}.")
        flat_dims[i] = dim % x.ndim
        sizes.append(x.shape[dim])
    if not sizes:
        raise ValueError(f"{where}: at least one input must be a Tensor with an in_dim that is not None")
    if len(set(sizes)) != 1:
        raise ValueError(f"{where}: Expected all tensors to have the same size in the mapped dimension, got "
                         f"sizes {sizes} for the mapped dimension")
    size = sizes[0]
    if chunk_size is None or chunk_size >= size:
        return _vmap_batch(func, flat_args, flat_dims, spec, size, out_dims, randomness, kwargs)
    chunks = []
    for start in range(0, size, chunk_size):
        length = min(chunk_size, size - start)
        part = [x if d is None else x.narrow(d, start, length) for x, d in zip(flat_args, flat_dims)]
        chunks.append(_vmap_batch(func, part, flat_dims, spec, length, out_dims, randomness, kwargs))
    flat_chunks = [tree_flatten(c)[0] for c in chunks]
    out_spec = tree_flatten(chunks[0])[1]
    flat_out_dims = broadcast_prefix(out_dims, chunks[0], "vmap: out_dims")
    joined = [parts[0] if dim is None else cat(list(parts), dim)
              for parts, dim in zip(zip(*flat_chunks), flat_out_dims)]
    return tree_unflatten(joined, out_spec)


def _vmap_batch(func, flat_args, flat_dims, spec, size, out_dims, randomness, kwargs):
    level = next(_levels)
    _state.levels.append((level, size))
    with _lock:
        _running[0] += 1
        _rules.install()
    random = _RandomBatching(randomness, level, size)
    try:
        inputs = [x if d is None else make_batched(x.movedim(d, 0), level) for x, d in zip(flat_args, flat_dims)]
        try:
            with random:
                out = func(*tree_unflatten(inputs, spec), **kwargs)
                return _unbatch_outputs(func, out, out_dims, level, size)
        except Unbatchable:
            pass
    finally:
        _state.levels.pop()
        with _lock:
            _running[0] -= 1
            if not _running[0]:
                _rules.uninstall()
    return _loop(func, flat_args, flat_dims, spec, size, out_dims, randomness, kwargs)


def _loop(func, flat_args, flat_dims, spec, size, out_dims, randomness, kwargs):
    """The fallback: ``func`` once per sample, outputs stacked along ``out_dims``."""
    state = default_generator.get_state() if randomness == "same" else None
    results = []
    for i in range(size):
        if state is not None:
            default_generator.set_state(state)
        sample = [x if d is None else x[(slice(None),) * d + (i,)] for x, d in zip(flat_args, flat_dims)]
        if randomness == "error":
            with _RandomBatching("error", 0, 0):
                results.append(func(*tree_unflatten(sample, spec), **kwargs))
        else:
            results.append(func(*tree_unflatten(sample, spec), **kwargs))
    flat_results = [tree_flatten(r)[0] for r in results]
    out_spec = tree_flatten(results[0])[1]
    flat_out_dims = broadcast_prefix(out_dims, results[0], "vmap: out_dims")
    stacked = []
    for parts, dim in zip(zip(*flat_results), flat_out_dims):
        if not isinstance(parts[0], Tensor):
            raise ValueError(f"vmap({_name(func)}, ...): `{_name(func)}` must only return Tensors, got type "  # noqa: TRY004 (PyTorch's exception type)
                             f"{type(parts[0])}. Did you mean to set out_dims= to None for output?")
        shapes = {tuple(p.shape) for p in parts}
        if len(shapes) > 1:
            raise _batching._different_shapes(shapes)
        stacked.append(parts[0] if dim is None else stack(list(parts), dim))
    return tree_unflatten(stacked, out_spec)


def _unbatch_outputs(func, out, out_dims, level, size):
    flat_out, out_spec = tree_flatten(out)
    if not isinstance(out_dims, (int, tuple, list)) and out_dims is not None:
        raise ValueError(f"vmap({_name(func)}, ...): out_dims must be an int, None or a tuple, got {out_dims!r}")
    flat_dims = broadcast_prefix(out_dims, out, f"vmap({_name(func)}, ...): out_dims")
    results = []
    for o, dim in zip(flat_out, flat_dims):
        if not isinstance(o, Tensor):
            if dim is None:
                results.append(o)
                continue
            raise ValueError(f"vmap({_name(func)}, ...): `{_name(func)}` must only return Tensors, got type "
                             f"{type(o)}. Did you mean to set out_dims= to None for output?")
        batched = is_batched(o) and o._data.level == level
        if dim is None:
            if batched:
                raise ValueError(f"vmap({_name(func)}, ...): out_dims=None for an output that is batched "
                                 "(it differs between samples)")
            results.append(o)
            continue
        physical = o._data.value if batched else o.unsqueeze(0).expand((size,) + tuple(o.shape))
        ndim = physical.ndim
        if not -ndim <= dim < ndim:
            raise ValueError(f"vmap({_name(func)}, ...): out_dims={dim} is out of range for an output with "
                             f"{ndim - 1} dimensions")
        results.append(physical.movedim(0, dim) if dim % ndim else physical)
    return tree_unflatten(results, out_spec)


# numpy Generator draws vmap batches (randomness="different"): name -> position of their ``size`` argument
_SIZE_ARGUMENT = {"random": 0, "standard_normal": 0, "normal": 2, "uniform": 2, "integers": 2, "exponential": 1}


class _RandomBatching:
    """Stands in for the default generator's numpy Generator while a vmap runs (``randomness=``)."""

    def __init__(self, mode, level, size):
        self.mode, self.level, self.size = mode, level, size
        self.thread = threading.get_ident()

    def __enter__(self):
        self.generator = default_generator.np
        if self.mode != "same":
            default_generator.np = self
        return self

    def __exit__(self, *exc):
        if default_generator.np is self:
            default_generator.np = self.generator

    def __getattr__(self, name):
        if threading.get_ident() != self.thread:  # another thread's draws are not this vmap's
            return getattr(self.generator, name)
        if self.mode == "error":
            raise RuntimeError("vmap: called random operation while in randomness error mode. Please either "
                               "use the 'same' or 'different' randomness flags on vmap or perform the "
                               "randomness operation out of vmap")
        draw = getattr(self.generator, name)
        if name not in _SIZE_ARGUMENT:  # draws of other kinds: one sample at a time
            raise Unbatchable(f"vmap: numpy Generator.{name} with randomness='different'")
        position = _SIZE_ARGUMENT[name]

        def batched(*args, **kwargs):
            args = list(args)
            if len(args) > position:
                shape = args[position]
                args[position] = self._batched_shape(shape)
            else:
                kwargs["size"] = self._batched_shape(kwargs.get("size"))
            return _batching._batched_array(draw(*args, **kwargs), self.level)

        return batched

    def _batched_shape(self, shape):
        if shape is None:
            return (self.size,)
        return (self.size,) + (tuple(shape) if isinstance(shape, (tuple, list)) else (int(shape),))
