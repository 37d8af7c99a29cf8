"""``ember.finfo`` / ``ember.iinfo``: the numeric limits of a dtype, with PyTorch's fields and reprs."""

from __future__ import annotations

import numpy as np

from . import _dtype


class finfo:
    """Limits of a floating-point dtype (the default dtype when none is given).

    Attributes: ``bits``, ``eps``, ``max``, ``min``, ``tiny`` (= ``smallest_normal``), ``resolution``,
    ``dtype`` (its name, as in PyTorch).

    Example:
        >>> import ember
        >>> ember.finfo(ember.float16).max
        65504.0
        >>> ember.finfo().eps == ember.finfo(ember.float32).eps
        True
    """

    def __init__(self, type=None):
        d = _dtype.get_default_dtype() if type is None else _dtype.as_dtype(type)
        if d.numpy.kind not in "fc":
            raise TypeError(
                "ember.finfo() requires a floating point input type. Use ember.iinfo to handle 'ember.finfo'"
            )
        info = np.finfo(d.numpy)
        self.bits = int(info.bits)
        self.eps = float(info.eps)
        self.max = float(info.max)
        self.min = float(info.min)
        self.tiny = self.smallest_normal = float(info.smallest_normal)
        self.resolution = 10.0 ** -int(info.precision)
        self.dtype = info.dtype.name

    def __eq__(self, other) -> bool:
        return isinstance(other, finfo) and self.dtype == other.dtype

    def __hash__(self) -> int:
        return hash(("finfo", self.dtype))

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, "
                f"smallest_normal={self.smallest_normal:g}, tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:
    """Limits of an integer dtype: ``bits``, ``max``, ``min``, ``dtype`` (its name).

    Example:
        >>> import ember
        >>> ember.iinfo(ember.uint8).max, ember.iinfo(ember.int8).min
        (255, -128)
    """

    def __init__(self, type):
        d = _dtype.as_dtype(type)
        if d.numpy.kind == "b":
            raise TypeError(f"{d} is not supported by ember.iinfo")
        if d.numpy.kind not in "iu":
            raise TypeError(
                "ember.iinfo() requires an integer input type. Use ember.finfo to handle 'ember.iinfo'"
            )
        info = np.iinfo(d.numpy)
        self.bits, self.max, self.min = int(info.bits), int(info.max), int(info.min)
        self.dtype = info.dtype.name

    def __eq__(self, other) -> bool:
        return isinstance(other, iinfo) and self.dtype == other.dtype

    def __hash__(self) -> int:
        return hash(("iinfo", self.dtype))

    def __repr__(self) -> str:
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"
