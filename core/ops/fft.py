"""Discrete Fourier transforms (``ember.fft``'s functions), differentiable.

Three ops do the work (named as torch's: ``FftC2C``, ``FftR2C``, ``FftC2R``), each ``scale`` times an
unnormalized numpy transform over ``dims``:

- ``C2C``: complex to complex, forward (``exp(-2 pi i jk/n)``) or inverse (``exp(+2 pi i jk/n)``);
- ``R2C``: real to the one-sided (last dim ``n // 2 + 1``) complex spectrum;
- ``C2R``: one-sided Hermitian spectrum to a real signal of ``n`` points on the last dim.

Their gradients follow PyTorch (the gradient of a real loss w.r.t. ``z`` is ``dL/dx + i dL/dy``): the
adjoint of a C2C is the C2C the other way with the same scale; R2C's is the real part of an inverse C2C of
the zero-padded gradient; C2R's is an R2C of the gradient with the entries that stand for two (all but the
zero and Nyquist frequencies) doubled, as torch's ``fft_c2r_backward``. ``n`` / ``s`` crop or zero-pad
the input with differentiable ops before the transform.
"""

from __future__ import annotations

import math

import numpy as np

from .. import _dtype
from .._numpy_names import dim_from_axis
from ..tensor import Tensor
from ._op import Op
from ._util import normalize_dim

__all__: list[str] = []
METHODS: list[str] = []
INPLACE: list[str] = []

_NORMS = ("backward", "ortho", "forward")


def _complex_dtype(real: np.dtype) -> np.dtype:
    return np.dtype(np.complex128) if real in (np.float64, np.complex128) else np.dtype(np.complex64)


def _real_dtype(x: np.dtype) -> np.dtype:
    return np.dtype(np.float64) if x in (np.float64, np.complex128) else np.dtype(np.float32)


class FftC2C(Op):
    @staticmethod
    def forward(ctx, a, dims, inverse, scale):
        ctx.dims, ctx.inverse, ctx.scale = dims, inverse, scale
        x = a._data
        out = (np.fft.ifftn(x, axes=dims, norm="forward") if inverse
               else np.fft.fftn(x, axes=dims, norm="backward")) if dims else x.copy()
        if scale != 1:
            out *= scale
        return out.astype(_complex_dtype(x.dtype), copy=False)

    @staticmethod
    def backward(ctx, grad):
        return FftC2C.apply(grad, ctx.dims, not ctx.inverse, ctx.scale), None, None, None


class FftR2C(Op):
    @staticmethod
    def forward(ctx, a, dims, scale):
        ctx.dims, ctx.scale, ctx.n = dims, scale, a._data.shape[dims[-1]]
        out = np.fft.rfftn(a._data, axes=dims, norm="backward")
        if scale != 1:
            out *= scale
        return out.astype(_complex_dtype(a._data.dtype), copy=False)

    @staticmethod
    def backward(ctx, grad):
        last = ctx.dims[-1]
        padded = _resize(grad, last, ctx.n)  # the half spectrum, zero-padded to the full length
        return FftC2C.apply(padded, ctx.dims, True, ctx.scale).real, None, None


class FftC2R(Op):
    @staticmethod
    def forward(ctx, a, dims, n, scale):
        ctx.dims, ctx.n, ctx.scale = dims, n, scale
        out = np.fft.irfftn(a._data, s=[a._data.shape[d] for d in dims[:-1]] + [n], axes=dims, norm="forward")
        if scale != 1:
            out *= scale
        return out.astype(_real_dtype(a._data.dtype), copy=False)

    @staticmethod
    def backward(ctx, grad):
        spectrum = FftR2C.apply(grad, ctx.dims, ctx.scale)
        last = ctx.dims[-1]
        half = spectrum.shape[last]
        doubled = ctx.n - half  # the frequencies 1 .. that stand for themselves and their mirror image
        if doubled > 0:
            factor = np.ones(half, dtype=_real_dtype(grad._data.dtype))
            factor[1:1 + doubled] = 2
            shape = [1] * spectrum.ndim
            shape[last] = half
            spectrum = spectrum * Tensor._wrap(factor.reshape(shape))
        return spectrum, None, None, None


# --- argument handling ------------------------------------------------------------------------------
def _resize(x: Tensor, dim: int, n: int) -> Tensor:
    """``x`` cropped or zero-padded at the end of ``dim`` to ``n`` points (differentiable)."""
    size = x.shape[dim]
    if n == size:
        return x
    if n < size:
        return x.narrow(dim, 0, n)
    from .joining import cat

    shape = list(x.shape)
    shape[dim] = n - size
    return cat([x, Tensor._wrap(np.zeros(shape, x._data.dtype))], dim)


def _scale(norm, n: int, inverse: bool) -> float:
    if norm is None or norm == "backward":
        return 1.0 / n if inverse else 1.0
    if norm == "ortho":
        return 1.0 / math.sqrt(n)
    if norm == "forward":
        return 1.0 if inverse else 1.0 / n
    raise RuntimeError(f'Invalid normalization mode: "{norm}"')


def _float_input(x: Tensor, complex_ok: bool, op: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(x).__name__}")
    kind = x._data.dtype.kind
    if kind == "c":
        if not complex_ok:
            raise RuntimeError(f"{op} expects a real input tensor, but got {_torch_name(x)}")
        return x
    if kind != "f" or x._data.dtype == np.float16:
        return x.to(_dtype.get_default_dtype() if kind != "f" else _dtype.float32)
    return x


def _torch_name(x: Tensor) -> str:
    return {"complex64": "ComplexFloat", "complex128": "ComplexDouble"}.get(x._data.dtype.name, str(x.dtype))


def _as_complex(x: Tensor) -> Tensor:
    if x._data.dtype.kind == "c":
        return x
    return x.to(_dtype.from_numpy_dtype(x._data.dtype).to_complex())


def _dims_and_sizes(x: Tensor, s, dim, op: str):
    """Normalized ``dim`` and the signal sizes ``s`` (None where the input's size is kept), as torch.fftn."""
    if dim is None:
        dims = list(range(x.ndim - len(s), x.ndim)) if s is not None else list(range(x.ndim))
    elif isinstance(dim, int):
        dims = [dim]
    else:
        dims = list(dim)
    dims = [normalize_dim(int(d), x.ndim, op) for d in dims]
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"{op}: FFT dims must be unique")
    if s is None:
        sizes = [None] * len(dims)
    else:
        sizes = [s] if isinstance(s, int) else list(s)
        if len(sizes) != len(dims):
            raise RuntimeError(f"{op}: When given, dim and shape arguments must have the same length")
        sizes = [None if v == -1 else int(v) for v in sizes]
    for v in sizes:
        if v is not None and v < 1:
            raise RuntimeError(f"Invalid number of data points ({v}) specified")
    return dims, sizes


def _c2c(op, input, s, dim, norm, inverse):
    x = _as_complex(_float_input(input, True, op))
    dims, sizes = _dims_and_sizes(x, s, dim, op)
    for d, n in zip(dims, sizes):
        if n is not None:
            x = _resize(x, d, n)
    count = math.prod(x.shape[d] for d in dims)
    return FftC2C.apply(x, tuple(dims), inverse, _scale(norm, count, inverse))


def _r2c(op, input, s, dim, norm, inverse=False):
    x = _float_input(input, False, op)
    dims, sizes = _dims_and_sizes(x, s, dim, op)
    if not dims:
        raise RuntimeError(f"{op} must transform at least one axis")
    for d, n in zip(dims, sizes):
        if n is not None:
            x = _resize(x, d, n)
    count = math.prod(x.shape[d] for d in dims)
    return FftR2C.apply(x, tuple(dims), _scale(norm, count, inverse))


def _c2r(op, input, s, dim, norm, inverse=True):
    x = _as_complex(_float_input(input, True, op))
    dims, sizes = _dims_and_sizes(x, s, dim, op)
    if not dims:
        raise RuntimeError(f"{op} must transform at least one axis")
    last = dims[-1]
    n = sizes[-1] if sizes[-1] is not None else 2 * (x.shape[last] - 1)
    if n < 1:
        raise RuntimeError(f"Invalid number of data points ({n}) specified")
    for d, size in zip(dims[:-1], sizes[:-1]):
        if size is not None:
            x = _resize(x, d, size)
    x = _resize(x, last, n // 2 + 1)
    count = math.prod(x.shape[d] for d in dims[:-1]) * n
    return FftC2R.apply(x, tuple(dims), n, _scale(norm, count, inverse))


_SWAP = {None: "forward", "backward": "forward", "forward": "backward", "ortho": "ortho"}


def _swap(norm):
    if norm not in _SWAP:
        raise RuntimeError(f'Invalid normalization mode: "{norm}"')
    return _SWAP[norm]


# --- the public functions (``ember.fft``) -----------------------------------------------------------
def fft(input, n=None, dim=-1, norm=None, *, axis=None):
    """The 1-D discrete Fourier transform of ``input`` along ``dim`` (``n`` crops or zero-pads)."""
    if axis is not None:
        dim = dim_from_axis("fft", dim, axis, -1)
    return _c2c("fft", input, n, dim, norm, False)


def ifft(input, n=None, dim=-1, norm=None, *, axis=None):
    """The 1-D inverse discrete Fourier transform."""
    if axis is not None:
        dim = dim_from_axis("ifft", dim, axis, -1)
    return _c2c("ifft", input, n, dim, norm, True)


def fft2(input, s=None, dim=(-2, -1), norm=None, *, axis=None):
    """The 2-D discrete Fourier transform."""
    if axis is not None:
        dim = dim_from_axis("fft2", dim, axis, (-2, -1))
    return _c2c("fft2", input, s, dim, norm, False)


def ifft2(input, s=None, dim=(-2, -1), norm=None, *, axis=None):
    """The 2-D inverse discrete Fourier transform."""
    if axis is not None:
        dim = dim_from_axis("ifft2", dim, axis, (-2, -1))
    return _c2c("ifft2", input, s, dim, norm, True)


def fftn(input, s=None, dim=None, norm=None, *, axis=None):
    """The N-D discrete Fourier transform (all dims, or the last ``len(s)``, unless ``dim`` is given)."""
    if axis is not None:
        dim = dim_from_axis("fftn", dim, axis)
    return _c2c("fftn", input, s, dim, norm, False)


def ifftn(input, s=None, dim=None, norm=None, *, axis=None):
    """The N-D inverse discrete Fourier transform."""
    if axis is not None:
        dim = dim_from_axis("ifftn", dim, axis)
    return _c2c("ifftn", input, s, dim, norm, True)


def rfft(input, n=None, dim=-1, norm=None, *, axis=None):
    """The 1-D Fourier transform of a real signal: the ``n // 2 + 1`` non-negative frequencies."""
    if axis is not None:
        dim = dim_from_axis("rfft", dim, axis, -1)
    return _r2c("rfft", input, n, dim, norm)


def irfft(input, n=None, dim=-1, norm=None, *, axis=None):
    """The inverse of ``rfft``: a real signal of ``n`` points (default ``2 * (size - 1)``)."""
    if axis is not None:
        dim = dim_from_axis("irfft", dim, axis, -1)
    return _c2r("irfft", input, n, dim, norm)


def rfft2(input, s=None, dim=(-2, -1), norm=None, *, axis=None):
    """The 2-D Fourier transform of a real signal (one-sided on the last dim)."""
    if axis is not None:
        dim = dim_from_axis("rfft2", dim, axis, (-2, -1))
    return _r2c("rfft2", input, s, dim, norm)


def irfft2(input, s=None, dim=(-2, -1), norm=None, *, axis=None):
    """The inverse of ``rfft2``."""
    if axis is not None:
        dim = dim_from_axis("irfft2", dim, axis, (-2, -1))
    return _c2r("irfft2", input, s, dim, norm)


def rfftn(input, s=None, dim=None, norm=None, *, axis=None):
    """The N-D Fourier transform of a real signal (one-sided on the last transformed dim)."""
    if axis is not None:
        dim = dim_from_axis("rfftn", dim, axis)
    return _r2c("rfftn", input, s, dim, norm)


def irfftn(input, s=None, dim=None, norm=None, *, axis=None):
    """The inverse of ``rfftn``."""
    if axis is not None:
        dim = dim_from_axis("irfftn", dim, axis)
    return _c2r("irfftn", input, s, dim, norm)


def _hermitian(op, input, s, dim, norm):
    """hfft's family: the real transform of a Hermitian signal given by its first half is ``irfftn`` of the
    conjugate with the norm reversed (numpy's and torch's definition)."""
    from .complex_ops import conj

    x = _as_complex(_float_input(input, True, op))
    return _c2r(op, conj(x), s, dim, _swap(norm), inverse=True)


def _inverse_hermitian(op, input, s, dim, norm):
    from .complex_ops import conj

    return conj(_r2c(op, input, s, dim, _swap(norm), inverse=False))


def hfft(input, n=None, dim=-1, norm=None, *, axis=None):
    """The Fourier transform of a Hermitian-symmetric signal given by its first half: a real spectrum."""
    if axis is not None:
        dim = dim_from_axis("hfft", dim, axis, -1)
    return _hermitian("hfft", input, n, dim, norm)


def ihfft(input, n=None, dim=-1, norm=None, *, axis=None):
    """The inverse of ``hfft``: the one-sided spectrum of a real signal, conjugated."""
    if axis is not None:
        dim = dim_from_axis("ihfft", dim, axis, -1)
    return _inverse_hermitian("ihfft", input, n, dim, norm)


def hfft2(input, s=None, dim=(-2, -1), norm=None, *, axis=None):
    """The 2-D ``hfft``."""
    if axis is not None:
        dim = dim_from_axis("hfft2", dim, axis, (-2, -1))
    return _hermitian("hfft2", input, s, dim, norm)


def ihfft2(input, s=None, dim=(-2, -1), norm=None, *, axis=None):
    """The 2-D ``ihfft``."""
    if axis is not None:
        dim = dim_from_axis("ihfft2", dim, axis, (-2, -1))
    return _inverse_hermitian("ihfft2", input, s, dim, norm)


def hfftn(input, s=None, dim=None, norm=None, *, axis=None):
    """The N-D ``hfft`` (one-sided on the last transformed dim)."""
    if axis is not None:
        dim = dim_from_axis("hfftn", dim, axis)
    return _hermitian("hfftn", input, s, dim, norm)


def ihfftn(input, s=None, dim=None, norm=None, *, axis=None):
    """The N-D ``ihfft``."""
    if axis is not None:
        dim = dim_from_axis("ihfftn", dim, axis)
    return _inverse_hermitian("ihfftn", input, s, dim, norm)


def _shift(input, dim, sign: int):
    from .shape import roll

    dims = list(range(input.ndim)) if dim is None else [dim] if isinstance(dim, int) else list(dim)
    dims = [normalize_dim(int(d), input.ndim, "fftshift") for d in dims]
    if not dims:
        return input
    shifts = [(input.shape[d] // 2) if sign > 0 else -(input.shape[d] // 2) for d in dims]
    return roll(input, shifts, dims)


def fftshift(input, dim=None, *, axis=None):
    """Moves the zero frequency to the centre (rolls each dim by ``size // 2``)."""
    if axis is not None:
        dim = dim_from_axis("fftshift", dim, axis)
    return _shift(input, dim, 1)


def ifftshift(input, dim=None, *, axis=None):
    """The inverse of ``fftshift``."""
    if axis is not None:
        dim = dim_from_axis("ifftshift", dim, axis)
    return _shift(input, dim, -1)


def _frequencies(values: np.ndarray, dtype, requires_grad: bool) -> Tensor:
    np_dtype = _dtype.to_numpy_dtype(dtype) if dtype is not None else _dtype.get_default_dtype().numpy
    out = Tensor._wrap(values.astype(np_dtype))
    return out.requires_grad_() if requires_grad else out


def fftfreq(n, d=1.0, *, dtype=None, layout=None, device=None, requires_grad=False):
    """The sample frequencies of an ``n``-point ``fft`` with sample spacing ``d``."""
    return _frequencies(np.fft.fftfreq(int(n), d), dtype, requires_grad)


def rfftfreq(n, d=1.0, *, dtype=None, layout=None, device=None, requires_grad=False):
    """The sample frequencies of an ``n``-point ``rfft`` (the non-negative ones)."""
    return _frequencies(np.fft.rfftfreq(int(n), d), dtype, requires_grad)
