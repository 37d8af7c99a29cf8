"""vmap's machinery: batched tensors and the dispatch of ops to their batching rules (``_rules``).

Inside ``vmap`` a batched tensor is an ordinary ``Tensor`` whose array is a ``BatchedArray``: it has the shape
and dtype of *one sample* (so every op's argument checks and ``dim`` normalisation see what the user's code
sees) and holds the whole batch as ``value``, a tensor with the batch dimension first. Each ``vmap`` call
has its own ``level``; nested vmaps nest batched tensors (``value`` is then batched at a lower level).

``Function.apply`` hands every op to :func:`dispatch` while a vmap runs. When an argument is batched, the
op's batching rule calls the op once on the whole batch (e.g. ``sum(x, 0)`` becomes ``sum(batch, 1)``,
``conv2d`` of per-sample images is one conv2d of the batch) and wraps the result. An op without a rule
runs once per sample in a Python loop (``_loop``). Code that reads a batched array's values outside an
op (``.item()``, ``bool()``, numpy calls the array does not implement) gets them when every sample has the
same; otherwise it raises :class:`Unbatchable`, and ``vmap`` then runs the whole function once per sample.
"""

from __future__ import annotations

import numpy as np

from ..ops.joining import stack
from ..tensor import Tensor


class Unbatchable(RuntimeError):
    """A batched value was used in a way vmap cannot batch; ``vmap`` falls back to a loop over samples."""


class _MissingAttribute(Unbatchable, AttributeError):
    """An ndarray attribute a batched array does not have (``hasattr`` sees False)."""


class BatchedArray:
    """Stands in for one sample's array; ``value`` (a Tensor, batch dimension first) holds the batch."""

    __slots__ = ("dtype", "level", "shape", "value")
    base = None  # not a numpy view

    def __init__(self, value: Tensor, level: int):
        self.value = value
        self.level = level
        self.shape = tuple(value._data.shape[1:])
        self.dtype = value._data.dtype

    # --- metadata, as numpy's ---------------------------------------------------------
    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def itemsize(self) -> int:
        return self.dtype.itemsize

    @property
    def nbytes(self) -> int:
        return self.size * self.itemsize

    @property
    def strides(self) -> tuple:
        strides, step = [], self.itemsize
        for n in reversed(self.shape):
            strides.append(step)
            step *= max(n, 1)
        return tuple(reversed(strides))

    @property
    def batch_size(self) -> int:
        return self.value._data.shape[0]

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __repr__(self) -> str:
        return f"BatchedArray(level={self.level}, shape={self.shape}, batch_size={self.batch_size})"

    # --- values: read only when every sample has the same ----------------------------------
    # Python code that reads a value (``if x.sum() > 0``, ``.item()``, an op checking its indices' range) runs
    # once for the whole batch. That is exactly what each sample would see when all samples hold the same
    # value; otherwise vmap runs the function once per sample (Unbatchable).
    def _common_value(self, what: str) -> np.ndarray:
        physical = self.value._data
        while isinstance(physical, BatchedArray):  # nested vmaps: every level's samples must agree
            physical = physical.value._data
        samples = physical.reshape((-1,) + self.shape)
        first = samples[0]
        if samples.shape[0] > 1 and not (samples == first).all():
            raise Unbatchable(f"vmap: {what} differs between samples (data-dependent Python code)")
        return first

    def __array__(self, dtype=None, copy=None):
        value = self._common_value("a batched tensor's array, read directly")
        return value if dtype is None else value.astype(dtype)

    def item(self):
        return self._common_value(".item() of a batched tensor").item()

    def tolist(self):
        return self._common_value(".tolist() of a batched tensor").tolist()

    def __bool__(self):
        return bool(self._common_value("the truth value of a batched tensor"))

    def __float__(self):
        return float(self._common_value("float() of a batched tensor"))

    def __int__(self):
        return int(self._common_value("int() of a batched tensor"))

    def __index__(self):
        return int(self._common_value("a batched tensor used as an index").__index__())

    def __iter__(self):
        raise Unbatchable("vmap: iterating over a batched array")

    def __getitem__(self, index):
        raise Unbatchable("vmap: numpy indexing of a batched array")

    def detach(self) -> BatchedArray:
        return BatchedArray(self.value.detach(), self.level)

    def astype(self, dtype, order="K", casting="unsafe", subok=True, copy=True) -> BatchedArray:
        return _batched_array(self.value._data.astype(dtype, order=order, casting=casting, copy=copy), self.level)

    def copy(self, order="C") -> BatchedArray:
        return BatchedArray(self.value.clone(), self.level)  # a clone keeps the batch's graph (in-place ops)

    def reshape(self, *shape, order="C") -> BatchedArray:
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        return _batched_array(self.value._data.reshape((self.batch_size,) + tuple(shape)), self.level)

    def sum(self, axis=None, dtype=None, keepdims=False):
        return np.sum(self, axis=axis, dtype=dtype, keepdims=keepdims)

    @property
    def _numba_type_(self):  # a numba kernel called with the stand-in array: the function runs per sample
        raise Unbatchable("vmap: a numba kernel called with a batched array")

    def __getattr__(self, name):  # the rest of ndarray's API: vmap runs the function per sample instead
        raise _MissingAttribute(f"vmap: ndarray.{name} of a batched array")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__" or kwargs.get("out") is not None or ufunc.signature is not None:
            raise Unbatchable(f"vmap: numpy's {ufunc.__name__}.{method} on a batched array")
        level = max(x.level for x in inputs if isinstance(x, BatchedArray))
        rank = max(_ndim(x) for x in inputs)
        out = ufunc(*(_padded_array(x, level, rank) for x in inputs), **kwargs)
        if ufunc.nout > 1:
            return tuple(_batched_array(o, level) for o in out)
        return _batched_array(out, level)

    def __array_function__(self, func, types, args, kwargs):
        handler = _ARRAY_FUNCTIONS.get(func)
        if handler is None:
            raise Unbatchable(f"vmap: numpy.{func.__name__} on a batched array")
        return handler(*args, **kwargs)


def _method(np_fn):
    return lambda self, axis=None, *args, keepdims=False, **kwargs: np_fn(self, axis, *args, keepdims=keepdims,
                                                                            **kwargs)


for _name in ("mean", "min", "max", "any", "all", "prod"):
    setattr(BatchedArray, _name, _method(getattr(np, _name)))
BatchedArray.argmax = lambda self, axis=None, keepdims=False: np.argmax(self, axis, keepdims=keepdims)
BatchedArray.argmin = lambda self, axis=None, keepdims=False: np.argmin(self, axis, keepdims=keepdims)


def _binary(ufunc, reflected=False):
    if reflected:
        return lambda self, other: ufunc(other, self)
    return lambda self, other: ufunc(self, other)


for _name, _ufunc in {"add": np.add, "sub": np.subtract, "mul": np.multiply, "truediv": np.true_divide,
                      "floordiv": np.floor_divide, "mod": np.remainder, "pow": np.power,
                      "and": np.bitwise_and, "or": np.bitwise_or, "xor": np.bitwise_xor}.items():
    setattr(BatchedArray, f"__{_name}__", _binary(_ufunc))
    setattr(BatchedArray, f"__r{_name}__", _binary(_ufunc, reflected=True))
for _name, _ufunc in {"eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal,
                      "gt": np.greater, "ge": np.greater_equal}.items():
    setattr(BatchedArray, f"__{_name}__", _binary(_ufunc))
BatchedArray.__neg__ = lambda self: np.negative(self)
BatchedArray.__abs__ = lambda self: np.abs(self)
BatchedArray.__invert__ = lambda self: np.invert(self)
BatchedArray.__hash__ = None


def _ndim(x) -> int:
    if isinstance(x, (Tensor, BatchedArray, np.ndarray, np.generic)):
        return x.ndim
    return 0


def _batched_array(physical, level: int) -> BatchedArray:
    if not isinstance(physical, (np.ndarray, BatchedArray)):
        physical = np.asarray(physical)
    return BatchedArray(Tensor._wrap(physical), level)


def _padded_array(x, level: int, rank: int):
    """The batch of ``x`` (an array) as (batch, 1, ..., 1, *shape) with ``rank`` sample dims, or ``x`` as is
    when it is not batched at ``level`` (numpy broadcasting then lines it up)."""
    if isinstance(x, BatchedArray) and x.level == level:
        physical = x.value._data
        if x.ndim < rank:
            physical = physical.reshape((x.batch_size,) + (1,) * (rank - x.ndim) + x.shape)
        return physical
    return x


# --- the numpy functions a batched array supports (the rest raise Unbatchable) --------------------
def _like(fill):
    def like(a, dtype=None, order="K", subok=True, shape=None, *args):
        shape = a.shape if shape is None else shape
        return fill(shape, a.dtype if dtype is None else dtype, *args)

    return like


def _full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None):
    return np.full(a.shape if shape is None else shape, fill_value, a.dtype if dtype is None else dtype)


def _reduction(np_fn, flattens=False):
    def reduce(a, axis=None, *args, keepdims=False, **kwargs):
        if not isinstance(a, BatchedArray):
            raise Unbatchable(f"vmap: numpy.{np_fn.__name__} with a batched argument")
        physical = a.value._data
        if axis is None and flattens:  # argmax / argmin over all elements: of the flattened sample
            physical, axis = physical.reshape(a.batch_size, -1), 1
            return _batched_array(np_fn(physical, axis, *args, **kwargs), a.level)
        if axis is None:
            axis = tuple(range(1, a.ndim + 1))
        elif isinstance(axis, (tuple, list)):
            axis = tuple(int(d) % max(a.ndim, 1) + 1 for d in axis)
        else:
            axis = int(axis) % max(a.ndim, 1) + 1
        return _batched_array(np_fn(physical, axis, *args, keepdims=keepdims, **kwargs), a.level)

    return reduce


def _where(condition, x=None, y=None):
    if x is None:
        raise Unbatchable("vmap: numpy.where(condition) (nonzero) of a batched array")
    return _ternary(np.where, condition, x, y)


def _ternary(fn, *inputs):
    batched = [x for x in inputs if isinstance(x, BatchedArray)]
    level = max(x.level for x in batched)
    rank = max(_ndim(x) for x in inputs)
    return _batched_array(fn(*(_padded_array(x, level, rank) for x in inputs)), level)


def _broadcast_to(a, shape, subok=False):
    shape = tuple(shape)
    return _batched_array(np.broadcast_to(_padded_array(a, a.level, len(shape)), (a.batch_size,) + shape), a.level)


def _copyto(dst, src, casting="same_kind", where=True):
    """In-place writes into a batched tensor (``x += y``, ``x.zero_()``): the tensor takes the new batch."""
    if where is not True or not isinstance(dst, BatchedArray):
        raise RuntimeError(
            "vmap: an in-place operation would write batched values into a tensor that is not batched; "
            "use the out-of-place form of the operation"
        )
    if isinstance(src, BatchedArray) and src.level == dst.level and src.shape == dst.shape:
        value = src.value
    else:
        value = Tensor._wrap(np.broadcast_to(_padded_array(src, dst.level, dst.ndim), (dst.batch_size,) + dst.shape))
    if value._data.dtype != dst.dtype:
        value = value.to(dst.dtype)
    dst.value = value


def _may_share_memory(a, b, max_work=None):
    while isinstance(a, BatchedArray):
        a = a.value._data
    while isinstance(b, BatchedArray):
        b = b.value._data
    return np.may_share_memory(a, b)


_ARRAY_FUNCTIONS = {
    np.zeros_like: _like(np.zeros), np.ones_like: _like(np.ones), np.empty_like: _like(np.empty),
    np.full_like: _full_like, np.shape: lambda a: a.shape, np.ndim: lambda a: a.ndim,
    np.size: lambda a, axis=None: a.size if axis is None else a.shape[axis],
    np.sum: _reduction(np.sum), np.mean: _reduction(np.mean), np.amax: _reduction(np.amax),
    np.amin: _reduction(np.amin), np.max: _reduction(np.max), np.min: _reduction(np.min),
    np.any: _reduction(np.any), np.all: _reduction(np.all), np.prod: _reduction(np.prod),
    np.argmax: _reduction(np.argmax, flattens=True), np.argmin: _reduction(np.argmin, flattens=True),
    np.where: _where,
    np.clip: lambda a, a_min, a_max, **kw: _ternary(np.clip, a, a_min, a_max),
    np.broadcast_to: _broadcast_to, np.copyto: _copyto, np.may_share_memory: _may_share_memory,
    np.result_type: lambda *args: np.result_type(*(a.dtype if isinstance(a, BatchedArray) else a for a in args)),
    np.can_cast: lambda from_, to, casting="safe": np.can_cast(
        from_.dtype if isinstance(from_, BatchedArray) else from_, to, casting),
}


# --- batched tensors ------------------------------------------------------------------------------
def is_batched(x) -> bool:
    return isinstance(x, Tensor) and type(x._data) is BatchedArray


def make_batched(physical: Tensor, level: int) -> Tensor:
    """The tensor, batched at ``level``, whose samples are ``physical``'s slices along dim 0.

    It requires grad (and is a leaf or not) as ``physical`` does, so that code choosing a non-differentiable
    path for tensors that do not require grad chooses as it would for one sample."""
    return Tensor._wrap(BatchedArray(physical, level), physical._requires_grad, physical.grad_fn,
                        physical._output_nr)


def level_of(x):
    if isinstance(x, Tensor):
        x = x._data
    return x.level if type(x) is BatchedArray else None


def unwrap_all(t: Tensor) -> tuple[Tensor, list]:
    """``(physical, levels)``: the plain tensor holding every batch of ``t`` (batch dims first, in the order
    of ``levels``, ascending) and the levels ``t`` is batched at."""
    levels = []
    while is_batched(t):
        levels.append(t._data.level)
        t = t._data.value
    return t, levels[::-1]


def wrap_levels(physical: Tensor, levels) -> Tensor:
    """Inverse of :func:`unwrap_all`: ``physical``'s leading dims are the batches of ``levels`` (ascending)."""
    t = physical
    for level in levels:
        t = make_batched(t, level)
    return t


def regroup(physical: Tensor, dim_levels, keep) -> Tensor:
    """``physical``'s leading dims are batches of ``dim_levels`` (any order): the tensor batched at the
    ``keep`` levels whose samples have the other leading dims first (in their given order)."""
    kept = sorted((level, i) for i, level in enumerate(dim_levels) if level in keep)
    rest = [i for i, level in enumerate(dim_levels) if level not in keep]
    order = [i for _, i in kept] + rest
    if order != list(range(len(order))):
        physical = physical.permute(*order, *range(len(order), physical.ndim))
    return wrap_levels(physical, [level for level, _ in kept])


def add_level(t: Tensor, level: int, size: int) -> Tensor:
    """``t`` made batched at ``level`` too (each sample the same), keeping levels in order."""
    if is_batched(t) and t._data.level > level:
        return make_batched(add_level(t._data.value, level, size), t._data.level)
    if is_batched(t) and t._data.level == level:
        return t
    return make_batched(t.unsqueeze(0).expand((size,) + tuple(t.shape)), level)


# --- dispatch ------------------------------------------------------------------------------------
def _scan_level(args, level=None):
    for a in args:
        found = level_of(a) if isinstance(a, (Tensor, BatchedArray)) else (
            _scan_level(a) if isinstance(a, (tuple, list)) else None)
        if found is not None and (level is None or found > level):
            level = found
    return level


def dispatch(cls, args, kwargs):
    """Called by ``Function.apply`` during vmap: applies ``cls`` to batched arguments, or NotImplemented."""
    level = _scan_level(args)
    if kwargs:
        level = _scan_level(tuple(kwargs.values()), level)
    if level is None:
        return NotImplemented
    rule = _RULES.get(cls)
    if rule is not None:
        out = rule(cls, level, args, kwargs)
        if out is not NotImplemented:
            return _wrap(out, level)
    return _loop(cls, level, args, kwargs)


def _unwrap(x, level):
    """The batch (batch dim first) of ``x`` if it is batched at ``level``, else None."""
    if isinstance(x, Tensor) and type(x._data) is BatchedArray and x._data.level == level:
        return x._data.value
    if type(x) is BatchedArray and x.level == level:
        return x.value._data
    return None


def _batch_size(args, level) -> int:
    for a in args:
        if isinstance(a, (tuple, list)):
            size = _batch_size(a, level)
            if size is not None:
                return size
        elif level_of(a) == level:
            return (a._data if isinstance(a, Tensor) else a).batch_size
    return None


def _wrap(out, level):
    if isinstance(out, tuple):
        return tuple(_wrap(o, level) for o in out)
    return make_batched(out, level)


def _pad(physical, ndim: int, rank: int):
    """(batch, *shape) -> (batch, 1, ..., 1, *shape) with ``rank`` sample dims."""
    if ndim >= rank:
        return physical
    shape = tuple(physical.shape)
    return physical.reshape(shape[:1] + (1,) * (rank - ndim) + shape[1:])


def _expanded(x, level, size):
    """The batch of ``x`` at ``level``; an unbatched tensor is expanded (a view, no copy)."""
    physical = _unwrap(x, level)
    if physical is not None:
        return physical
    return x.unsqueeze(0).expand((size,) + tuple(x.shape))


def _select(x, level, i):
    if isinstance(x, (tuple, list)):
        return type(x)(_select(a, level, i) for a in x)
    physical = _unwrap(x, level)
    return x if physical is None else physical[i]


def _loop(cls, level, args, kwargs):
    """The fallback: the op once per sample, results stacked (gradients flow through the slices)."""
    size = _batch_size(tuple(args) + tuple(kwargs.values()), level)
    results = []
    for i in range(size):
        sample_args = tuple(_select(a, level, i) for a in args)
        sample_kwargs = {k: _select(v, level, i) for k, v in kwargs.items()}
        results.append(cls.apply(*sample_args, **sample_kwargs))
    if isinstance(results[0], tuple):
        return tuple(make_batched(_stack([r[k] for r in results]), level) for k in range(len(results[0])))
    return make_batched(_stack(results), level)


def _different_shapes(shapes, error=RuntimeError) -> RuntimeError:
    return error(f"vmap: the samples' results have different shapes {sorted(shapes)}; every sample must give "
                 "the same shape (a data-dependent shape, such as x[x > 0]'s, cannot be batched)")


def _stack(tensors):
    shapes = {tuple(t.shape) for t in tensors}
    if len(shapes) > 1:  # an op inside: the whole function may still give one shape per sample
        raise _different_shapes(shapes, Unbatchable)
    if isinstance(tensors[0], Tensor):
        return stack(tensors)
    return Tensor._wrap(np.stack([np.asarray(t) for t in tensors]))


# filled by _rules.install(): op class -> rule(cls, level, args, kwargs), which returns the op's result on the
# batch (batch dim first) or NotImplemented
_RULES: dict = {}
