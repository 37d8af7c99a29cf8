"""``ember.device``, the default device, and the "meta" device's storage-free arrays.

Ember computes on the CPU. A device is still a value a PyTorch program passes around, so
``ember.device`` parses every device string torch knows; *using* one Ember has not (``"cuda"``,
``"mps"``, ...) raises one error, from :func:`resolve`, wherever a device is accepted.

The "meta" device holds shape and dtype but no values. A meta tensor's array is a ``MetaArray``: a
zero-stride broadcast of one read-only 0-d array per dtype (no memory for the full shape), recognisable
through every numpy view (``reshape``, ``[0]``, ``.T``, ``np.asarray``) by :func:`is_meta_array`. numpy
computing with one returns meta arrays, mostly from shapes alone, so every op carries the device through;
``Function.apply`` does the same for ops with a ``meta`` rule and for gradients.
"""

from __future__ import annotations

import re
import threading

import numpy as np

# torch 2.13's device types, in its order (its error message lists them so)
DEVICE_TYPES = (
    "cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve", "fpga", "maia", "xla",
    "lazy", "vulkan", "mps", "meta", "hpu", "mtia", "privateuseone",
)
_DEVICE_STRING = re.compile(r"^([A-Za-z_]\w*?)(?::(\d+))?$")


class device:
    """A device: ``ember.device("cpu")``, ``ember.device("cuda", 0)``, ``ember.device("meta")``.

    Any device type PyTorch knows can be named; Ember computes on ``"cpu"`` and ``"meta"`` only, and
    tensors or layers asked for another device raise a clear error. Used as a context manager it
    sets the default device of the factories (``zeros``, ``randn``, ...) and of ``nn`` layers.

    Example:
        >>> import ember
        >>> with ember.device("meta"):
        ...     layer = ember.nn.Linear(4096, 4096)   # no memory for the weights
        >>> layer.weight.device
        device(type='meta')
    """

    __slots__ = ("index", "type")

    def __init__(self, type, index: int | None = None):
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        elif isinstance(type, int) and not isinstance(type, bool):
            raise RuntimeError("Cannot access accelerator device when none is available.")
        elif not isinstance(type, str):
            raise TypeError(f"device() expects a string, a device or an int, got {_type_name(type)}")
        else:
            match = _DEVICE_STRING.match(type)
            if match is None:
                raise RuntimeError(f"Invalid device string: {type!r}")
            name, parsed_index = match.groups()
            if name not in DEVICE_TYPES:
                raise RuntimeError(
                    f"Expected one of {', '.join(DEVICE_TYPES)} device type at start of device string: {type}"
                )
            if parsed_index is not None:
                if index is not None:
                    raise RuntimeError(f"type (string) must not include an index because index was passed "
                                       f"explicitly: {type}")
                index = int(parsed_index)
            type = name
        if index is not None and index < 0:
            raise RuntimeError(f"Device index must not be negative, got {index}")
        object.__setattr__(self, "type", type)
        object.__setattr__(self, "index", index)

    def __setattr__(self, name, value):
        raise AttributeError(f"ember.device is immutable; can't set {name!r}")

    def __eq__(self, other) -> bool:
        if not isinstance(other, device):
            return NotImplemented
        return self.type == other.type and self.index == other.index

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type={self.type!r}{index})"

    def __reduce__(self):
        return (device, (self.type, self.index))

    # ``with ember.device("meta"):`` -- torch's default-device context
    def __enter__(self) -> device:  # noqa: PYI034 (device is final)
        resolve(self)
        _default.stack.append(self)
        return self

    def __exit__(self, *exc) -> bool:
        _default.stack.pop()
        return False


class OutOfMemoryError(RuntimeError):
    """PyTorch's out-of-memory error (``torch.OutOfMemoryError`` / ``torch.cuda.OutOfMemoryError``), so that
    ``except ember.cuda.OutOfMemoryError:`` in a ported script names a real class. Ember raises numpy's
    ``MemoryError`` when an allocation fails."""


class layout:
    """A tensor layout (``ember.strided``: every Ember tensor is a strided numpy array)."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"ember.{self.name}"

    def __reduce__(self):
        return self.name


class memory_format:
    """A memory format: ``ember.contiguous_format``, ``channels_last``, ``channels_last_3d``,
    ``preserve_format``. Ember accepts them where torch does; its arrays keep their own strides."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"ember.{self.name}"

    def __reduce__(self):
        return self.name


strided = layout("strided")
contiguous_format = memory_format("contiguous_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")
preserve_format = memory_format("preserve_format")


def _type_name(value) -> str:
    return type(value).__name__


_CPU = device("cpu")


class _DefaultDevice(threading.local):
    """Each thread's default device, as in torch: the last entry; ``with device(...)`` pushes one."""

    def __init__(self):
        self.stack = [_CPU]


_default = _DefaultDevice()


def set_default_device(device_) -> None:
    """Sets the device factories and ``nn`` layers use when given none (``None`` means ``"cpu"``).

    Example:
        >>> import ember
        >>> ember.set_default_device("meta"); ember.zeros(2).is_meta
        True
        >>> ember.set_default_device(None); ember.zeros(2).is_meta
        False
    """
    chosen = _CPU if device_ is None else device(device_)
    resolve(chosen)
    _default.stack[-1] = chosen


def get_default_device() -> device:
    """The device factories use when given none (``device(type='cpu')`` unless changed)."""
    return _default.stack[-1]


def unavailable(device_) -> RuntimeError:
    """The one error for a device Ember cannot compute on (``.to("cuda")``, ``zeros(2, device="cuda")``)."""
    return RuntimeError(
        f"Ember runs on the CPU only; got device {str(device_)!r} (ember.cuda.is_available() is False). "
        "Use device='cpu', or 'meta' for tensors without storage."
    )


def resolve(device_) -> str:
    """``"cpu"`` or ``"meta"`` for a ``device=`` argument (``None`` is the default device); any other
    device raises :func:`unavailable`'s error, an unknown name torch's "Expected one of ..." error."""
    if device_ is None:
        return _default.stack[-1].type
    if isinstance(device_, str) and device_ in ("cpu", "meta"):
        return device_
    parsed = device_ if isinstance(device_, device) else device(device_)
    if parsed.type not in ("cpu", "meta"):
        raise unavailable(parsed)
    return parsed.type


# --- the meta device's arrays --------------------------------------------------------------------
_META_SOURCES: dict = {}  # numpy dtype -> read-only 0-d zero every meta array of that dtype views
meta_ids: set = set()  # their ids; empty until the first meta array, so ops skip the meta check till then


class MetaArray(np.ndarray):
    """A meta tensor's array: numpy computing with one gives meta arrays back, so every op (differentiable
    or not, Ember's or numpy's) carries the meta device through. Elementwise ufuncs learn their result's
    shape and dtype without computing; other numpy functions run on the zero-stride values, which are
    then dropped. Writing into a meta array (``out=``, ``+=``) does nothing."""

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        if out is not None and all(is_meta_array(o) for o in out):
            return out[0] if len(out) == 1 else out
        if out is not None:
            kwargs["out"] = tuple(_plain(o) for o in out)
        plain = [_plain(a) for a in inputs]
        with np.errstate(all="ignore"):  # the values are zeros standing in for none
            matrices = min(np.ndim(a) for a in plain) >= 2
            if ufunc is np.matmul and method == "__call__" and out is None and matrices:
                x, y = plain
                shape = (*np.broadcast_shapes(x.shape[:-2], y.shape[:-2]), x.shape[-2], y.shape[-1])
                return meta_array(shape, np.result_type(x, y))
            if method == "reduce" and out is None and plain[0].size and kwargs.get("where", True) is True:
                return _reduced(ufunc, plain[0], **kwargs)
            if method == "__call__" and ufunc.signature is None and out is None:
                shape = np.broadcast_shapes(*(np.shape(a) for a in plain))
                zeros = (np.zeros((), a.dtype) if isinstance(a, np.ndarray) else a for a in plain)
                return _as_meta_result(ufunc(*zeros, **kwargs), shape)
            return _as_meta_result(getattr(ufunc, method)(*plain, **kwargs))

    def __array_function__(self, func, types, args, kwargs):
        if func in _WRITERS and args and is_meta_array(args[0]):
            return None  # copyto / put / place / putmask into a meta array: nothing to write
        shape_rule = _SHAPE_RULES.get(func)
        if shape_rule is not None:
            return shape_rule(*_plain_all(args), **_plain_all(kwargs))
        with np.errstate(all="ignore"):
            return _as_meta_result(func(*_plain_all(args), **_plain_all(kwargs)))

    def astype(self, dtype, *args, **kwargs):
        return meta_array(self.shape, dtype)

    def copy(self, *args, **kwargs):
        return meta_array(self.shape, self.dtype)

    def __setitem__(self, index, value) -> None:
        pass  # nothing to write

    def fill(self, value) -> None:
        pass


_WRITERS = (np.copyto, np.put, np.place, np.putmask)


def _like_rule(a, *args, dtype=None, shape=None, **kwargs):
    return meta_array(np.shape(a) if shape is None else shape, a.dtype if dtype is None else dtype)


def _join_rule(join):
    def rule(arrays, axis=0, out=None, dtype=None, **kwargs):
        shapes = [np.shape(a) for a in arrays]
        if not shapes or axis is None or out is not None:
            return _as_meta_result(join(arrays, axis=axis, out=out, dtype=dtype, **kwargs))
        shape = list(shapes[0])
        if join is np.stack:
            fits = len(set(shapes)) == 1 and -len(shape) - 1 <= axis <= len(shape)
            if fits:
                shape.insert(axis % (len(shape) + 1), len(arrays))
        else:
            fits = len(shape) > 0 and -len(shape) <= axis < len(shape)
            if fits:
                axis %= len(shape)
                rest = [sh[:axis] + sh[axis + 1:] for sh in shapes]
                fits = all(len(sh) == len(shape) for sh in shapes) and len(set(rest)) == 1
                shape[axis] = sum(sh[axis] for sh in shapes)
        if not fits:  # numpy's own error
            return _as_meta_result(join(arrays, axis=axis, dtype=dtype, **kwargs))
        return meta_array(tuple(shape), np.result_type(*arrays) if dtype is None else dtype)

    return rule


def _reduction_rule(reduce):
    """``np.sum(a, axis=, keepdims=, dtype=)`` and kin: the shape without the reduced axes; the dtype of the
    same reduction of a one-element stand-in."""

    def rule(a, axis=None, *args, keepdims=False, **kwargs):
        if args or np.size(a) == 0 or kwargs.get("out") is not None or kwargs.get("where") is not None:
            return _as_meta_result(reduce(a, axis, *args, keepdims=keepdims, **kwargs))
        ndim = np.ndim(a)
        axes = range(ndim) if axis is None else axis if isinstance(axis, tuple) else (axis,)
        axes = {ax % ndim for ax in axes} if ndim else set()
        stand_in = np.zeros((1,) * ndim, np.asarray(a).dtype)
        dtype = np.asarray(reduce(stand_in, axis=axis, keepdims=True, **kwargs)).dtype
        shape = tuple(1 if i in axes else n for i, n in enumerate(np.shape(a)) if keepdims or i not in axes)
        return meta_array(shape, dtype)

    return rule


# numpy functions whose meta result is worked out from shapes alone (the rest run on the zero-stride values)
_SHAPE_RULES = {
    np.zeros_like: _like_rule, np.ones_like: _like_rule, np.empty_like: _like_rule, np.full_like: _like_rule,
    np.ascontiguousarray: _like_rule,
    np.concatenate: _join_rule(np.concatenate),
    np.stack: _join_rule(np.stack),
    **{f: _reduction_rule(f) for f in (np.sum, np.prod, np.mean, np.std, np.var, np.max, np.min, np.amax,
                                       np.amin, np.any, np.all, np.argmax, np.argmin, np.nansum, np.nanmax,
                                       np.nanmin, np.nanmean)},
}


def _reduced(ufunc, a, axis=0, dtype=None, keepdims=False, **kwargs):
    """``ufunc.reduce``'s meta result: the shape without the reduced axes, the dtype of a 1-element reduce."""
    axes = range(a.ndim) if axis is None else axis if isinstance(axis, tuple) else (axis,)
    axes = {ax % a.ndim for ax in axes} if a.ndim else set()
    shape = tuple(1 if i in axes else n for i, n in enumerate(a.shape) if keepdims or i not in axes)
    return meta_array(shape, ufunc.reduce(np.zeros(1, a.dtype), dtype=dtype).dtype)


def _plain(a):
    """A meta array as the plain zero-stride ndarray it views (anything else as it is)."""
    return a.view(np.ndarray) if isinstance(a, MetaArray) else a


def _plain_all(value):
    if isinstance(value, MetaArray):
        return value.view(np.ndarray)
    if isinstance(value, (list, tuple)):
        return type(value)(_plain_all(v) for v in value)
    if isinstance(value, dict):
        return {k: _plain_all(v) for k, v in value.items()}
    return value


def _as_meta_result(result, shape=None):
    if isinstance(result, tuple):
        return tuple(_as_meta_result(r, shape) for r in result)
    if isinstance(result, (np.ndarray, np.generic)):
        return meta_array(np.shape(result) if shape is None else shape, result.dtype)
    return result


def meta_array(shape, np_dtype) -> np.ndarray:
    """A read-only array of ``shape`` and ``np_dtype`` that takes no memory: a meta tensor's array."""
    np_dtype = np.dtype(np_dtype)
    source = _META_SOURCES.get(np_dtype)
    if source is None:
        source = np.zeros((), np_dtype)
        source.flags.writeable = False
        _META_SOURCES[np_dtype] = source
        meta_ids.add(id(source))
    return np.broadcast_to(source, tuple(shape)).view(MetaArray)


def is_meta_array(array: np.ndarray) -> bool:
    """Whether ``array`` is a meta array or a view of one (``np.asarray`` of a meta array is such a view)."""
    if isinstance(array, MetaArray):
        return True
    base = array.base
    return base is not None and (id(base) in meta_ids or isinstance(base, MetaArray))


def meta_inputs(args) -> bool:
    """Whether an op's arguments (tensors, or lists of them as ``cat`` takes) include a meta tensor. Mixing
    meta tensors with CPU tensors of one or more dimensions raises torch's error (0-d ones are scalars)."""
    arrays = [a._data for a in _tensors(args)]
    metas = [is_meta_array(a) for a in arrays]
    if not any(metas):
        return False
    for array, meta in zip(arrays, metas):
        if not meta and array.ndim > 0:
            expected, other = ("meta", "cpu") if metas[0] else ("cpu", "meta")
            raise RuntimeError(f"Tensor on device {other} is not on the expected device {expected}!")
    return True


def _tensors(args):
    for a in args:
        if isinstance(getattr(a, "_data", None), np.ndarray):
            yield a
        elif isinstance(a, (list, tuple)):
            yield from _tensors(a)


def as_meta(out):
    """An op's output (arrays, or tensors from a user's ``Function``) as meta arrays of the same shapes and
    dtypes. The op's forward ran on the inputs' zero-stride arrays to learn them (the values are dropped)."""
    if isinstance(out, tuple):
        return tuple(as_meta(o) for o in out)
    if isinstance(getattr(out, "_data", None), np.ndarray):
        out._data = meta_array(out._data.shape, out._data.dtype)
        return out
    out = np.asarray(out)
    return meta_array(out.shape, out.dtype)
