"""PyTorch's legacy tensor types: ``ember.FloatTensor([1, 2])``, ``isinstance(t, ember.LongTensor)`` and
``Tensor.type()`` (``"ember.FloatTensor"``), ``t.type(ember.DoubleTensor)``.

As in torch, a legacy type is not a subclass: calling one builds a plain ``ember.Tensor`` of its dtype,
and ``isinstance`` asks whether a tensor on the CPU has that dtype.
"""

from __future__ import annotations

from . import _dtype
from ._device import unavailable
from .tensor import Tensor, _legacy_data, legacy_device


class _LegacyTensorType(type):
    """The metaclass of ``ember.FloatTensor`` and its kin."""

    def __call__(cls, *args, device=None) -> Tensor:
        return Tensor._wrap(_legacy_data(args, cls.dtype.numpy, legacy_device(device)))

    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, Tensor) and obj._data.dtype == cls.dtype.numpy and not obj.is_meta

    def __repr__(cls) -> str:
        return f"<class 'ember.{cls.__name__}'>"


def _legacy_type(name: str, dtype: _dtype.dtype) -> _LegacyTensorType:
    doc = f"Legacy constructor: ``ember.{name}(2, 3)`` (uninitialised) or ``ember.{name}([1, 2])``, {dtype}."
    return _LegacyTensorType(name, (), {"dtype": dtype, "__doc__": doc, "__module__": "ember"})


FloatTensor = _legacy_type("FloatTensor", _dtype.float32)
DoubleTensor = _legacy_type("DoubleTensor", _dtype.float64)
HalfTensor = _legacy_type("HalfTensor", _dtype.float16)
LongTensor = _legacy_type("LongTensor", _dtype.int64)
IntTensor = _legacy_type("IntTensor", _dtype.int32)
ShortTensor = _legacy_type("ShortTensor", _dtype.int16)
CharTensor = _legacy_type("CharTensor", _dtype.int8)
ByteTensor = _legacy_type("ByteTensor", _dtype.uint8)
BoolTensor = _legacy_type("BoolTensor", _dtype.bool_)
LEGACY_TYPES = (FloatTensor, DoubleTensor, HalfTensor, LongTensor, IntTensor, ShortTensor, CharTensor,
                ByteTensor, BoolTensor)
_NAMES = {t.dtype.numpy.name: t.__name__ for t in LEGACY_TYPES}


def legacy_type_from_name(name: str) -> _LegacyTensorType:
    """``"ember.DoubleTensor"`` (or torch's ``"torch.DoubleTensor"``) -> ``ember.DoubleTensor``."""
    prefix, _, short = name.rpartition(".")
    if prefix in ("torch.cuda", "ember.cuda"):
        raise unavailable("cuda")
    for legacy in LEGACY_TYPES:
        if prefix in ("torch", "ember") and legacy.__name__ == short:
            return legacy
    raise ValueError(f"invalid type: {name!r}")


def tensor_type(self, dtype=None, non_blocking: bool = False, **kwargs):
    """``Tensor.type``: the type name (``"ember.FloatTensor"``) without arguments; else this tensor cast to
    ``dtype`` (an ``ember.dtype``, a legacy type such as ``ember.DoubleTensor``, or its name)."""
    if dtype is None:
        name = _NAMES.get(self._data.dtype.name, self._data.dtype.name)
        return f"ember.meta.{name}" if self.is_meta else f"ember.{name}"
    if isinstance(dtype, _LegacyTensorType):
        dtype = dtype.dtype
    elif isinstance(dtype, type) and dtype.__module__ == "ember.cuda":  # ember.cuda.FloatTensor
        raise unavailable("cuda")
    elif isinstance(dtype, str):
        dtype = legacy_type_from_name(dtype).dtype
    return self.to(dtype)
