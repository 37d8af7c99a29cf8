"""Complex tensors: real/imag/conj/angle/polar/view_as_real, with PyTorch's complex autograd.

Gradients follow PyTorch's convention: the gradient of a real loss ``L`` w.r.t. a complex ``z = x + iy``
is ``dL/dx + i dL/dy`` (the conjugate Wirtinger derivative, times 2). A holomorphic op ``f`` therefore
passes back ``grad * conj(f'(z))``; the backward formulas of the arithmetic ops take the conjugate with
``conj_of``, which leaves real values alone.

``real``, ``imag``, ``view_as_real`` and ``view_as_complex`` are views, as in PyTorch: they share the
tensor's memory and version counter, and an in-place op on one is recorded as an in-place op on a view of
the tensor (ops/inplace.py). ``conj`` copies (PyTorch's is lazy, a flag on a view); ``is_conj`` is
therefore always False.
"""

from __future__ import annotations

import builtins
import functools

import numpy as np

from .. import _dtype
from ..tensor import Tensor
from ._op import Op, Stepwise
from .shape import _view_of

__all__ = ["angle", "complex", "conj", "conj_physical", "imag", "is_complex", "is_conj", "polar", "real",
           "resolve_conj", "resolve_neg", "sgn", "view_as_complex", "view_as_real"]
METHODS = ["angle", "cdouble", "cfloat", "conj", "conj_physical", "imag", "is_conj", "real", "resolve_conj",
           "resolve_neg", "sgn"]
INPLACE = ["conj_physical", "sgn"]


def conj_of(x):
    """The complex conjugate of a tensor or number; real values are returned as they are."""
    if isinstance(x, Tensor):
        return conj(x)
    if isinstance(x, (builtins.complex, np.complexfloating)):
        return x.conjugate()
    return x


def abs_squared(x: Tensor) -> Tensor:
    """``|x|^2``, real: ``x * x``, or ``Re(x * conj(x))`` for complex ``x`` (var, norm)."""
    return (x * conj(x)).real if _is_complex(x) else x * x


def _is_complex(x) -> bool:
    return isinstance(x, Tensor) and x._data.dtype.kind == "c"


class Conj(Op):
    @staticmethod
    def forward(ctx, a):
        return np.conj(a._data)

    @staticmethod
    def backward(ctx, grad):
        return conj(grad)


class Real(Op):
    @staticmethod
    def forward(ctx, a):
        return a._data.real  # a view: writing to it writes the real parts of ``a``

    @staticmethod
    def backward(ctx, grad):
        return complex(grad, grad * 0)


class Imag(Op):
    @staticmethod
    def forward(ctx, a):
        return a._data.imag

    @staticmethod
    def backward(ctx, grad):
        return complex(grad * 0, grad)  # L(y): dL/dz = i dL/dy


class Complex(Op):
    @staticmethod
    def forward(ctx, real_part, imag_part):
        target = _dtype.from_numpy_dtype(real_part._data.dtype).to_complex().numpy
        out = np.empty(np.broadcast_shapes(real_part._data.shape, imag_part._data.shape), target)
        out.real, out.imag = real_part._data, imag_part._data
        return out

    @staticmethod
    def backward(ctx, grad):
        return real(grad), imag(grad)


def real_parts(array: np.ndarray) -> np.ndarray:
    """A complex array as a real array sharing its memory, with a last dimension of size 2 holding the real
    and imaginary parts (``view_as_real``'s array); a real array as it is."""
    if array.dtype.kind != "c":
        return array
    parts = array.real  # same strides as ``array``, real dtype
    return np.lib.stride_tricks.as_strided(parts, array.shape + (2,), array.strides + (parts.itemsize,))


class ViewAsReal(Op):
    @staticmethod
    def forward(ctx, a):
        return real_parts(a._data)

    @staticmethod
    def backward(ctx, grad):
        return complex(grad[..., 0], grad[..., 1])


class ViewAsComplex(Op):
    @staticmethod
    def forward(ctx, a):
        complex_dtype = _dtype.from_numpy_dtype(a._data.dtype).to_complex().numpy
        return a._data.view(complex_dtype)[..., 0]

    @staticmethod
    def backward(ctx, grad):
        return view_as_real(grad)


class Angle(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.angle(a._data)

    @staticmethod
    def backward(ctx, grad):
        (z,) = ctx.saved_tensors
        # angle = atan2(y, x): dL/dx + i dL/dy = grad * (-y + ix) / |z|^2 = grad * i z / |z|^2 (0 at z = 0)
        squared = (z * conj(z)).real
        zero = squared == 0
        return (grad * 1j * z / squared.masked_fill(zero, 1)).masked_fill(zero, 0)


class Sgn(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        ctx.save_output()
        size = np.abs(a._data)
        with np.errstate(all="ignore"):
            return np.where(size == 0, 0, a._data / np.where(size == 0, 1, size)).astype(a._data.dtype)

    @staticmethod
    def backward(ctx, grad):
        (z,) = ctx.saved_tensors
        # sgn(z) = z / |z|: grad_z = (grad - Re(grad * conj(sgn)) * sgn) / |z|, as torch's sgn_backward
        s = ctx.output
        size = (z * conj(z)).real.sqrt()
        zero = size == 0
        out = (grad - (grad * conj(s)).real * s) / size.masked_fill(zero, 1)
        return out.masked_fill(zero, 0)


# --- functional forms -----------------------------------------------------------------
def cfloat(input):
    """``input`` cast to complex64 (the method ``x.cfloat()``)."""
    return input.to(_dtype.complex64)


def cdouble(input):
    """``input`` cast to complex128 (the method ``x.cdouble()``)."""
    return input.to(_dtype.complex128)


def is_complex(input) -> bool:
    """Whether ``input`` has a complex dtype."""
    return input._data.dtype.kind == "c"


def is_conj(input) -> bool:
    """Always False: Ember's ``conj`` computes the conjugate at once (PyTorch's sets a lazy flag)."""
    return False


def conj(input):
    """The complex conjugate; a real tensor is returned as it is, as in PyTorch."""
    return Conj.apply(input) if _is_complex(input) else input


def conj_physical(input):
    """The complex conjugate, computed (a real tensor is returned as it is)."""
    return conj(input)


def resolve_conj(input):
    """``input`` itself: Ember's conjugates are never lazy."""
    return input


def resolve_neg(input):
    """``input`` itself: Ember's negations are never lazy."""
    return input


class _PartProperty:
    """``ember.real(x)`` as a function and ``x.real`` as a property (``x.real = v`` writes the parts)."""

    def __init__(self, fn):
        self.fn = fn
        functools.update_wrapper(self, fn)

    def __call__(self, input):
        return self.fn(input)

    def __get__(self, obj, objtype=None):
        return self if obj is None else self.fn(obj)

    def __set__(self, obj, value) -> None:
        self.fn(obj).copy_(value)


def _real(input):
    """The real parts of a complex tensor, as a view; a real tensor is returned as it is."""
    return _view_of(Real.apply(input), input) if _is_complex(input) else input


def _imag(input):
    """The imaginary parts of a complex tensor, as a view."""
    if not _is_complex(input):
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")
    return _view_of(Imag.apply(input), input)


real = _PartProperty(_real)
imag = _PartProperty(_imag)


def _check_parts(op, a, b):
    for name, t in (("real", a), ("imag", b)) if op == "complex" else (("abs", a), ("angle", b)):
        if not isinstance(t, Tensor) or t._data.dtype.kind != "f" or t._data.dtype == np.float16:
            got = type(t).__name__ if not isinstance(t, Tensor) else t.dtype
            raise RuntimeError(
                f"{op}(): expected both inputs to be Float or Double tensors, but got {name} {got}")
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(
            f"{op}(): expected object of scalar type {a.dtype} but got scalar type {b.dtype} "
            "for second argument"
        )


def complex(real, imag):
    """The complex tensor ``real + i * imag`` (float32 parts give complex64, float64 complex128)."""
    _check_parts("complex", real, imag)
    return Complex.apply(real, imag)


def polar(abs, angle):
    """The complex tensor with absolute value ``abs`` and angle ``angle``: ``abs * (cos + i sin)(angle)``."""
    _check_parts("polar", abs, angle)
    return complex(abs * angle.cos(), abs * angle.sin())


def view_as_real(input):
    """A real view of a complex tensor, with a last dimension of size 2: the real and imaginary parts."""
    if not _is_complex(input):
        raise RuntimeError("view_as_real is only supported for complex tensors")
    return _view_of(ViewAsReal.apply(input), input)


def view_as_complex(input):
    """A complex view of a float tensor whose last dimension (of size 2) holds real and imaginary parts."""
    data = input._data
    if data.dtype.kind != "f" or data.dtype == np.float16:
        raise RuntimeError("view_as_complex is only supported for float and double tensors, but got a "
                           f"tensor of scalar type: {input.dtype}")
    if data.ndim == 0 or data.shape[-1] != 2:
        raise RuntimeError("Tensor must have a last dimension of size 2")
    if data.strides[-1] != data.itemsize:
        raise RuntimeError("Tensor must have a last dimension with stride 1")
    if any(s % (2 * data.itemsize) for s in data.strides[:-1]):
        raise RuntimeError("Tensor must have a stride divisible by 2 for all but last dimension")
    if data.ctypes.data % (2 * data.itemsize):
        raise RuntimeError("Tensor must have a storage_offset divisible by 2")
    return _view_of(ViewAsComplex.apply(input), input)


def angle(input):
    """The angle (argument) of each element, in radians; real inputs give 0 or pi (zero gradient)."""
    if _is_complex(input):
        return Angle.apply(input)
    if input._data.dtype.kind != "f":
        input = input.to(_dtype.get_default_dtype())
    return Stepwise.apply(_real_angle, input)


def _real_angle(x):
    return np.where(np.isnan(x), x, np.where(x < 0, np.pi, 0).astype(x.dtype))


_real_angle.__name__ = "angle"  # the graph node is AngleBackward, as in PyTorch


def sgn(input):
    """``z / |z|`` for complex tensors (0 at 0); the sign for real ones."""
    return Sgn.apply(input) if _is_complex(input) else input.sign()
