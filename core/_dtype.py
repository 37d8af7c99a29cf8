"""Ember's dtypes: thin named wrappers over numpy dtypes, with PyTorch's names and promotion."""

from __future__ import annotations

import numpy as np


class dtype:
    """A tensor element type (``ember.float32``, ``ember.int64``, ...)."""

    __slots__ = ("name", "numpy", "is_floating_point", "is_signed", "itemsize", "_category")

    def __init__(self, name: str, numpy_dtype, category: int):
        self.name = name
        self.numpy = np.dtype(numpy_dtype)
        self.is_floating_point = category == 2
        self.is_signed = self.numpy.kind in "ifc"
        self.itemsize = self.numpy.itemsize
        self._category = category  # 0 bool, 1 integer, 2 floating point, 3 complex

    def __repr__(self) -> str:
        return f"ember.{self.name}"

    def __reduce__(self):
        return (_by_name, (self.name,))

    @property
    def is_complex(self) -> bool:
        return self._category == 3

    def to_complex(self) -> dtype:
        """The complex dtype with this floating-point dtype's precision (float64 -> complex128)."""
        return complex128 if self is float64 or self is complex128 else complex64

    def to_real(self) -> dtype:
        """The real dtype of a complex dtype's parts (complex64 -> float32); other dtypes are returned."""
        return {complex64: float32, complex128: float64}.get(self, self)


bool_ = dtype("bool", np.bool_, 0)
uint8 = dtype("uint8", np.uint8, 1)
uint16 = dtype("uint16", np.uint16, 1)
uint32 = dtype("uint32", np.uint32, 1)
uint64 = dtype("uint64", np.uint64, 1)
int8 = dtype("int8", np.int8, 1)
int16 = dtype("int16", np.int16, 1)
int32 = dtype("int32", np.int32, 1)
int64 = dtype("int64", np.int64, 1)
float16 = dtype("float16", np.float16, 2)
float32 = dtype("float32", np.float32, 2)
float64 = dtype("float64", np.float64, 2)
complex64 = dtype("complex64", np.complex64, 3)
complex128 = dtype("complex128", np.complex128, 3)



class _NamedOnlyDtype(dtype):
    """A dtype Ember names but cannot store: numpy has no bfloat16. Code that only names it runs (nanoGPT's
    ``{'float32': torch.float32, 'bfloat16': torch.bfloat16, ...}[dtype]`` table); making a tensor of it
    raises ``TypeError``."""

    __slots__ = ()

    def __init__(self, name: str, itemsize: int):
        self.name, self.itemsize, self.is_floating_point, self.is_signed, self._category = name, itemsize, True, True, 2

    @property
    def numpy(self):
        raise TypeError(f"ember.{self.name} has no storage (numpy has no {self.name} type): use ember.float32 "
                        f"(torch's {self.name} tensors load as float32) or ember.float16")


bfloat16 = _NamedOnlyDtype("bfloat16", 2)

_WIDE_UNSIGNED = (uint16, uint32, uint64)  # torch promotes them only with floating-point types
ALL = (bool_, uint8, uint16, uint32, uint64, int8, int16, int32, int64, float16, float32, float64,
       complex64, complex128)
_FROM_NUMPY = {d.numpy: d for d in ALL}
_NAMES = {d.name: d for d in ALL}
_NAMES.update(
    half=float16, float=float32, double=float64, short=int16, int=int32, long=int64, bool=bool_,
    cfloat=complex64, cdouble=complex128, bfloat16=bfloat16,
)


def _by_name(name: str) -> dtype:
    return _NAMES[name]


def from_numpy_dtype(np_dtype) -> dtype:
    """The Ember dtype of a numpy dtype; a clear error for the ones Ember has no tensor type for."""
    try:
        return _FROM_NUMPY[np_dtype]
    except KeyError:
        pass
    np_dtype = np.dtype(np_dtype)
    if np_dtype in _FROM_NUMPY:
        return _FROM_NUMPY[np_dtype]
    raise TypeError(
        f"can't convert numpy array of type {np_dtype}: the only supported types are "
        "complex128, complex64, float64, float32, float16, int64, int32, int16, int8, uint64, uint32, "
        "uint16, uint8 and bool"
    )


def to_numpy_dtype(d) -> np.dtype:
    """Accepts an Ember dtype, a numpy dtype, a Python type or a dtype name."""
    if isinstance(d, dtype):
        return d.numpy
    if isinstance(d, str) and d in _NAMES:
        return _NAMES[d].numpy
    if d is float:
        return _default_float.numpy
    if d is int:
        return np.dtype(np.int64)
    if d is bool:
        return np.dtype(np.bool_)
    if d is complex:
        return _default_float.to_complex().numpy
    try:
        np_dtype = np.dtype(d)
    except TypeError:
        raise TypeError(f"expected an ember dtype such as ember.float32, got {d!r}") from None
    from_numpy_dtype(np_dtype)  # reject unsupported kinds with a clear message
    return np_dtype


def as_dtype(d) -> dtype:
    return from_numpy_dtype(to_numpy_dtype(d))


_default_float = float32


def get_default_dtype() -> dtype:
    """The dtype Python floats and floating-point creation ops produce (``float32`` unless changed)."""
    return _default_float


def set_default_dtype(d) -> None:
    """Sets the default floating-point dtype (``float32`` or ``float64``, like PyTorch also ``float16``)."""
    global _default_float
    d = as_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default_float = d


def get_default_complex_dtype() -> dtype:
    """The complex counterpart of the default dtype: what Python complex numbers become (``complex64``)."""
    return _default_float.to_complex()


_TORCH_NAMES = {"bool": "Bool", "uint8": "Byte", "uint16": "UInt16", "uint32": "UInt32", "uint64": "UInt64",
                "int8": "Char", "int16": "Short", "int32": "Int", "int64": "Long", "float16": "Half",
                "float32": "Float", "float64": "Double", "complex64": "ComplexFloat", "complex128": "ComplexDouble"}


def promote_types(a: dtype, b: dtype) -> dtype:
    """PyTorch's ``promote_types``: the smallest dtype both can be cast to without losing category."""
    if a is b:
        return a
    if (a in _WIDE_UNSIGNED or b in _WIDE_UNSIGNED) and not (a.is_floating_point or b.is_floating_point):
        raise RuntimeError("Promotion for uint16, uint32, uint64 types is not supported, attempted to promote "
                           f"{_TORCH_NAMES[a.name]} and {_TORCH_NAMES[b.name]}")
    if a._category != b._category:
        high, low = (a, b) if a._category > b._category else (b, a)
        if high.is_complex and low.is_floating_point:  # float64 + complex64 -> complex128, as torch
            return complex128 if complex128 in (a, b) or float64 in (a, b) else complex64
        return high
    return from_numpy_dtype(np.promote_types(a.numpy, b.numpy))


def category_of_scalar(value) -> int:
    if isinstance(value, (bool, np.bool_)):
        return 0
    if isinstance(value, (int, np.integer)):
        return 1
    if isinstance(value, (complex, np.complexfloating)):
        return 3
    return 2
