"""Tensor creation: from data, constant fills, ranges, and random sampling.

Every random op draws from an ``ember.Generator`` (the default one unless given).
"""

from __future__ import annotations

import math

import numpy as np

from . import _dtype
from .random import _generator
from .tensor import Tensor, _array_from_data


def _finish(array: np.ndarray, requires_grad: bool) -> Tensor:
    t = Tensor._wrap(array)
    if requires_grad:
        t.requires_grad = True
    return t


def _float_dtype(dtype) -> np.dtype:
    np_dtype = _dtype.to_numpy_dtype(dtype) if dtype is not None else _dtype.get_default_dtype().numpy
    return np_dtype


def tensor(data, *, dtype=None, device=None, requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (nested lists, numbers, arrays or tensors).

    Python floats become the default dtype (float32), ints int64, bools bool.
        >>> import ember
        >>> ember.tensor([[1, 2], [3, 4]]).dtype
        ember.int64
    """
    return _finish(np.array(_array_from_data(data, dtype), copy=True), requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like ``tensor`` but shares memory with an ndarray or tensor of the right dtype."""
    if isinstance(data, Tensor):
        return data if dtype is None or data.dtype == _dtype.as_dtype(dtype) else data.to(dtype)
    if isinstance(data, np.ndarray):
        return Tensor(data if dtype is None else data.astype(_dtype.to_numpy_dtype(dtype), copy=False))
    return Tensor._wrap(_array_from_data(data, dtype))


asarray = as_tensor


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array`` (changes to one are seen by the other)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    return Tensor(array)


def shape_arg(shape) -> tuple:
    """Accepts ``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])``."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


def _filled(shape, value, dtype, requires_grad, default):
    shape = shape_arg(shape)
    np_dtype = _dtype.to_numpy_dtype(dtype) if dtype is not None else default
    return _finish(np.full(shape, value, dtype=np_dtype), requires_grad)


def zeros(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _filled(size, 0, dtype, requires_grad, _dtype.get_default_dtype().numpy)


def ones(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _filled(size, 1, dtype, requires_grad, _dtype.get_default_dtype().numpy)


def empty(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    shape = shape_arg(size)
    return _finish(np.empty(shape, dtype=_float_dtype(dtype)), requires_grad)


def full(size, fill_value, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    if dtype is None:
        default = _array_from_data(fill_value, None).dtype
    else:
        default = None
    return _filled(tuple(size) if not isinstance(size, int) else (size,), fill_value, dtype, requires_grad, default)


def _like(fn):
    def like(input, *, dtype=None, device=None, requires_grad: bool = False, **kwargs):
        return fn(input.shape, dtype=dtype if dtype is not None else input.dtype, requires_grad=requires_grad, **kwargs)

    like.__name__ = fn.__name__ + "_like"
    like.__doc__ = f"``{fn.__name__}`` with the shape (and, unless given, the dtype) of ``input``."
    return like


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return full(input.shape, fill_value, dtype=dtype if dtype is not None else input.dtype, requires_grad=requires_grad)


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive); int64 when every bound is an int."""
    if end is None:
        start, end = 0, start
    values = [getattr(v, "item", lambda v=v: v)() if isinstance(v, Tensor) else v for v in (start, end, step)]
    if dtype is None:
        integral = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values)
        np_dtype = np.dtype(np.int64) if integral else _dtype.get_default_dtype().numpy
    else:
        np_dtype = _dtype.to_numpy_dtype(dtype)
    start, end, step = values
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    count = max(0, math.ceil((end - start) / step))
    return _finish((start + np.arange(count, dtype=np.float64) * step).astype(np_dtype) if np_dtype.kind == "f"
                   else np.arange(start, end, step, dtype=np_dtype), requires_grad)


def linspace(start, end, steps: int, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _finish(np.linspace(start, end, int(steps)).astype(_float_dtype(dtype)), requires_grad)


def logspace(start, end, steps: int, base: float = 10.0, *, dtype=None, requires_grad: bool = False) -> Tensor:
    return _finish(np.logspace(start, end, int(steps), base=base).astype(_float_dtype(dtype)), requires_grad)


def eye(n: int, m: int | None = None, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _finish(np.eye(n, m, dtype=_float_dtype(dtype)), requires_grad)


# --- random ------------------------------------------------------------------------------
def rand(*size, generator=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Uniform samples on [0, 1)."""
    np_dtype = _float_dtype(dtype)
    sample_dtype = np_dtype if np_dtype in (np.float32, np.float64) else np.float64
    array = _generator(generator).random(shape_arg(size), dtype=sample_dtype).astype(np_dtype, copy=False)
    return _finish(array, requires_grad)


def randn(*size, generator=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples."""
    np_dtype = _float_dtype(dtype)
    sample_dtype = np_dtype if np_dtype in (np.float32, np.float64) else np.float64
    array = _generator(generator).standard_normal(shape_arg(size), dtype=sample_dtype).astype(np_dtype, copy=False)
    return _finish(array, requires_grad)


def randint(low, high=None, size=None, *, generator=None, dtype=None, device=None, requires_grad: bool = False):
    """Integers uniformly from ``[low, high)``; ``randint(high, size)`` starts at 0."""
    if size is None:
        if high is None or not isinstance(high, (tuple, list)):
            raise TypeError("randint() missing required argument 'size' (a tuple)")
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    np_dtype = _dtype.to_numpy_dtype(dtype) if dtype is not None else np.dtype(np.int64)
    array = _generator(generator).integers(low, high, size=tuple(size), dtype=np.int64).astype(np_dtype)
    return _finish(array, requires_grad)


def randperm(n: int, *, generator=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    np_dtype = _dtype.to_numpy_dtype(dtype) if dtype is not None else np.dtype(np.int64)
    return _finish(_generator(generator).permutation(int(n)).astype(np_dtype), requires_grad)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, requires_grad: bool = False) -> Tensor:
    """Normal samples; ``mean`` and ``std`` may be tensors (broadcast) or numbers with ``size``."""
    mean_a = mean._data if isinstance(mean, Tensor) else mean
    std_a = std._data if isinstance(std, Tensor) else std
    if size is None:
        shape = np.broadcast_shapes(np.shape(mean_a), np.shape(std_a))
    else:
        shape = tuple(size)
    like = mean if isinstance(mean, Tensor) else std if isinstance(std, Tensor) else None
    np_dtype = like._data.dtype if like is not None and dtype is None else _float_dtype(dtype)
    noise = _generator(generator).standard_normal(shape)
    return _finish((mean_a + std_a * noise).astype(np_dtype), requires_grad)


def bernoulli(input, p=None, *, generator=None) -> Tensor:
    probability = input._data if p is None else p
    draws = _generator(generator).random(input._data.shape) < probability
    return Tensor._wrap(draws.astype(input._data.dtype))


def multinomial(input, num_samples: int, replacement: bool = False, *, generator=None) -> Tensor:
    """Samples category indices from (unnormalised) probability rows."""
    probs = np.atleast_2d(input._data.astype(np.float64))
    if (probs < 0).any() or not np.isfinite(probs).all():
        raise RuntimeError("multinomial: probability tensor contains either `inf`, `nan` or element < 0")
    rng = _generator(generator)
    rows = []
    for row in probs:
        total = row.sum()
        if total <= 0:
            raise RuntimeError("multinomial: invalid multinomial distribution (sum of probabilities <= 0)")
        if not replacement and num_samples > np.count_nonzero(row):
            raise RuntimeError("multinomial: cannot sample n_sample > prob_dist.size(-1) samples without replacement")
        rows.append(rng.choice(row.size, size=num_samples, replace=replacement, p=row / total))
    out = np.asarray(rows, dtype=np.int64)
    return Tensor._wrap(out if input._data.ndim == 2 else out[0])


def fill_random(input, kind, *args, generator=None, **kwargs) -> Tensor:
    """Out-of-place values for the in-place random fills (``uniform_``, ``normal_``, ...)."""
    rng = _generator(generator)
    shape, np_dtype = input._data.shape, input._data.dtype
    if kind == "uniform":
        low = args[0] if args else kwargs.get("from", kwargs.get("a", 0.0))
        high = args[1] if len(args) > 1 else kwargs.get("to", kwargs.get("b", 1.0))
        values = rng.uniform(low, high, shape)
    elif kind == "normal":
        mean = args[0] if args else kwargs.get("mean", 0.0)
        std = args[1] if len(args) > 1 else kwargs.get("std", 1.0)
        values = mean + std * rng.standard_normal(shape)
    elif kind == "exponential":
        rate = args[0] if args else kwargs.get("lambd", 1.0)
        values = rng.exponential(1.0 / rate, shape)
    elif kind == "bernoulli":
        p = args[0] if args else kwargs.get("p", 0.5)
        values = rng.random(shape) < (p._data if isinstance(p, Tensor) else p)
    elif kind == "random":
        low, high = (0, args[0]) if len(args) == 1 else (args[0], args[1]) if args else (0, 2**24)
        values = rng.integers(low, high, shape)
    else:
        raise ValueError(kind)
    return Tensor._wrap(np.asarray(values).astype(np_dtype))


zeros_like = _like(zeros)
ones_like = _like(ones)
empty_like = _like(empty)


def rand_like(input, *, dtype=None, generator=None, requires_grad: bool = False) -> Tensor:
    return rand(input.shape, generator=generator, dtype=dtype or input.dtype, requires_grad=requires_grad)


def randn_like(input, *, dtype=None, generator=None, requires_grad: bool = False) -> Tensor:
    return randn(input.shape, generator=generator, dtype=dtype or input.dtype, requires_grad=requires_grad)


def randint_like(input, low, high=None, *, dtype=None, generator=None) -> Tensor:
    if high is None:
        low, high = 0, low
    return randint(low, high, tuple(input.shape), generator=generator, dtype=dtype or input.dtype)
