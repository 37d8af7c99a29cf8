"""torch's remaining top-level functions that belong to no op family: the in-place functions
(``ember.exp_(x)`` is ``x.exp_()``), ``detach`` / ``fill``, window functions, ``binomial`` / ``poisson``
sampling, ``can_cast``, ``as_strided`` and ``set_anomaly_enabled``."""

from __future__ import annotations

import math

import numpy as np

from . import creation
from ._dtype import dtype as _dtype_class
from ._dtype import get_default_dtype, to_numpy_dtype
from .autograd.anomaly import set_detect_anomaly
from .ops import where
from .ops._op import Op, _not_implemented_for
from .ops._util import normalize_dims
from .random import _generator
from .tensor import Tensor

# torch's top-level in-place functions that are exactly ``input.<name>(...)``
INPLACE_FUNCTIONS = """
abs_ acos_ acosh_ arccos_ arccosh_ arcsin_ arcsinh_ arctan_ arctanh_ asin_ asinh_ atan_ atanh_ ceil_
clamp_ clamp_max_ clamp_min_ clip_ conj_physical_ cos_ cosh_ deg2rad_ detach_ erf_ erfc_ exp2_ exp_ expm1_
fill_ fix_ floor_ frac_ gcd_ i0_ index_put_ lcm_ ldexp_ log10_ log1p_ log2_ log_ logit_ nan_to_num_ neg_
negative_ rad2deg_ reciprocal_ relu_ resize_as_ as_strided_ round_ rsqrt_ sigmoid_ sin_ sinc_ sinh_ sqrt_ square_ tan_ tanh_ trunc_
xlogy_ zero_
""".split()


def _method_as_function(name: str):
    def function(input, *args, **kwargs):
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
        return getattr(input, name)(*args, **kwargs)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"``input.{name}(...)``: the in-place method as a function, as ``torch.{name}``."
    return function


globals().update({name: _method_as_function(name) for name in INPLACE_FUNCTIONS})

__all__ = [
    "as_strided", "bartlett_window", "binomial", "blackman_window", "can_cast", "detach",
    "fill", "hamming_window", "hann_window", "hash_tensor", "is_neg", "kaiser_window", "poisson", "set_anomaly_enabled",
]
__all__.extend(INPLACE_FUNCTIONS)


def detach(input: Tensor) -> Tensor:
    """``input.detach()``: a tensor sharing ``input``'s memory, cut from the graph."""
    return input.detach()


def fill(input: Tensor, value) -> Tensor:
    """A new tensor of ``input``'s shape and dtype filled with ``value`` (a number or a 0-d tensor).

    The gradient reaches ``value`` (summed) and is zero for ``input``, as in torch.
    """
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(f"fill only supports 0-dimension value tensor but got tensor with "
                               f"{value.ndim} dimensions.")
        value = value.to(input.dtype)
    else:
        value = Tensor._wrap(np.asarray(value, dtype=input._data.dtype))
    return where(Tensor._wrap(np.ones((), bool)), value.expand(input.shape), input)


def is_neg(input: Tensor) -> bool:
    """Whether ``input`` is a lazily negated view: never in Ember, which negates eagerly."""
    return False


def hash_tensor(input: Tensor, dim=(), *, keepdim: bool = False, mode: int = 0) -> Tensor:
    """A ``uint64`` hash of the elements (over ``dim``, default all): each is widened to 64-bit float or
    integer, its bits read as ``uint64``, and the lot reduced by xor (``mode`` 0, the only one)."""
    if mode != 0:
        raise RuntimeError(f"hash_tensor: only mode=0 (xor reduction) is supported, got mode={mode}")
    data = input._data
    if data.dtype.kind == "c":
        raise _not_implemented_for("xor_sum_cpu", input)
    dims = () if dim is None else (dim,) if isinstance(dim, int) else tuple(dim)
    if not dims and data.size == 0:
        raise RuntimeError("hash_tensor: Expected reduction dim to be specified for input.numel() == 0. "
                           "Specify the reduction dim with the 'dim' argument.")
    axes = tuple(normalize_dims(dims, data.ndim)) if dims else None
    bits = data.astype(np.float64 if data.dtype.kind == "f" else np.int64).view(np.uint64)
    return Tensor._wrap(np.asarray(np.bitwise_xor.reduce(bits, axis=axes, keepdims=keepdim), np.uint64))


def set_anomaly_enabled(mode: bool, check_nan: bool = True) -> None:
    """Turns anomaly detection on or off, as ``torch.set_anomaly_enabled`` (``autograd.set_detect_anomaly``)."""
    set_detect_anomaly(mode, check_nan)


def can_cast(from_: _dtype_class, to: _dtype_class) -> bool:
    """Whether PyTorch's casting rules allow ``from_`` -> ``to`` in type promotion: never complex to real,
    floating to integral, or anything but bool to bool."""
    if from_.is_complex and not to.is_complex:
        return False
    if from_.is_floating_point and not (to.is_floating_point or to.is_complex):
        return False
    return not (to.numpy.kind == "b" and from_.numpy.kind != "b")


# --- windows ---------------------------------------------------------------------------------------------------


def _window(name: str, length: int, periodic: bool, values, dtype, device, requires_grad: bool) -> Tensor:
    """``values(n, N)`` (float64 arrays: position, symmetric length) sampled as torch samples windows."""
    dtype = get_default_dtype() if dtype is None else dtype
    if to_numpy_dtype(dtype).kind != "f":
        raise RuntimeError(f"{name} expects floating point dtypes, got: {dtype}")
    if length < 0:
        raise RuntimeError(f"{name} requires non-negative window_length, got window_length={length}")
    if length <= 1:
        array = np.ones(length)
    else:
        symmetric = length + 1 if periodic else length  # a periodic window is the symmetric one, one longer
        array = values(np.arange(length, dtype=np.float64), symmetric)
    return creation.tensor(array, dtype=dtype, device=device, requires_grad=requires_grad)


def _cosine_window(name: str, length: int, periodic: bool, alpha: float, beta: float, dtype, device,
                   requires_grad: bool) -> Tensor:
    def values(n, size):
        return alpha - beta * np.cos(2 * math.pi * n / (size - 1))

    return _window(name, length, periodic, values, dtype, device, requires_grad)


def hann_window(window_length: int, periodic: bool = True, *, dtype=None, layout=None, device=None,
                pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """The Hann window ``0.5 - 0.5 cos(2 pi n / (N - 1))``; ``periodic`` drops the last point of N + 1.

    Example:
        >>> import ember
        >>> w = ember.hann_window(400)  # the usual analysis window of a 25 ms frame at 16 kHz
        >>> w.shape, w.dtype
        (ember.Size([400]), ember.float32)
    """
    return _cosine_window("hann_window", window_length, periodic, 0.5, 0.5, dtype, device, requires_grad)


def hamming_window(window_length: int, periodic: bool = True, alpha: float = 0.54, beta: float = 0.46, *,
                   dtype=None, layout=None, device=None, pin_memory: bool = False,
                   requires_grad: bool = False) -> Tensor:
    """The Hamming window ``alpha - beta cos(2 pi n / (N - 1))``."""
    return _cosine_window("hamming_window", window_length, periodic, alpha, beta, dtype, device, requires_grad)


def blackman_window(window_length: int, periodic: bool = True, *, dtype=None, layout=None, device=None,
                    pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """The Blackman window ``0.42 - 0.5 cos(2 pi n / (N - 1)) + 0.08 cos(4 pi n / (N - 1))``."""
    def values(n, size):
        angle = 2 * math.pi * n / (size - 1)
        return 0.42 - 0.5 * np.cos(angle) + 0.08 * np.cos(2 * angle)

    return _window("blackman_window", window_length, periodic, values, dtype, device, requires_grad)


def bartlett_window(window_length: int, periodic: bool = True, *, dtype=None, layout=None, device=None,
                    pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """The Bartlett (triangular) window ``1 - |2n / (N - 1) - 1|``."""
    def values(n, size):
        return 1 - np.abs(2 * n / (size - 1) - 1)

    return _window("bartlett_window", window_length, periodic, values, dtype, device, requires_grad)


def kaiser_window(window_length: int, periodic: bool = True, beta: float = 12.0, *, dtype=None, layout=None,
                  device=None, pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """The Kaiser window ``I0(beta sqrt(1 - (2n / (N - 1) - 1)^2)) / I0(beta)``."""
    def values(n, size):
        ratio = 2 * n / (size - 1) - 1
        return np.i0(beta * np.sqrt(np.clip(1 - ratio**2, 0, None))) / np.i0(beta)

    return _window("kaiser_window", window_length, periodic, values, dtype, device, requires_grad)


# --- sampling ---------------------------------------------------------------------------------------------------


def binomial(count: Tensor, prob: Tensor, generator=None) -> Tensor:
    """Samples of Binomial(``count``, ``prob``) elementwise (broadcast), in ``count``'s dtype."""
    if count.dtype != prob.dtype:
        raise RuntimeError(f"binomial: count and prob must have the same dtype, got {count.dtype} and "
                           f"{prob.dtype}")
    rng = _generator(generator)
    values = rng.binomial(count._data.astype(np.int64), np.clip(prob._data, 0, 1))
    return Tensor._wrap(np.asarray(values).astype(count._data.dtype))


def poisson(input: Tensor, generator=None) -> Tensor:
    """Samples of Poisson(``input``) elementwise (``input`` holds the rates), in ``input``'s dtype."""
    if np.any(input._data < 0):
        raise RuntimeError("poisson: invalid Poisson rate, expected rate to be non-negative")
    values = _generator(generator).poisson(input._data)
    return Tensor._wrap(np.asarray(values).astype(input._data.dtype))


# --- as_strided -------------------------------------------------------------------------------------------------


def _storage(array: np.ndarray) -> np.ndarray:
    """The 1-d array of the memory ``array`` views (torch's storage): the numpy array owning it, flattened
    in memory order. An array whose owner is not a plain contiguous array is its own storage (a copy)."""
    root = array
    while isinstance(root.base, np.ndarray):
        root = root.base
    if root.flags.c_contiguous or root.flags.f_contiguous:
        return root.reshape(-1, order="A")
    return np.ascontiguousarray(array).reshape(-1)


def _offsets(array: np.ndarray, storage: np.ndarray) -> np.ndarray:
    """Each element's index in ``storage``."""
    item = array.itemsize
    start = (array.__array_interface__["data"][0] - storage.__array_interface__["data"][0]) // item
    grids = np.indices(array.shape, sparse=True)
    return start + sum((g * (s // item) for g, s in zip(grids, array.strides)), np.zeros(array.shape, np.int64))


class AsStrided(Op):
    @staticmethod
    def forward(ctx, a, size, stride, storage_offset):
        data = a._data
        storage = _storage(data)
        if not np.shares_memory(storage, data):  # not a view of an array we can reach: use a's own copy
            data = storage.reshape(data.shape)
        input_positions = _offsets(data, storage)
        if storage_offset is None:  # where the tensor's first element lies in its storage
            storage_offset = int(input_positions.flat[0]) if data.size else 0
        item = data.itemsize
        needed = 0 if 0 in size else storage_offset + sum((n - 1) * s for n, s in zip(size, stride)) + 1
        if needed > storage.size:
            raise RuntimeError(
                f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset {storage_offset}, and "
                f"itemsize {item} requiring a storage size of {needed * item} are out of bounds for storage "
                f"of size {storage.size * item}")
        out = np.lib.stride_tricks.as_strided(storage[storage_offset:], size, [s * item for s in stride])
        ctx.storage_size, ctx.input_shape = storage.size, data.shape
        ctx.input_positions, ctx.output_positions = input_positions, _offsets(out, storage)
        return out

    @staticmethod
    def backward(ctx, grad):
        # each storage element gets the sum of the gradients of the output elements on it; each input
        # element reads its storage element's gradient
        storage = Tensor._wrap(np.zeros(ctx.storage_size, grad._data.dtype))
        positions = Tensor._wrap(ctx.output_positions.reshape(-1))
        storage = storage.index_add(0, positions, grad.reshape(-1))
        return storage[Tensor._wrap(ctx.input_positions.reshape(-1))].reshape(ctx.input_shape), None, None, None


def as_strided(input: Tensor, size, stride, storage_offset: int | None = None) -> Tensor:
    """A view of ``input``'s storage with the given ``size``, ``stride`` (in elements) and ``storage_offset``
    (default: ``input``'s own), as ``torch.as_strided``; elements may overlap.

    Example:
        >>> import ember
        >>> ember.as_strided(ember.arange(4.0), (3, 2), (1, 1)).tolist()
        [[0.0, 1.0], [1.0, 2.0], [2.0, 3.0]]
    """
    size, stride = tuple(int(n) for n in size), tuple(int(s) for s in stride)
    if len(size) != len(stride):
        raise RuntimeError(f"mismatch in length of strides and shape: size {list(size)}, stride {list(stride)}")
    if any(s < 0 for s in stride):
        raise RuntimeError(f"as_strided: Negative strides are not supported at the moment, got strides: "
                           f"{list(stride)}")
    out = AsStrided.apply(input, size, stride, storage_offset)
    # (a plain array only: under vmap, reading a batched array's memory would run the function per sample)
    if type(out._data) is np.ndarray and np.shares_memory(out._data, input._data):
        out._vc = input._vc
        out._base = input if input._base is None else input._base
    return out



def conjugate_transpose(input):
    """``Tensor.H``: the conjugate transpose of a 2-d tensor (a 0-d tensor is its own)."""
    if input.ndim not in (0, 2):
        hint = " For batches of matrices, consider using tensor.mH" if input.ndim > 2 else ""
        raise RuntimeError(f"tensor.H is only supported on matrices (2-D tensors). Got {input.ndim}-D tensor.{hint}")
    return input.conj() if input.ndim == 0 else input.transpose(0, 1).conj()
