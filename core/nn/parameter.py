"""``Parameter``: a tensor that a ``Module`` registers as one of its learnable weights; ``Buffer``; and the
``UninitializedParameter`` / ``UninitializedBuffer`` of the lazy layers, whose shape is not known yet."""

from __future__ import annotations

import weakref

import numpy as np

from .. import _dtype, creation
from .._device import is_meta_array, meta_array
from ..tensor import Tensor

__all__ = ["Buffer", "Parameter", "UninitializedBuffer", "UninitializedParameter", "is_lazy"]


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


_SHAPE_ERROR = (
    "Can't access the shape of an uninitialized parameter or buffer. This error usually happens in "
    "`load_state_dict` when trying to load an uninitialized parameter into an initialized one. Call `forward` "
    "to initialize the parameters before accessing their attributes."
)


class UninitializedTensorMixin:
    """What the uninitialized parameter and buffer share: no shape until ``materialize(shape)`` gives them
    storage and turns them, in place, into the class they stand for (``cls_to_become``). In place, so every
    holder of the object (a module, an optimizer built before the first forward) sees the materialised
    tensor, as in PyTorch."""

    __slots__ = ()
    cls_to_become: type

    def materialize(self, shape, device=None, dtype=None) -> None:
        """Gives the tensor uninitialised storage of ``shape`` (its dtype and device unless given) and makes
        it a ``cls_to_become``."""
        np_dtype = self._data.dtype if dtype is None else _dtype.to_numpy_dtype(dtype)
        shape = tuple(int(n) for n in shape)
        meta = is_meta_array(self._data) if device is None else str(device) == "meta"
        self._data = meta_array(shape, np_dtype) if meta else np.empty(shape, dtype=np_dtype)
        self.__class__ = self.cls_to_become

    @property
    def shape(self):
        raise RuntimeError(_SHAPE_ERROR)

    def size(self, dim=None):
        raise RuntimeError(_SHAPE_ERROR)

    def numel(self):
        raise RuntimeError(_SHAPE_ERROR)

    def share_memory_(self):
        raise RuntimeError(
            "Can't share memory on an uninitialized parameter or buffer. Call `forward` to initialize the "
            "parameters before calling `module.share_memory()`."
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    def __reduce_ex__(self, protocol):
        return (type(self), (self._requires_grad, None, self.dtype))

    def __deepcopy__(self, memo):
        if id(self) not in memo:
            memo[id(self)] = type(self)(self._requires_grad, None, self.dtype)
        return memo[id(self)]


def is_lazy(param) -> bool:
    """Whether ``param`` is an ``UninitializedParameter`` or ``UninitializedBuffer``."""
    return isinstance(param, UninitializedTensorMixin)


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A parameter whose shape is not known yet: a lazy layer's weight before its first forward.

    Only its dtype and device can change (``module.to(...)``); ``materialize(shape)`` turns it, in place,
    into an ordinary ``Parameter`` (with uninitialised values: the layer initialises them).

    Args:
        requires_grad: whether the parameter will require a gradient. Default: True.
        device, dtype: of the parameter-to-be (defaults: the CPU and the default dtype).

    Example:
        >>> import ember
        >>> p = ember.nn.UninitializedParameter()
        >>> p.materialize((2, 3))
        >>> type(p).__name__, tuple(p.shape)
        ('Parameter', (2, 3))
    """

    cls_to_become = Parameter

    def __init__(self, requires_grad: bool = True, device=None, dtype=None):
        Parameter.__init__(self, creation.empty(0, dtype=dtype, device=device), requires_grad)


# Tensor has __slots__ and no __dict__: an UninitializedBuffer must share that layout to become a Tensor in
# place, so its `persistent` flag lives here, by id, dropped when the buffer dies (a Tensor's == is
# elementwise, so a WeakKeyDictionary cannot hold tensors).
_PERSISTENT: dict[int, bool] = {}


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    """A buffer whose shape is not known yet (a lazy batch norm's running statistics before its first
    forward); ``materialize(shape)`` turns it, in place, into an ordinary ``Tensor``.

    Args:
        requires_grad: Default: False.
        device, dtype: of the buffer-to-be.
        persistent: whether it is part of the module's ``state_dict``. Default: True.

    Example:
        >>> import ember
        >>> b = ember.nn.UninitializedBuffer()
        >>> b
        <UninitializedBuffer>
        >>> b.materialize((3,))
        >>> type(b).__name__
        'Tensor'
    """

    __slots__ = ()
    cls_to_become = Tensor

    def __init__(self, requires_grad: bool = False, device=None, dtype=None, persistent: bool = True):
        Tensor.__init__(self, creation.empty(0, dtype=dtype, device=device)._data)
        if requires_grad:
            self.requires_grad = True
        _PERSISTENT[id(self)] = persistent
        weakref.finalize(self, _PERSISTENT.pop, id(self), None)

    @property
    def persistent(self) -> bool:
        return _PERSISTENT.get(id(self), True)

    def __reduce_ex__(self, protocol):
        return (type(self), (self._requires_grad, None, self.dtype, self.persistent))

    def __deepcopy__(self, memo):
        if id(self) not in memo:
            memo[id(self)] = type(self)(self._requires_grad, None, self.dtype, self.persistent)
        return memo[id(self)]
