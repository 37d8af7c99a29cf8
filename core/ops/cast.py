"""dtype conversion and copies: ``to``, ``type_as``, the ``float()`` / ``long()`` ... casts and
``clone``. A cast between float dtypes is differentiable (the gradient is cast back); a cast to an
integer or bool dtype is not."""

from __future__ import annotations

import warnings

import numpy as np

from .. import _dtype
from .._device import meta_array, resolve
from ..tensor import Tensor
from ._op import Op


class Cast(Op):
    @staticmethod
    def forward(ctx, a, np_dtype):
        ctx.source = a._data.dtype
        if a._data.dtype.kind == "c" and np_dtype.kind != "c":
            warnings.warn("Casting complex values to real discards the imaginary part", UserWarning, stacklevel=4)
            return a._data.real.astype(np_dtype)
        return a._data.astype(np_dtype)

    @staticmethod
    def backward(ctx, grad):
        if grad._data.dtype.kind == "c" and ctx.source.kind != "c":  # real -> complex: the real part, as torch
            grad = grad.real
        return grad.to(ctx.source), None


class Clone(Op):
    @staticmethod
    def forward(ctx, a):
        return a._data.copy()

    @staticmethod
    def backward(ctx, grad):
        return grad


def clone(input, *, memory_format=None):
    return Clone.apply(input)


def to(input, *args, dtype=None, copy: bool = False, **kwargs):
    """``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other)``; returns ``input`` when nothing
    changes (unless ``copy``)."""
    target, where = dtype, None
    for a in args:
        if isinstance(a, Tensor):
            target, where = a.dtype, a.device.type
        elif isinstance(a, (_dtype.dtype, np.dtype, type)) or (isinstance(a, str) and a in _dtype._NAMES):
            target = a
        elif a is not None:
            where = resolve(a)  # "cpu" or "meta"; raises Ember's one error for any other device
    kwargs.pop("non_blocking", None)
    if kwargs.get("device") is not None:
        where = resolve(kwargs.pop("device"))
    if where is not None and where != input.device.type:
        if where == "cpu":
            raise NotImplementedError("Cannot copy out of meta tensor; no data!")
        np_dtype = input._data.dtype if target is None else _dtype.to_numpy_dtype(target)
        requires_grad = input._requires_grad and np_dtype.kind in "fc"
        return Tensor._wrap(meta_array(input._data.shape, np_dtype), requires_grad)
    if target is None:
        return clone(input) if copy else input
    np_dtype = _dtype.to_numpy_dtype(target)
    if np_dtype == input._data.dtype:
        return clone(input) if copy else input
    if np_dtype.kind not in "fc":
        data = input._data
        if data.dtype.kind == "c":
            warnings.warn("Casting complex values to real discards the imaginary part", UserWarning, stacklevel=2)
            data = data.real
        with np.errstate(all="ignore"):  # NaN or inf to an integer: unspecified, silently, as in PyTorch
            return Tensor._wrap(data.astype(np_dtype))
    return Cast.apply(input, np_dtype)


def type_as(input, other):
    return to(input, other.dtype)


def _cast_method(target):
    def fn(input):
        return to(input, target)

    fn.__name__ = target.name
    return fn


float_ = _cast_method(_dtype.float32)
double = _cast_method(_dtype.float64)
half = _cast_method(_dtype.float16)
long = _cast_method(_dtype.int64)
int_ = _cast_method(_dtype.int32)
short = _cast_method(_dtype.int16)
byte = _cast_method(_dtype.uint8)
char = _cast_method(_dtype.int8)
bool_ = _cast_method(_dtype.bool_)
