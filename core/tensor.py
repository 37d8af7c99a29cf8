"""``Tensor``: one numpy array plus what autograd needs to know about it.

``._data`` is the numpy array itself, never a copy; ``.data`` is PyTorch's, a tensor sharing it.
This file imports no op and no part of autograd (they
import ``Tensor``): the op methods (``x.exp()``, ``x + y``, ``x.add_(y)``), ``==`` / ``!=`` and
``backward`` are bound onto the class once, in ``ember/__init__.py``, from the functions of
``ember.ops`` and ``ember.autograd``, so ``x.exp()`` and ``ember.exp(x)`` are one piece of code.
"""

from __future__ import annotations

import weakref

import numpy as np

from . import _device, _dtype
from ._device import MetaArray, device, is_meta_array, meta_array, resolve, unavailable
from ._format import format_tensor
from ._grad_state import state
from ._hooks import RemovableHandle
from ._numpy_names import dim_from_axis

_NO_DATA = "Cannot copy out of meta tensor; no data!"


class Tensor:
    """A multi-dimensional array that can record the operations applied to it.

    Build tensors with ``ember.tensor`` and the factories. Called directly, ``Tensor`` is PyTorch's legacy
    constructor: ``Tensor(2, 3)`` is uninitialised, ``Tensor([1, 2])`` holds the data in the default dtype.

    Example:
        >>> import ember
        >>> x = ember.tensor([1.0, 2.0], requires_grad=True)
        >>> y = (x * x).sum()
        >>> y.backward()
        >>> x.grad
        tensor([2., 4.])
    """

    __slots__ = ("_data", "_requires_grad", "grad", "grad_fn", "_output_nr", "_vc", "_hooks", "_base",
                 "__weakref__")
    __array_priority__ = 1000  # ndarray <op> Tensor defers to Tensor's reflected operator
    is_sparse = False  # a sparse COO tensor (``_sparse_tensor.SparseTensor``) says True

    def __init__(self, *args, requires_grad: bool = False, device=None):
        data = _legacy_data(args, None, legacy_device(device))
        if _device.meta_ids and type(data) is np.ndarray and is_meta_array(data):
            data = data.view(MetaArray)
        _dtype.from_numpy_dtype(data.dtype)
        self._data = data
        self._requires_grad = False
        self.grad = None
        self.grad_fn = None
        self._output_nr = 0
        self._vc = [0]
        self._hooks = None
        self._base = None
        if requires_grad:
            self.requires_grad = True

    @classmethod
    def _wrap(cls, data: np.ndarray, requires_grad: bool = False, grad_fn=None, output_nr: int = 0, vc=None):
        """Fast constructor for arrays Ember made itself (no checks)."""
        t = object.__new__(cls)
        if _device.meta_ids and type(data) is np.ndarray and is_meta_array(data):  # np.asarray(meta) keeps it
            data = data.view(MetaArray)
        t._data = data
        t._requires_grad = requires_grad
        t.grad = None
        t.grad_fn = grad_fn
        t._output_nr = output_nr
        t._vc = [0] if vc is None else vc
        t._hooks = None
        t._base = None
        return t

    @property
    def data(self) -> Tensor:
        """This tensor's values as a new tensor outside the graph, sharing memory, as in PyTorch.

        In-place changes through it (``p.data.add_(x)``, ``m.weight.data.normal_()``) change this
        tensor without autograd seeing them. ``p.data = t`` makes ``p`` hold ``t``'s values (any
        shape) and keeps it what it was: a leaf, a ``Parameter``, requiring grad or not.
        """
        return Tensor._wrap(_detached(self._data))

    @data.setter
    def data(self, value: Tensor) -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be a Tensor, got {type(value).__name__}; wrap arrays with ember.as_tensor")
        if self._requires_grad and value._data.dtype.kind not in "fc":
            raise RuntimeError(
                f"data set to a {value.dtype} tensor: a tensor that requires grad must hold floating point values"
            )
        self._data = value._data

    # --- autograd attributes -------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        value = bool(value)
        if self.grad_fn is not None and not value:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use a computed "
                "variable in a subgraph that doesn't require differentiation use var_no_grad = var.detach()."
            )
        if value and self._data.dtype.kind not in "fc":
            raise RuntimeError(
                f"only Tensors of floating point and complex dtype can require gradients (got {self.dtype}); "
                "convert with .float() first"
            )
        self._requires_grad = value

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def _version(self) -> int:
        return self._vc[0]

    def retain_grad(self) -> None:
        """Keeps ``.grad`` for this non-leaf tensor after backward."""
        if self.grad_fn is None:
            return
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.retains_grad:
            return
        ref = weakref.ref(self)

        def keep(grad):
            t = ref()
            if t is not None:
                t.grad = grad.detach() if t.grad is None else (t.grad + grad).detach()

        keep.retains_grad = True  # the engine runs it after this tensor's other hooks
        self.register_hook(keep)

    @property
    def retains_grad(self) -> bool:
        hooks = self.grad_fn._out_hooks if self.grad_fn is not None else None
        mine = hooks.get(self._output_nr, {}) if hooks else {}
        return any(getattr(h, "retains_grad", False) for h in mine.values())

    def register_hook(self, hook):
        """Registers ``hook(grad) -> Tensor | None``, called with this tensor's gradient in backward."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is None:
            if self._hooks is None:
                self._hooks = {}
            hooks = self._hooks
        else:
            node = self.grad_fn
            if node._out_hooks is None:
                node._out_hooks = {}
            hooks = node._out_hooks.setdefault(self._output_nr, {})
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        return handle

    def detach(self) -> Tensor:
        """A tensor sharing this one's data (and version counter), cut from the graph."""
        return Tensor._wrap(_detached(self._data), False, None, 0, self._vc)

    def detach_(self) -> Tensor:
        self.grad_fn = None
        self._requires_grad = False
        return self

    # --- metadata -----------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: int | None = None, *, axis=None):
        if axis is not None:
            dim = dim_from_axis("size", dim, axis)
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_normalize_dim(dim, self._data.ndim, "size")]

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    def numel(self) -> int:
        return self._data.size

    nelement = numel

    @property
    def dtype(self) -> _dtype.dtype:
        return _dtype.from_numpy_dtype(self._data.dtype)

    @property
    def device(self) -> device:
        return device("meta") if is_meta_array(self._data) else device("cpu")

    @property
    def is_meta(self) -> bool:
        """Whether this tensor is on the "meta" device (shape and dtype, no values)."""
        return is_meta_array(self._data)

    @property
    def is_cpu(self) -> bool:
        return not is_meta_array(self._data)

    is_cuda = is_mps = is_xpu = property(lambda self: False)

    def get_device(self) -> int:
        """The device index of a CUDA tensor; -1 here, as for every CPU tensor in PyTorch."""
        return -1

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f"

    def is_complex(self) -> bool:
        return self._data.dtype.kind == "c"

    def element_size(self) -> int:
        return self._data.itemsize

    @property
    def itemsize(self) -> int:
        """Bytes per element."""
        return self._data.itemsize

    @property
    def nbytes(self) -> int:
        """Bytes the elements take (``numel() * itemsize``; also for views and meta tensors, as in torch)."""
        return self._data.size * self._data.itemsize

    def stride(self, dim: int | None = None, *, axis=None):
        if axis is not None:
            dim = dim_from_axis("stride", dim, axis)
        strides = tuple(s // self._data.itemsize for s in self._data.strides)
        return strides if dim is None else strides[dim]

    def is_contiguous(self, memory_format=None) -> bool:
        """Whether the elements lie in memory in row-major order (or, for ``ember.channels_last``, in
        N, H, W, C order)."""
        data = self._data
        if memory_format is _device.channels_last and data.ndim == 4:
            data = data.transpose(0, 2, 3, 1)
        elif memory_format is _device.channels_last_3d and data.ndim == 5:
            data = data.transpose(0, 2, 3, 4, 1)
        return bool(data.flags.c_contiguous)

    @property
    def layout(self) -> _device.layout:
        """``ember.strided``: Ember tensors are strided arrays."""
        return _device.strided

    def data_ptr(self) -> int:
        if is_meta_array(self._data):
            return 0
        return self._data.__array_interface__["data"][0]

    # --- conversions --------------------------------------------------------------------
    def item(self):
        data = self._data
        if data.size != 1:
            raise RuntimeError(f"a Tensor with {data.size} elements cannot be converted to Scalar")
        if is_meta_array(data):
            raise RuntimeError("Tensor.item() cannot be called on meta tensors")
        return data.item()

    def tolist(self):
        if is_meta_array(self._data):
            raise NotImplementedError(_NO_DATA)
        return self._data.tolist()

    def numpy(self, force: bool = False) -> np.ndarray:
        if is_meta_array(self._data):
            raise TypeError("can't convert meta device type tensor to numpy. Use Tensor.cpu() to copy the "
                            "tensor to host memory first.")
        if self._requires_grad and state.grad_enabled and not force:  # (allowed under no_grad, as in torch)
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        return self._data

    def __array__(self, dtype=None, copy=None):
        if is_meta_array(self._data):
            raise TypeError("can't convert meta device type tensor to numpy: it has no data")
        if dtype is not None and np.dtype(dtype) != self._data.dtype:
            return self._data.astype(dtype)
        return self._data.copy() if copy else self._data

    def cpu(self, memory_format=None) -> Tensor:
        if is_meta_array(self._data):
            raise NotImplementedError(_NO_DATA)
        return self

    def cuda(self, device=None, non_blocking: bool = False, memory_format=None) -> Tensor:
        """Raises: Ember has no CUDA device (``ember.cuda.is_available()`` is False)."""
        raise unavailable("cuda" if device is None else device)

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self._data.size} values is ambiguous")
        return bool(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __complex__(self) -> complex:
        return complex(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        if is_meta_array(self._data):
            return _format_meta(self)
        return format_tensor(self)

    def __format__(self, spec: str) -> str:
        # as torch: a 0-d tensor formats as its item, with or without a spec (f"{loss}" prints "0.25");
        # a 0-d Parameter keeps its repr unless a spec is given
        if self._data.ndim == 0 and not is_meta_array(self._data) and (spec or type(self) is Tensor):
            return format(self.item(), spec)
        return repr(self)

    def __deepcopy__(self, memo):
        if self.grad_fn is not None:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) support the deepcopy protocol"
            )
        data = self._data if is_meta_array(self._data) else self._data.copy()  # meta arrays are read-only
        new = type(self)._wrap(data, self._requires_grad)
        if self.grad is not None:
            new.grad = type(self.grad)._wrap(self.grad._data.copy())  # (a sparse gradient stays sparse)
        memo[id(self)] = new
        return new

    def __reduce_ex__(self, protocol):
        # Plain pickling (e.g. multiprocessing) keeps data and requires_grad, like PyTorch.
        return (_rebuild_tensor, (type(self), self._data, self._requires_grad))


def _detached(data):
    """``data`` itself; inside ``ember.func.vmap`` a batched array holds a batch with a graph, cut here too."""
    if type(data) is not np.ndarray and hasattr(data, "detach"):
        return data.detach()
    return data


def _rebuild_tensor(cls, data, requires_grad):
    return cls._wrap(data, requires_grad)


class Size(tuple):
    """The shape of a tensor: a tuple that prints as ``ember.Size([2, 3])``."""

    def __repr__(self) -> str:
        return f"ember.Size({list(self)})"

    # as torch.Size: joining, repeating or slicing a Size gives a Size
    def __add__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple(self) + tuple(other))

    def __radd__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple(other) + tuple(self))

    def __mul__(self, times):
        return Size(tuple(self) * times)

    __rmul__ = __mul__

    def __getitem__(self, index):
        item = tuple.__getitem__(self, index)
        return Size(item) if isinstance(index, slice) else item

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n


def _format_meta(t: Tensor) -> str:
    """torch's repr of a meta tensor: ``tensor(..., device='meta', size=(2, 3))``."""
    extras = [f"size={tuple(t._data.shape)}"]
    if t._data.dtype != _dtype.get_default_dtype().numpy:
        extras.append(f"dtype={t.dtype}")
    if t.grad_fn is not None:
        extras.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t._requires_grad:
        extras.append("requires_grad=True")
    return "tensor(..., device='meta', " + ", ".join(extras) + ")"


# --- the legacy constructor ember.Tensor(2, 3) (the typed ones, FloatTensor..., are in _legacy.py) ----------
def legacy_device(device_) -> str:
    """A legacy constructor's device: the CPU whatever the default device, as in torch."""
    where = "cpu" if device_ is None else resolve(device_)
    if where != "cpu":
        raise RuntimeError(f"legacy constructor expects device type: cpu but device type: {where} was passed")
    return where


def _legacy_data(args: tuple, np_dtype, where: str) -> np.ndarray:
    """The array of ``Tensor(*args)`` / ``FloatTensor(*args)`` / ``x.new(*args)`` with torch's legacy rules:
    no argument is an empty tensor, ints (or an ``ember.Size``) are a shape of uninitialised values, one
    sequence or ndarray is data (converted to ``np_dtype``, the default float dtype for ``Tensor``: as torch,
    ``Tensor(np.array([True]))`` is ``tensor([1.])``; an ndarray of that dtype is shared), one tensor is
    shared. (Ember's own code wraps its arrays with ``Tensor._wrap``, which keeps their dtype.) ``where`` is
    "cpu" or, for ``x.new`` of a meta tensor, "meta"."""
    default = _dtype.get_default_dtype().numpy if np_dtype is None else np_dtype
    if len(args) == 1 and not isinstance(args[0], Size) and not _is_int(args[0]):
        data = args[0]
        if isinstance(data, Tensor):
            if np_dtype is not None and data._data.dtype != np_dtype:
                raise TypeError(f"expected {_dtype.from_numpy_dtype(np_dtype)} tensor (got {data.dtype})")
            array = data._data
        elif isinstance(data, (np.ndarray, np.generic)):
            array = _cast(np.asarray(data), default)
        elif hasattr(data, "__len__") and not isinstance(data, (str, bytes)):  # a list, tuple, sequence
            array = _cast(_array_from_data(data, None), default)
        else:
            raise TypeError(f"new(): data must be a sequence (got {type(data).__name__})")
        return meta_array(array.shape, array.dtype) if where == "meta" else array
    shape = tuple(args[0]) if len(args) == 1 and isinstance(args[0], Size) else args
    for s in shape:
        if not _is_int(s):
            raise TypeError(f"new(): expected a shape of ints or one sequence of data, got {shape!r}")
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(shape)}")
    shape = shape or (0,)
    return meta_array(shape, default) if where == "meta" else np.empty(shape, default)


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _normalize_dim(dim: int, ndim: int, op: str) -> int:
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"{op}: dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim % n


def _array_from_data(data, dtype) -> np.ndarray:
    """numpy array from Python data with PyTorch's inference: floats -> default dtype, ints -> int64."""
    if isinstance(data, Tensor):
        array = data._data
    elif isinstance(data, (list, tuple)) and any(isinstance(d, Tensor) for d in _flat_first(data)):
        array = np.array([_array_from_data(d, None) for d in data])
    else:
        array = np.asarray(data)
    if dtype is not None:
        return _cast(array, _dtype.to_numpy_dtype(dtype))
    kind = array.dtype.kind
    if kind not in "biufc":
        _dtype.from_numpy_dtype(array.dtype)  # raises naming the unsupported type
    if isinstance(data, np.ndarray) or isinstance(data, np.generic):
        return array if kind != "f" or array.dtype.itemsize >= 2 else array.astype(np.float32)
    if kind == "f":
        return _cast(array, _dtype.get_default_dtype().numpy)
    if kind == "c":
        return _cast(array, _dtype.get_default_complex_dtype().numpy)
    if kind in "iu":
        return array.astype(np.int64, copy=False)
    if kind == "b":
        return array
    if kind == "O" or kind == "U":
        raise TypeError(f"can't build a tensor from {type(data).__name__} with items of mixed or unsupported type")
    return array


def _cast(array: np.ndarray, np_dtype) -> np.ndarray:
    if array.dtype == np_dtype:
        return array
    with np.errstate(all="ignore"):  # 1e40 to float32 is inf, nan to an int unspecified: silently, as torch
        return array.astype(np_dtype)


def _flat_first(data):
    while isinstance(data, (list, tuple)) and data:
        yield data[0]
        data = data[0]


def comparison_operator(compare):
    """``==`` / ``!=`` from ``ember.eq`` / ``ember.ne``: an operand that is neither a tensor nor a number
    (``t == None``) is not compared elementwise; Python then falls back to identity, so ``t == None`` is
    False, as in PyTorch."""

    def method(self, other):
        try:
            return compare(self, other)
        except TypeError:
            return NotImplemented

    method.__name__ = f"__{compare.__name__}__"
    return method
