"""``Parameter``: a tensor that a ``Module`` registers as one of its learnable weights."""

from __future__ import annotations

import numpy as np

from .. import _dtype
from ..tensor import Tensor


class Parameter(Tensor):
    """A ``Tensor`` that is registered as a parameter when assigned to a ``Module`` attribute.

    It shares its data with the tensor it is made from and requires a gradient by default.

    Args:
        data: the initial value (a tensor or an array); an empty float tensor when omitted.
        requires_grad: whether the parameter requires a gradient. Default: True.

    Example:
        >>> import ember
        >>> p = ember.nn.Parameter(ember.zeros(2))
        >>> p
        Parameter containing:
        tensor([0., 0.], requires_grad=True)
    """

    def __init__(self, data=None, requires_grad: bool = True):
        if data is None:
            data = np.empty(0, dtype=_dtype.get_default_dtype().numpy)
        source = data if isinstance(data, Tensor) else None
        Tensor.__init__(self, data)
        if source is not None:
            self._vc = source._vc  # shares data and version counter, like PyTorch
        if requires_grad:
            self.requires_grad = True

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol):
        return (Parameter, (Tensor._wrap(self._data), self._requires_grad))


class Buffer(Tensor):
    """A ``Tensor`` that is registered as a buffer when assigned to a ``Module`` attribute.

    Args:
        data: the buffer's value.
        persistent: whether the buffer is part of the module's ``state_dict``. Default: True.

    Example:
        >>> import ember
        >>> m = ember.nn.Module()
        >>> m.running = ember.nn.Buffer(ember.zeros(3))
        >>> list(m.state_dict())
        ['running']
    """

    def __init__(self, data, *, persistent: bool = True):
        source = data if isinstance(data, Tensor) else None
        Tensor.__init__(self, data)
        if source is not None:
            self._vc = source._vc
        self.persistent = persistent
