"""Padding layers over ``F.pad``: constant, zero, reflection, replication and circular, 1-D, 2-D and 3-D."""

from __future__ import annotations

from .. import functional as F
from .module import Module

__all__ = [
    "CircularPad1d",
    "CircularPad2d",
    "CircularPad3d",
    "ConstantPad1d",
    "ConstantPad2d",
    "ConstantPad3d",
    "ReflectionPad1d",
    "ReflectionPad2d",
    "ReflectionPad3d",
    "ReplicationPad1d",
    "ReplicationPad2d",
    "ReplicationPad3d",
    "ZeroPad1d",
    "ZeroPad2d",
    "ZeroPad3d",
]


class _PadNd(Module):
    mode = "constant"
    _n = 2

    def __init__(self, padding, value: float = 0.0):
        super().__init__()
        self.padding = tuple(padding) if isinstance(padding, (tuple, list)) else (padding,) * (2 * self._n)
        if len(self.padding) != 2 * self._n:
            raise ValueError(
                f"{type(self).__name__} expects {2 * self._n} padding values, got {self.padding}"
            )
        self.value = value

    def forward(self, input):
        if self.mode == "constant":
            return F.pad(input, self.padding, "constant", self.value)
        if input.ndim not in (self._n + 1, self._n + 2):  # reflect / replicate / circular pad whole planes
            error = ValueError if self.mode == "circular" else NotImplementedError
            raise error(
                f"{type(self).__name__}: expected {self._n + 1}D or {self._n + 2}D input (got {input.ndim}D "
                f"input of shape {tuple(input.shape)})"
            )
        return F.pad(input, self.padding, self.mode)

    def extra_repr(self) -> str:  # PyTorch's: padding and value for the constant pads, the tuple otherwise
        if self.mode == "constant" and not isinstance(self, (ZeroPad1d, ZeroPad2d, ZeroPad3d)):
            return f"padding={self.padding}, value={self.value}"
        return f"{self.padding}"


class ConstantPad1d(_PadNd):
    """Pads the last dimension with ``value``: ``padding`` is an int or ``(left, right)``.

    Example:
        >>> import ember
        >>> ember.nn.ConstantPad1d(2, 3.5)(ember.zeros(1, 2, 4)).shape
        ember.Size([1, 2, 8])
    """

    _n = 1


class ConstantPad2d(_PadNd):
    """Pads the last two dimensions with ``value``: int or ``(left, right, top, bottom)``."""

    _n = 2


class ConstantPad3d(_PadNd):
    """Pads the last three dimensions with ``value``: int or ``(left, right, top, bottom, front, back)``.

    Example:
        >>> import ember
        >>> ember.nn.ConstantPad3d((1, 0, 0, 2, 1, 1), 3.5)(ember.zeros(1, 1, 2, 2, 2)).shape
        ember.Size([1, 1, 4, 4, 3])
    """

    _n = 3


class ZeroPad1d(ConstantPad1d):
    """Pads the last dimension with zeros."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)


class ZeroPad2d(ConstantPad2d):
    """Pads the last two dimensions with zeros: int or ``(left, right, top, bottom)``.

    Example:
        >>> import ember
        >>> ember.nn.ZeroPad2d((1, 1, 2, 0))(ember.zeros(1, 1, 3, 3)).shape
        ember.Size([1, 1, 5, 5])
    """

    def __init__(self, padding):
        super().__init__(padding, 0.0)


class ZeroPad3d(ConstantPad3d):
    """Pads the last three dimensions with zeros: int or ``(left, right, top, bottom, front, back)``."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)


class ReflectionPad1d(_PadNd):
    """Pads the last dimension with the reflection of the input (edge not repeated)."""

    mode, _n = "reflect", 1


class ReflectionPad2d(_PadNd):
    """Pads the last two dimensions with the reflection of the input."""

    mode, _n = "reflect", 2


class ReflectionPad3d(_PadNd):
    """Pads the last three dimensions with the reflection of the input (edges not repeated).

    Example:
        >>> import ember
        >>> ember.nn.ReflectionPad3d(1)(ember.zeros(1, 1, 2, 3, 3)).shape
        ember.Size([1, 1, 4, 5, 5])
    """

    mode, _n = "reflect", 3


class ReplicationPad1d(_PadNd):
    """Pads the last dimension by repeating the edge value."""

    mode, _n = "replicate", 1


class ReplicationPad2d(_PadNd):
    """Pads the last two dimensions by repeating the edge values."""

    mode, _n = "replicate", 2


class ReplicationPad3d(_PadNd):
    """Pads the last three dimensions by repeating the edge values."""

    mode, _n = "replicate", 3


class CircularPad1d(_PadNd):
    """Pads the last dimension circularly (wrapping around)."""

    mode, _n = "circular", 1


class CircularPad2d(_PadNd):
    """Pads the last two dimensions circularly (wrapping around)."""

    mode, _n = "circular", 2


class CircularPad3d(_PadNd):
    """Pads the last three dimensions circularly (wrapping around)."""

    mode, _n = "circular", 3
