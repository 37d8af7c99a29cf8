"""Activation functions: PyTorch's functional signatures (``inplace=``, ``dim=None``) over the ops.

Every activation op lives in ``ember.ops.activation`` (``ember.ops.softmax`` for softmax and
log-softmax); ``gelu sigmoid softplus tanh`` are re-exported from there, the others delegate to it,
and those PyTorch has only here (``mish``, ``hardswish``, ``glu`` ...) are compositions of ops.
"""

from __future__ import annotations

import warnings

import numpy as np

from ...ops._util import default_float
from ...ops.activation import Elu, Hardtanh, gelu, sigmoid, softplus, tanh
from ...ops.activation import elu as _elu
from ...ops.activation import leaky_relu as _leaky_relu
from ...ops.activation import relu as _relu
from ...ops.activation import silu as _silu
from ...autograd.grad_mode import no_grad
from ...ops.arithmetic import where
from ...ops.inplace import apply_inplace
from ...ops.softmax import log_softmax as _log_softmax
from ...ops.softmax import softmax as _softmax
from ...random import default_generator
from ...tensor import Tensor
from .dropout import MaskMul

__all__ = [
    "celu",
    "celu_",
    "elu",
    "elu_",
    "gelu",
    "glu",
    "gumbel_softmax",
    "hardshrink",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "hardtanh_",
    "leaky_relu",
    "leaky_relu_",
    "log_softmax",
    "logsigmoid",
    "mish",
    "prelu",
    "relu",
    "relu6",
    "relu_",
    "rrelu",
    "rrelu_",
    "selu",
    "selu_",
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
    "threshold_",
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
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _inplace(lambda x: Hardtanh.apply(default_float(x), min_val, max_val), input, inplace)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """``min(max(0, x), 6)``."""
    return hardtanh(input, 0.0, 6.0, inplace)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """``scale * elu(x, alpha)`` with SELU's fixed constants."""
    return _inplace(lambda x: Elu.apply(default_float(x), _SELU_ALPHA, _SELU_SCALE, 1.0), input, inplace)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``."""
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
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


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place ``elu``."""
    return elu(input, alpha, inplace=True)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place ``celu``."""
    return celu(input, alpha, inplace=True)


def selu_(input: Tensor) -> Tensor:
    """In-place ``selu``."""
    return selu(input, inplace=True)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """In-place ``hardtanh``."""
    return hardtanh(input, min_val, max_val, inplace=True)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    """In-place ``threshold``."""
    return _inplace(lambda x: where(x > threshold, x, value), input, True)


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False) -> Tensor:
    """Randomized leaky ReLU (Xu et al., 2015): ``x`` for ``x > 0``, ``a * x`` otherwise.

    In training each element draws its own slope ``a ~ U(lower, upper)`` from Ember's default generator
    (``ember.manual_seed`` repeats it) and the gradient of a non-positive element is that slope; in
    evaluation ``a`` is the mean slope ``(lower + upper) / 2`` (a leaky ReLU).

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.rrelu(ember.tensor([-3.0, 2.0]), 0.1, 0.3)
        tensor([-0.6000,  2.0000])
    """
    if lower > upper:
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")
    if input._data.dtype.kind != "f":
        raise NotImplementedError(f"rrelu: not implemented for {input.dtype} input (use a floating point one)")
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    data = input._data
    noise = default_generator.np.uniform(lower, upper, data.shape).astype(data.dtype)
    slope = np.where(data > 0, data.dtype.type(1), noise)  # torch's rule: x <= 0 takes the drawn slope
    return _inplace(lambda x: MaskMul.apply(x, slope), input, inplace)


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False) -> Tensor:
    """In-place ``rrelu``."""
    return rrelu(input, lower, upper, training, inplace=True)


def gumbel_softmax(logits: Tensor, tau: float = 1, hard: bool = False, eps: float = 1e-10, dim: int = -1) -> Tensor:
    """A sample of the Gumbel-softmax (concrete) distribution: ``softmax((logits + g) / tau)`` with ``g`` i.i.d.
    Gumbel(0, 1) noise from Ember's default generator (Jang et al., 2016; Maddison et al., 2016).

    ``hard=True`` returns the one-hot of the sample's argmax in the forward pass with the soft sample's
    gradient (straight-through: ``y_hard - y_soft.detach() + y_soft``). ``eps`` is deprecated and unused,
    as in PyTorch.

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> y = F.gumbel_softmax(ember.randn(2, 5), tau=0.5, hard=True)
        >>> y.sum(-1).tolist()
        [1.0, 1.0]
    """
    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", stacklevel=2)
    data = logits._data
    if data.dtype.kind != "f":
        raise RuntimeError("Exponential distribution is a continuous probability distribution. dtype must be a "
                           f"floating point but you specified {logits.dtype}")
    gumbels = -np.log(default_generator.np.standard_exponential(data.shape).astype(data.dtype))
    y_soft = softmax((logits + Tensor._wrap(gumbels)) / tau, dim)
    if not hard:
        return y_soft
    with no_grad():
        index = y_soft.argmax(dim, keepdim=True)
        y_hard = y_soft.new_zeros(y_soft.shape).scatter_(dim, index, 1.0)
    return y_hard - y_soft.detach() + y_soft
