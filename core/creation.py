"""Tensor creation: from data, constant fills, ranges, and random sampling.

Every random op draws from an ``ember.Generator`` (the default one unless given).
"""

from __future__ import annotations

import builtins
import math
import warnings

import numpy as np

from . import _dtype
from ._device import is_meta_array, meta_array, resolve
from .random import _generator
from .tensor import Tensor, _array_from_data, _legacy_data


def _finish(array: np.ndarray, requires_grad: bool, out: Tensor | None = None) -> Tensor:
    if out is not None:
        return _into(out, array)
    t = Tensor._wrap(array)
    if requires_grad:
        t.requires_grad = True
    return t


def _make(shape: tuple, np_dtype, device, requires_grad: bool, build, out: Tensor | None = None) -> Tensor:
    """A new tensor of ``shape`` and ``np_dtype`` on ``device`` (the default device when None): on the
    meta device it takes no memory and ``build()`` (which computes the values) is never called."""
    if resolve(device) == "meta":
        return _finish(meta_array(shape, np_dtype), requires_grad, out)
    return _finish(build(), requires_grad, out)


def _into(out: Tensor, array: np.ndarray) -> Tensor:
    """``out=``: ``out`` takes the result's values, resized to its shape if needed, as in torch."""
    if not isinstance(out, Tensor):
        raise TypeError(f"out must be an ember.Tensor, got {type(out).__name__}")
    if out._data.shape == array.shape and not is_meta_array(out._data):
        np.copyto(out._data, array, casting="unsafe")
    else:
        out._data = array.astype(out._data.dtype, copy=False)
    out._vc[0] += 1
    return out


def _size(name: str, args: tuple, kwargs: dict) -> tuple:
    """The shape of ``zeros(2, 3)``, ``zeros((2, 3))``, ``zeros([2, 3])`` or ``zeros(size=(2, 3))``."""
    size = kwargs.pop("size", None)
    if kwargs:
        raise TypeError(f"{name}() got an unexpected keyword argument {next(iter(kwargs))!r}")
    if size is not None:
        if args:
            raise TypeError(f"{name}() got multiple values for argument 'size'")
        args = (size,)
    return shape_arg(args)


def _out_dtype(dtype, out):
    return out.dtype if dtype is None and out is not None else dtype


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
    if isinstance(data, Tensor) and data.is_meta:
        raise NotImplementedError("Cannot copy out of meta tensor; no data!")
    array = _array_from_data(data, dtype)
    return _make(array.shape, array.dtype, device, requires_grad, lambda: np.array(array, copy=True))


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like ``tensor`` but shares memory with an ndarray or tensor of the right dtype."""
    if isinstance(data, Tensor):
        result = data if dtype is None or data.dtype == _dtype.as_dtype(dtype) else data.to(dtype)
        return result if device is None else result.to(device)
    if resolve(device) == "meta":
        array = _array_from_data(data, dtype)
        return Tensor._wrap(meta_array(array.shape, array.dtype))
    if isinstance(data, np.ndarray):
        return Tensor._wrap(data if dtype is None else data.astype(_dtype.to_numpy_dtype(dtype), copy=False))
    return Tensor._wrap(_array_from_data(data, dtype))


asarray = as_tensor


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array`` (changes to one are seen by the other)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    return Tensor._wrap(array)


def shape_arg(shape) -> tuple:
    """Accepts ``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])``."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(map(int, shape))


def _filled(shape: tuple, value, np_dtype, device, requires_grad: bool, out) -> Tensor:
    return _make(shape, np_dtype, device, requires_grad, lambda: np.full(shape, value, dtype=np_dtype), out)


def zeros(*size, out=None, dtype=None, layout=None, device=None, requires_grad: bool = False,
          pin_memory: bool = False, **kwargs) -> Tensor:
    """A tensor of zeros: ``zeros(2, 3)``, ``zeros((2, 3))`` or ``zeros(size=(2, 3))``."""
    shape = _size("zeros", size, kwargs)
    return _filled(shape, 0, _float_dtype(_out_dtype(dtype, out)), device, requires_grad, out)


def ones(*size, out=None, dtype=None, layout=None, device=None, requires_grad: bool = False,
         pin_memory: bool = False, **kwargs) -> Tensor:
    """A tensor of ones: ``ones(2, 3)``, ``ones((2, 3))`` or ``ones(size=(2, 3))``."""
    shape = _size("ones", size, kwargs)
    return _filled(shape, 1, _float_dtype(_out_dtype(dtype, out)), device, requires_grad, out)


def empty(*size, out=None, dtype=None, layout=None, device=None, requires_grad: bool = False,
          pin_memory: bool = False, memory_format=None, **kwargs) -> Tensor:
    """An uninitialised tensor: ``empty(2, 3)``, ``empty((2, 3))`` or ``empty(size=(2, 3))``."""
    shape = _size("empty", size, kwargs)
    np_dtype = _float_dtype(_out_dtype(dtype, out))
    return _make(shape, np_dtype, device, requires_grad, lambda: np.empty(shape, dtype=np_dtype), out)


def full(size, fill_value, *, out=None, dtype=None, layout=None, device=None, requires_grad: bool = False,
         pin_memory: bool = False) -> Tensor:
    """A tensor of ``fill_value``; its dtype is ``fill_value``'s (float -> default dtype) unless given."""
    dtype = _out_dtype(dtype, out)
    np_dtype = _array_from_data(fill_value, None).dtype if dtype is None else _dtype.to_numpy_dtype(dtype)
    shape = tuple(size) if not isinstance(size, int) else (size,)
    return _filled(shape, fill_value, np_dtype, device, requires_grad, out)


def _like(fn):
    def like(input, *, dtype=None, layout=None, device=None, requires_grad: bool = False, memory_format=None,
             **kwargs):
        return fn(input.shape, dtype=dtype if dtype is not None else input.dtype, requires_grad=requires_grad,
                  device=input.device if device is None else device, **kwargs)

    like.__name__ = fn.__name__ + "_like"
    like.__doc__ = f"``{fn.__name__}`` with the shape (and, unless given, the dtype and device) of ``input``."
    return like


def full_like(input, fill_value, *, dtype=None, layout=None, device=None, requires_grad: bool = False,
              memory_format=None) -> Tensor:
    """``full`` with the shape (and, unless given, the dtype and device) of ``input``."""
    return full(input.shape, fill_value, dtype=dtype if dtype is not None else input.dtype,
                device=input.device if device is None else device, requires_grad=requires_grad)


def arange(start, end=None, step=1, *, out=None, dtype=None, layout=None, device=None,
           requires_grad: bool = False) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive); int64 when every bound is an int."""
    if end is None:
        start, end = 0, start
    values = [getattr(v, "item", lambda v=v: v)() if isinstance(v, Tensor) else v for v in (start, end, step)]
    dtype = _out_dtype(dtype, out)
    if dtype is None:
        integral = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values)
        np_dtype = np.dtype(np.int64) if integral else _dtype.get_default_dtype().numpy
    else:
        np_dtype = _dtype.to_numpy_dtype(dtype)
    start, end, step = values
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    count = max(0, math.ceil((end - start) / step))
    def build():
        if np_dtype.kind == "f":
            return (start + np.arange(count, dtype=np.float64) * step).astype(np_dtype)
        return np.arange(start, end, step, dtype=np_dtype)

    return _make((count,), np_dtype, device, requires_grad, build, out)


def linspace(start, end, steps: int, *, out=None, dtype=None, layout=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` (both included)."""
    np_dtype = _float_dtype(_out_dtype(dtype, out))
    return _make((int(steps),), np_dtype, device, requires_grad,
                 lambda: np.linspace(start, end, int(steps)).astype(np_dtype), out)


def logspace(start, end, steps: int, base: float = 10.0, *, out=None, dtype=None, layout=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """``base ** linspace(start, end, steps)``."""
    np_dtype = _float_dtype(_out_dtype(dtype, out))
    return _make((int(steps),), np_dtype, device, requires_grad,
                 lambda: np.logspace(start, end, int(steps), base=base).astype(np_dtype), out)


def eye(n: int, m: int | None = None, *, out=None, dtype=None, layout=None, device=None,
        requires_grad: bool = False) -> Tensor:
    """A 2-D tensor with ones on the diagonal."""
    np_dtype = _float_dtype(_out_dtype(dtype, out))
    shape = (int(n), int(n if m is None else m))
    return _make(shape, np_dtype, device, requires_grad, lambda: np.eye(*shape, dtype=np_dtype), out)


def range(start, end, step=1, *, out=None, dtype=None, layout=None, device=None,  # noqa: A001
          requires_grad: bool = False) -> Tensor:
    """Deprecated in PyTorch (use ``arange``): values from ``start`` to ``end`` *inclusive*, default dtype."""
    warnings.warn("ember.range is deprecated and will be removed in a future release because its behavior "
                  "is inconsistent with Python's range builtin. Instead, use ember.arange, which produces "
                  "values in [start, end).", UserWarning, stacklevel=2)
    np_dtype = _float_dtype(_out_dtype(dtype, out))
    count = max(0, math.floor((end - start) / step) + 1)
    return _make((count,), np_dtype, device, requires_grad,
                 lambda: (start + np.arange(count, dtype=np.float64) * step).astype(np_dtype), out)


def scalar_tensor(s, *, dtype=None, layout=None, device=None, requires_grad: bool = False,
                  pin_memory: bool = False) -> Tensor:
    """A 0-d tensor holding the number ``s``, in the default float dtype unless ``dtype`` is given."""
    np_dtype = _float_dtype(dtype)
    return _make((), np_dtype, device, requires_grad, lambda: np.array(s, dtype=np_dtype))


def empty_strided(size, stride, *, dtype=None, layout=None, device=None, requires_grad: bool = False,
                  pin_memory: bool = False) -> Tensor:
    """An uninitialised tensor of ``size`` whose elements lie ``stride`` elements apart, as in torch."""
    shape, strides = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if len(shape) != len(strides):
        raise RuntimeError(f"mismatch in length of strides and shape: {len(strides)} strides for "
                           f"{len(shape)} dims")
    np_dtype = _float_dtype(dtype)

    def build():
        storage = 0 if 0 in shape else 1 + sum((n - 1) * s for n, s in zip(shape, strides))
        return np.lib.stride_tricks.as_strided(np.empty(storage, np_dtype), shape,
                                               tuple(s * np_dtype.itemsize for s in strides))

    return _make(shape, np_dtype, device, requires_grad, build)


def empty_permuted(size, physical_layout, *, dtype=None, layout=None, device=None,
                   requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """An uninitialised tensor of ``size`` laid out in memory in the order ``physical_layout``."""
    shape, order = tuple(int(s) for s in size), tuple(int(d) for d in physical_layout)
    if sorted(order) != list(builtins.range(len(shape))):
        raise RuntimeError(f"physical_layout {list(order)} is not a permutation of the {len(shape)} "
                           "dimensions")
    np_dtype = _float_dtype(dtype)
    return _make(shape, np_dtype, device, requires_grad,
                 lambda: np.empty([shape[d] for d in order], np_dtype).transpose(np.argsort(order)))


# --- random ------------------------------------------------------------------------------
def _sample_dtype(np_dtype):
    return np_dtype if np_dtype in (np.float32, np.float64) else np.dtype(np.float64)


def _samples(draw, shape, np_dtype, complex_scale=1.0):
    """``draw(shape, dtype)`` as ``np_dtype``; a complex dtype draws its real and imaginary parts
    independently, each times ``complex_scale`` (torch's complex rand and randn)."""
    if np_dtype.kind == "c":
        part = np.dtype(np.float32 if np_dtype == np.complex64 else np.float64)
        return (draw(shape + (2,), part) * part.type(complex_scale)).view(np_dtype).reshape(shape)
    return draw(shape, _sample_dtype(np_dtype)).astype(np_dtype, copy=False)


def rand(*size, generator=None, out=None, dtype=None, layout=None, device=None,
         requires_grad: bool = False, pin_memory: bool = False, **kwargs) -> Tensor:
    """Uniform samples on [0, 1)."""
    shape = _size("rand", size, kwargs)
    np_dtype = _float_dtype(_out_dtype(dtype, out))
    return _make(shape, np_dtype, device, requires_grad, lambda: _samples(
        _generator(generator).random, shape, np_dtype), out)


def randn(*size, generator=None, out=None, dtype=None, layout=None, device=None,
          requires_grad: bool = False, pin_memory: bool = False, **kwargs) -> Tensor:
    """Standard normal samples."""
    shape = _size("randn", size, kwargs)
    np_dtype = _float_dtype(_out_dtype(dtype, out))
    return _make(shape, np_dtype, device, requires_grad, lambda: _samples(
        _generator(generator).standard_normal, shape, np_dtype, 0.5 ** 0.5), out)


def randint(low, high=None, size=None, *, generator=None, out=None, dtype=None, layout=None, device=None,
            requires_grad: bool = False):
    """Integers uniformly from ``[low, high)``; ``randint(high, size)`` starts at 0."""
    if size is None:
        if high is None or not isinstance(high, (tuple, list)):
            raise TypeError("randint() missing required argument 'size' (a tuple)")
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    dtype = _out_dtype(dtype, out)
    np_dtype = _dtype.to_numpy_dtype(dtype) if dtype is not None else np.dtype(np.int64)
    shape = tuple(size)
    return _make(shape, np_dtype, device, requires_grad, lambda: _generator(generator).integers(
        low, high, size=shape, dtype=np.int64).astype(np_dtype), out)


def randperm(n: int, *, generator=None, out=None, dtype=None, layout=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """A random permutation of ``0 .. n-1``."""
    dtype = _out_dtype(dtype, out)
    np_dtype = _dtype.to_numpy_dtype(dtype) if dtype is not None else np.dtype(np.int64)
    return _make((int(n),), np_dtype, device, requires_grad,
                 lambda: _generator(generator).permutation(int(n)).astype(np_dtype), out)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, device=None,
           requires_grad: bool = False) -> Tensor:
    """Normal samples; ``mean`` and ``std`` may be tensors (broadcast) or numbers with ``size``."""
    mean_a = mean._data if isinstance(mean, Tensor) else mean
    std_a = std._data if isinstance(std, Tensor) else std
    if size is None:
        shape = np.broadcast_shapes(np.shape(mean_a), np.shape(std_a))
    else:
        shape = tuple(size)
    like = mean if isinstance(mean, Tensor) else std if isinstance(std, Tensor) else None
    np_dtype = like._data.dtype if like is not None and dtype is None else _float_dtype(dtype)
    return _make(shape, np_dtype, device, requires_grad, lambda: (
        mean_a + std_a * _generator(generator).standard_normal(shape)).astype(np_dtype))


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
    elif kind == "cauchy":
        median = args[0] if args else kwargs.get("median", 0.0)
        sigma = args[1] if len(args) > 1 else kwargs.get("sigma", 1.0)
        values = median + sigma * rng.standard_cauchy(shape)
    elif kind == "log_normal":
        mean = args[0] if args else kwargs.get("mean", 1.0)
        std = args[1] if len(args) > 1 else kwargs.get("std", 2.0)
        values = rng.lognormal(mean, std, shape)
    elif kind == "geometric":
        p = args[0] if args else kwargs["p"]
        if not 0 < p < 1:
            raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p}")
        values = rng.geometric(p, shape)  # trials up to and including the first success: 1, 2, ...
    else:
        raise ValueError(kind)
    return Tensor._wrap(np.asanyarray(values).astype(np_dtype))  # (any: a capture's traced draws stay so)


zeros_like = _like(zeros)
ones_like = _like(ones)
empty_like = _like(empty)


rand_like = _like(rand)
randn_like = _like(randn)


def randint_like(input, low, high=None, *, dtype=None, layout=None, device=None, generator=None,
                 requires_grad: bool = False, memory_format=None) -> Tensor:
    """``randint`` with the shape (and, unless given, the dtype and device) of ``input``."""
    if high is None:
        low, high = 0, low
    return randint(low, high, tuple(input.shape), generator=generator, dtype=dtype or input.dtype,
                   device=input.device if device is None else device, requires_grad=requires_grad)


# --- Tensor.new_* (bound as methods in ember/__init__.py): dtype and device default to self's ---------------
def _new(fn):
    def method(self, *size, dtype=None, layout=None, device=None, requires_grad: bool = False,
               pin_memory: bool = False, **kwargs):
        return fn(*size, dtype=self.dtype if dtype is None else dtype, requires_grad=requires_grad,
                  device=self.device if device is None else device, **kwargs)

    method.__name__ = "new_" + fn.__name__
    method.__doc__ = f"``ember.{fn.__name__}`` with this tensor's dtype and device unless given."
    return method


new_zeros = _new(zeros)
new_ones = _new(ones)
new_empty = _new(empty)


def new_full(self, size, fill_value, *, dtype=None, layout=None, device=None, requires_grad: bool = False,
             pin_memory: bool = False) -> Tensor:
    """``ember.full`` with this tensor's dtype and device unless given."""
    if not isinstance(size, (tuple, list)):
        raise TypeError(
            f"new_full(): argument 'size' (position 1) must be tuple of ints, not {type(size).__name__}"
        )
    return full(size, fill_value, dtype=self.dtype if dtype is None else dtype, requires_grad=requires_grad,
                device=self.device if device is None else device)


def new_empty_strided(self, size, stride, *, dtype=None, layout=None, device=None,
                      requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """``ember.empty_strided`` with this tensor's dtype and device unless given."""
    return empty_strided(size, stride, dtype=self.dtype if dtype is None else dtype,
                         requires_grad=requires_grad, device=self.device if device is None else device)


def new_tensor(self, data, *, dtype=None, layout=None, device=None, requires_grad: bool = False,
               pin_memory: bool = False) -> Tensor:
    """``ember.tensor(data)`` with this tensor's dtype and device unless given."""
    return tensor(data, dtype=self.dtype if dtype is None else dtype, requires_grad=requires_grad,
                  device=self.device if device is None else device)


def new(self, *args, device=None) -> Tensor:
    """Legacy ``x.new(2, 3)`` / ``x.new([1, 2])``: ``ember.Tensor``'s constructor with this tensor's dtype."""
    where = resolve(self.device if device is None else device)
    return Tensor._wrap(_legacy_data(args, self._data.dtype, where))
