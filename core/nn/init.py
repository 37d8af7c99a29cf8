"""``ember.nn.init``: in-place weight initialisers with PyTorch's names, formulas and defaults.

Every function fills ``tensor`` in place (without recording gradients), returns it, and
draws from ``generator`` (an ``ember.Generator``) or from Ember's default generator.

Example:
    >>> import ember
    >>> w = ember.empty(256, 128)
    >>> _ = ember.nn.init.kaiming_uniform_(w, a=5 ** 0.5)
    >>> bool(w.abs().max() <= 1 / 128 ** 0.5)
    True
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ..random import _generator
from ..tensor import Tensor

__all__ = [
    "calculate_gain",
    "uniform_",
    "normal_",
    "trunc_normal_",
    "constant_",
    "ones_",
    "zeros_",
    "eye_",
    "dirac_",
    "xavier_uniform_",
    "xavier_normal_",
    "kaiming_uniform_",
    "kaiming_normal_",
    "orthogonal_",
    "sparse_",
]


def _skips_meta(init):
    """A meta tensor has no values to initialise: ``init`` returns it untouched (and draws nothing), so
    ``with ember.device("meta"): Model()`` builds without memory."""

    @functools.wraps(init)
    def wrapper(tensor, *args, **kwargs):
        if isinstance(tensor, Tensor) and tensor.is_meta:
            return tensor
        return init(tensor, *args, **kwargs)

    return wrapper


def _fill(tensor: Tensor, values) -> Tensor:
    """Writes ``values`` into the tensor's own array (keeping its dtype) and bumps its version."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"expected an ember.Tensor to initialise, got {type(tensor).__name__}")
    np.copyto(tensor._data, values, casting="unsafe")
    tensor._vc[0] += 1
    return tensor


_DRAW_CHUNK = 1 << 16  # values drawn at a time: float64 temporaries of 512 KiB, not of the whole tensor


def _fill_drawn(tensor: Tensor, draw, scale: float = 1.0, shift: float = 0.0) -> Tensor:
    """Fills the tensor with ``shift + scale * draw(n)``, drawn a chunk at a time.

    The generator's stream is consumed in order, so the values are those of one draw of the whole shape, bit
    for bit, without the whole-tensor float64 temporaries (1.6 GB for VGG's first classifier layer)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"expected an ember.Tensor to initialise, got {type(tensor).__name__}")
    data = tensor._data
    flat = data.reshape(-1) if data.flags.c_contiguous else np.empty(data.size)
    for start in range(0, flat.size, _DRAW_CHUNK):
        values = draw(min(_DRAW_CHUNK, flat.size - start))
        if scale != 1.0:
            values *= scale
        if shift != 0.0:
            values += shift
        flat[start:start + values.size] = values
    if not data.flags.c_contiguous:
        np.copyto(data, flat.reshape(data.shape), casting="unsafe")
    tensor._vc[0] += 1
    return tensor


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity (PyTorch's table).

    Example:
        >>> round(calculate_gain("relu"), 4), round(calculate_gain("leaky_relu", 0.2), 4)
        (1.4142, 1.3868)
    """
    linear_fns = [
        "linear",
        "conv1d",
        "conv2d",
        "conv3d",
        "conv_transpose1d",
        "conv_transpose2d",
        "conv_transpose3d",
    ]
    if nonlinearity in linear_fns or nonlinearity == "sigmoid":
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            negative_slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, (int, float)):
            negative_slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + negative_slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    if tensor.ndim < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions")
    receptive_field = int(np.prod(tensor.shape[2:])) if tensor.ndim > 2 else 1
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


@_skips_meta
def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator=None) -> Tensor:
    """Fills ``tensor`` with draws from U(a, b)."""
    rng = _generator(generator)
    return _fill_drawn(tensor, lambda n: rng.uniform(a, b, n))


@_skips_meta
def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator=None) -> Tensor:
    """Fills ``tensor`` with draws from N(mean, std²)."""
    return _fill_drawn(tensor, _generator(generator).standard_normal, std, mean)


@_skips_meta
def trunc_normal_(
    tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0, generator=None
) -> Tensor:
    """Fills ``tensor`` with N(mean, std²) draws truncated to [a, b] (``a``, ``b`` are absolute bounds).

    Draws outside [a, b] are redrawn (rejection sampling gives exactly the truncated distribution).
    """
    if a >= b:
        raise ValueError(f"trunc_normal_: expected a < b, got a={a}, b={b}")
    rng = _generator(generator)
    values = mean + std * rng.standard_normal(tensor.shape)
    bad = (values < a) | (values > b)
    for _ in range(100):
        n = int(bad.sum())
        if n == 0:
            break
        values[bad] = mean + std * rng.standard_normal(n)
        bad = (values < a) | (values > b)
    if bad.any():  # [a, b] far in a tail: settle the rest uniformly inside the bounds
        values[bad] = rng.uniform(a, b, int(bad.sum()))
    return _fill(tensor, values)


@_skips_meta
def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fills ``tensor`` with ``val``."""
    return _fill(tensor, val)


@_skips_meta
def ones_(tensor: Tensor) -> Tensor:
    return _fill(tensor, 1)


@_skips_meta
def zeros_(tensor: Tensor) -> Tensor:
    return _fill(tensor, 0)


@_skips_meta
def eye_(tensor: Tensor) -> Tensor:
    """Fills a 2-D ``tensor`` with the identity matrix (ones on the diagonal)."""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return _fill(tensor, np.eye(*tensor.shape))


@_skips_meta
def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """Fills a 3-, 4- or 5-D conv weight with the Dirac delta (an identity convolution)."""
    if tensor.ndim not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    sizes = tensor.shape
    if sizes[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    out_per_group = sizes[0] // groups
    min_dim = min(out_per_group, sizes[1])
    values = np.zeros(sizes)
    centre = tuple(s // 2 for s in sizes[2:])
    for g in range(groups):
        for d in range(min_dim):
            values[(g * out_per_group + d, d) + centre] = 1
    return _fill(tensor, values)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """Glorot & Bengio (2010): U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    a = gain * math.sqrt(6.0 / float(fan_in + fan_out))
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """Glorot & Bengio (2010): N(0, std²) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def kaiming_uniform_(
    tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", generator=None
) -> Tensor:
    """He et al. (2015): U(-bound, bound) with bound = gain * sqrt(3 / fan).

    Example:
        >>> import ember
        >>> w = kaiming_uniform_(ember.empty(64, 32), nonlinearity="relu")
        >>> bool(w.abs().max() <= (6 / 32) ** 0.5)
        True
    """
    if 0 in tensor.shape:
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    bound = math.sqrt(3.0) * calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(
    tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", generator=None
) -> Tensor:
    """He et al. (2015): N(0, std²) with std = gain / sqrt(fan)."""
    if 0 in tensor.shape:
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return normal_(tensor, 0.0, std, generator)


@_skips_meta
def orthogonal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """Saxe et al. (2013): a (semi-)orthogonal matrix from the QR decomposition of a normal draw."""
    if tensor.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = _generator(generator).standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))  # makes the decomposition unique (uniform over orthogonal matrices)
    if rows < cols:
        q = q.T
    return _fill(tensor, gain * q.reshape(tensor.shape))


@_skips_meta
def sparse_(tensor: Tensor, sparsity: float, std: float = 0.01, generator=None) -> Tensor:
    """Martens (2010): each column gets ``ceil(sparsity * rows)`` zeros, the rest N(0, std²)."""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows, cols = tensor.shape
    rng = _generator(generator)
    values = std * rng.standard_normal((rows, cols))
    num_zeros = int(math.ceil(sparsity * rows))
    for col in range(cols):
        values[rng.permutation(rows)[:num_zeros], col] = 0
    return _fill(tensor, values)
