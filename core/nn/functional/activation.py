"""Activation functions: PyTorch's functional signatures (``inplace=``, ``dim=None``) over the ops.

Every activation op lives in ``ember.ops.activation`` (``ember.ops.softmax`` for softmax and
log-softmax); ``gelu sigmoid softplus tanh`` are re-exported from there, the others delegate to it,
and those PyTorch has only here (``mish``, ``hardswish``, ``glu`` ...) are compositions of ops.
"""

from __future__ import annotations

from ...ops._util import default_float
from ...ops.activation import Elu, Hardtanh, gelu, sigmoid, softplus, tanh
from ...ops.activation import elu as _elu
from ...ops.activation import leaky_relu as _leaky_relu
from ...ops.activation import relu as _relu
from ...ops.activation import silu as _silu
from ...ops.arithmetic import where
from ...ops.inplace import apply_inplace
from ...ops.softmax import log_softmax as _log_softmax
from ...ops.softmax import softmax as _softmax
from ...tensor import Tensor

__all__ = [
    "celu",
    "elu",
    "gelu",
    "glu",
    "hardshrink",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "leaky_relu",
    "leaky_relu_",
    "log_softmax",
    "logsigmoid",
    "mish",
    "prelu",
    "relu",
    "relu6",
    "relu_",
    "selu",
    "sigmoid",
    "silu",
    "softmax",
    "softmin",
    "softplus",
    "softshrink",
    "softsign",
    "tanh",
    "tanhshrink",
    "threshold",
]

# SELU's constants (Klambauer et al., 2017), as PyTorch spells them.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """``max(0, x)`` (Ember's core op; ``inplace`` modifies ``input``).

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.relu(ember.tensor([-1.0, 2.0]))
        tensor([0., 2.])
    """
    return input.relu_() if inplace else _relu(input)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``x`` for positive inputs, ``negative_slope * x`` otherwise."""
    return input.leaky_relu_(negative_slope) if inplace else _leaky_relu(input, negative_slope)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` for positive inputs, ``alpha * (exp(x) - 1)`` otherwise."""
    return _inplace(_elu, input, inplace, alpha)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * sigmoid(x)`` (swish)."""
    return _inplace(_silu, input, inplace)


def _inplace(fn, input: Tensor, inplace: bool, *args) -> Tensor:
    """``fn(input, *args)``, written into ``input`` when ``inplace`` (Ember's one in-place mechanism:
    version-counted, and the old value is kept for backward when a graph is being recorded)."""
    if not inplace:
        return fn(input, *args)

    return apply_inplace(input, fn, *args)


def relu_(input: Tensor) -> Tensor:
    """In-place ``relu``."""
    return input.relu_()


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """In-place ``leaky_relu``."""
    return input.leaky_relu_(negative_slope)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """Clamps to ``[min_val, max_val]``.

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.hardtanh(ember.tensor([-2.0, 0.5, 3.0]))
        tensor([-1.0000,  0.5000,  1.0000])
    """
    return _inplace(lambda x: Hardtanh.apply(default_float(x), min_val, max_val), input, inplace)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """``min(max(0, x), 6)``."""
    return hardtanh(input, 0.0, 6.0, inplace)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """``scale * elu(x, alpha)`` with SELU's fixed constants."""
    return _inplace(lambda x: Elu.apply(default_float(x), _SELU_ALPHA, _SELU_SCALE, 1.0), input, inplace)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``."""
    return _inplace(lambda x: Elu.apply(default_float(x), alpha, 1.0, 1.0 / alpha), input, inplace)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * tanh(softplus(x))``."""
    return _inplace(lambda x: x * tanh(softplus(x)), input, inplace)


def softsign(input: Tensor) -> Tensor:
    """``x / (1 + |x|)``."""
    return input / (input.abs() + 1)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """``relu6(x + 3) / 6``."""
    return _inplace(lambda x: Hardtanh.apply(default_float(x) * (1 / 6) + 0.5, 0.0, 1.0), input, inplace)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * relu6(x + 3) / 6``."""
    return _inplace(lambda x: x * hardsigmoid(x), input, inplace)


def logsigmoid(input: Tensor) -> Tensor:
    """``log(sigmoid(x)) = -softplus(-x)``, stable for large ``|x|``."""
    return -softplus(-input)


def tanhshrink(input: Tensor) -> Tensor:
    """``x - tanh(x)``."""
    return input - tanh(input)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """``x`` where ``x > threshold``, else ``value``."""
    return _inplace(lambda x: where(x > threshold, x, value), input, inplace)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, 0 between."""
    return where(input > lambd, input - lambd, where(input < -lambd, input + lambd, 0.0))


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``x`` where ``|x| > lambd``, else 0."""
    return where(input.abs() > lambd, input, 0.0)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """``max(0, x) + weight * min(0, x)`` with one weight per channel (dim 1) or a single one."""
    if weight.numel() != 1 and input.ndim >= 2:
        weight = weight.reshape((-1,) + (1,) * (input.ndim - 2))
    return where(input > 0, input, input * weight)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """Gated linear unit: ``a * sigmoid(b)`` where ``a, b`` are the halves of ``input`` along ``dim``."""
    if input.shape[dim] % 2:
        raise RuntimeError(
            f"glu: halving dimension {dim} of input of shape {tuple(input.shape)} needs an even size"
        )
    a, b = input.chunk(2, dim)
    return a * sigmoid(b)


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim``, computed stably.

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.softmax(ember.tensor([1.0, 1.0]), dim=0)
        tensor([0.5000, 0.5000])
    """
    return _softmax(input, dim, dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """``x - logsumexp(x)`` along ``dim``.

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.log_softmax(ember.tensor([0.0, 0.0]), dim=0).exp()
        tensor([0.5000, 0.5000])
    """
    return _log_softmax(input, dim, dtype)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """``softmax(-x)``."""
    return softmax(-input, dim, dtype=dtype)
