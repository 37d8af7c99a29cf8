"""Normalisation layers: ``BatchNorm1d/2d/3d``, ``InstanceNorm1d/2d/3d``, ``LayerNorm``, ``GroupNorm``,
``RMSNorm``, ``LocalResponseNorm``, ``CrossMapLRN2d``."""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from ... import creation
from ..._dtype import int64
from ...autograd.function import Function, once_differentiable
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .module import Module

__all__ = [
    "BatchNorm1d",
    "BatchNorm2d",
    "BatchNorm3d",
    "CrossMapLRN2d",
    "GroupNorm",
    "InstanceNorm1d",
    "InstanceNorm2d",
    "InstanceNorm3d",
    "LayerNorm",
    "LocalResponseNorm",
    "RMSNorm",
]


class _NormBase(Module):
    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device=None,
        dtype=None,
        *,
        bias: bool = True,
    ):
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = Parameter(creation.empty(num_features, dtype=dtype, device=device))
            if bias:
                self.bias = Parameter(creation.empty(num_features, dtype=dtype, device=device))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", creation.zeros(num_features, dtype=dtype, device=device))
            self.register_buffer("running_var", creation.ones(num_features, dtype=dtype, device=device))
            self.register_buffer("num_batches_tracked", creation.tensor(0, dtype=int64, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            init.zeros_(self.num_batches_tracked)

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def _check_input_dim(self, input) -> None:
        raise NotImplementedError

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}"
        )

    def _load_from_state_dict(
        self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
    ):
        key = prefix + "num_batches_tracked"
        if self.track_running_stats and key not in state_dict and prefix + "running_mean" in state_dict:
            # checkpoints from before num_batches_tracked existed (as PyTorch accepts them)
            state_dict = dict(state_dict)
            state_dict[key] = (
                np.zeros((), np.int64)
                if self.num_batches_tracked is None
                else self.num_batches_tracked._data.copy()
            )
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )


class _BatchNorm(_NormBase):
    def forward(self, input):
        self._check_input_dim(input)
        if self.momentum is None:
            exponential_average_factor = 0.0
        else:
            exponential_average_factor = self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked._data += 1
            self.num_batches_tracked._vc[0] += 1
            if self.momentum is None:  # cumulative moving average (a tensor: a captured graph recomputes it)
                exponential_average_factor = self.num_batches_tracked.double().reciprocal()
        bn_training = self.training or (self.running_mean is None and self.running_var is None)
        use_running = not self.training or self.track_running_stats
        return F.batch_norm(
            input,
            self.running_mean if use_running else None,
            self.running_var if use_running else None,
            self.weight,
            self.bias,
            bn_training,
            exponential_average_factor,
            self.eps,
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalisation over ``(N, C)`` or ``(N, C, L)`` (Ioffe & Szegedy, 2015).

    In training it normalises with the batch's statistics and updates ``running_mean`` /
    ``running_var`` (``momentum``, or a cumulative average when ``momentum=None``; the running
    variance uses the unbiased batch variance); in eval it uses the running statistics.

    Example:
        >>> import ember
        >>> bn = ember.nn.BatchNorm1d(100)
        >>> bn(ember.randn(20, 100)).shape
        ember.Size([20, 100])
    """

    def _check_input_dim(self, input) -> None:
        if input.ndim not in (2, 3):
            raise ValueError(f"expected 2D or 3D input (got {input.ndim}D input)")


class BatchNorm2d(_BatchNorm):
    """Batch normalisation over ``(N, C, H, W)``, per channel.

    Example:
        >>> import ember
        >>> bn = ember.nn.BatchNorm2d(16)
        >>> bn(ember.randn(4, 16, 8, 8)).shape
        ember.Size([4, 16, 8, 8])
    """

    def _check_input_dim(self, input) -> None:
        if input.ndim != 4:
            raise ValueError(f"expected 4D input (got {input.ndim}D input)")


class BatchNorm3d(_BatchNorm):
    """Batch normalisation over ``(N, C, D, H, W)``, per channel (volumes, video clips).

    Example:
        >>> import ember
        >>> bn = ember.nn.BatchNorm3d(4)
        >>> bn(ember.randn(2, 4, 3, 5, 5)).shape
        ember.Size([2, 4, 3, 5, 5])
    """

    def _check_input_dim(self, input) -> None:
        if input.ndim != 5:
            raise ValueError(f"expected 5D input (got {input.ndim}D input)")


class _InstanceNorm(_NormBase):
    _batched_ndim = 3

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float = 0.1,
        affine: bool = False,
        track_running_stats: bool = False,
        device=None,
        dtype=None,
        *,
        bias: bool = True,
    ):
        super().__init__(
            num_features, eps, momentum, affine, track_running_stats, dtype=dtype, device=device, bias=bias
        )

    def forward(self, input):
        if input.ndim not in (self._batched_ndim - 1, self._batched_ndim):
            raise ValueError(
                f"expected {self._batched_ndim - 1}D or {self._batched_ndim}D input (got {input.ndim}D input)"
            )
        feature_dim = input.ndim - (self._batched_ndim - 1)
        if input.shape[feature_dim] != self.num_features:
            if self.affine:
                raise ValueError(
                    f"expected input's size at dim={feature_dim} to match num_features ({self.num_features}), "
                    f"but got: {input.shape[feature_dim]}."
                )
            warnings.warn(
                f"input's size at dim={feature_dim} does not match num_features. You can silence this warning "
                "by not passing in num_features, which is not used because affine=False",
                stacklevel=2,
            )
        unbatched = input.ndim == self._batched_ndim - 1
        if unbatched:
            input = input.unsqueeze(0)
        out = F.instance_norm(
            input,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            self.training or not self.track_running_stats,
            self.momentum if self.momentum is not None else 0.1,
            self.eps,
        )
        return out.squeeze(0) if unbatched else out


class InstanceNorm1d(_InstanceNorm):
    """Instance normalisation over ``(N, C, L)``: each sample and channel normalised on its own.

    Example:
        >>> import ember
        >>> ember.nn.InstanceNorm1d(4)(ember.randn(2, 4, 10)).shape
        ember.Size([2, 4, 10])
    """

    _batched_ndim = 3


class InstanceNorm2d(_InstanceNorm):
    """Instance normalisation over ``(N, C, H, W)``.

    Example:
        >>> import ember
        >>> ember.nn.InstanceNorm2d(3, affine=True)(ember.randn(2, 3, 5, 5)).shape
        ember.Size([2, 3, 5, 5])
    """

    _batched_ndim = 4


class InstanceNorm3d(_InstanceNorm):
    """Instance normalisation over ``(N, C, D, H, W)`` (or unbatched ``(C, D, H, W)``).

    Example:
        >>> import ember
        >>> ember.nn.InstanceNorm3d(3)(ember.randn(2, 3, 4, 5, 5)).shape
        ember.Size([2, 3, 4, 5, 5])
    """

    _batched_ndim = 5


def _shape_tuple(normalized_shape) -> tuple:
    if isinstance(normalized_shape, numbers.Integral):
        return (int(normalized_shape),)
    return tuple(normalized_shape)


class LayerNorm(Module):
    """Layer normalisation over the last ``len(normalized_shape)`` dimensions (Ba et al., 2016).

    Example:
        >>> import ember
        >>> ln = ember.nn.LayerNorm(10)
        >>> ln(ember.randn(20, 5, 10)).shape
        ember.Size([20, 5, 10])
    """

    def __init__(
        self,
        normalized_shape,
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device=None,
        dtype=None,
    ):
        super().__init__()
        self.normalized_shape = _shape_tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(creation.ones(*self.normalized_shape, dtype=dtype, device=device))
            if bias:
                self.bias = Parameter(creation.zeros(*self.normalized_shape, dtype=dtype, device=device))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self) -> None:
        if self.elementwise_affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
            f"bias={self.bias is not None}"
        )


class GroupNorm(Module):
    """Group normalisation: channels split into ``num_groups`` groups, each normalised (Wu & He, 2018).

    Example:
        >>> import ember
        >>> ember.nn.GroupNorm(3, 6)(ember.randn(20, 6, 10, 10)).shape
        ember.Size([20, 6, 10, 10])
    """

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        device=None,
        dtype=None,
        *,
        bias: bool = True,
    ):
        super().__init__()
        if num_channels % num_groups != 0:
            raise ValueError(f"num_channels ({num_channels}) must be divisible by num_groups ({num_groups})")
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        if affine:
            self.weight = Parameter(creation.ones(num_channels, dtype=dtype, device=device))
            if bias:
                self.bias = Parameter(creation.zeros(num_channels, dtype=dtype, device=device))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self) -> None:
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def forward(self, input):
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
            f"bias={self.bias is not None}"
        )


class RMSNorm(Module):
    """Root-mean-square normalisation over the last dimensions (Zhang & Sennrich, 2019).

    ``eps=None`` uses the dtype's machine epsilon, as PyTorch does.

    Example:
        >>> import ember
        >>> ember.nn.RMSNorm([2, 3])(ember.randn(2, 2, 3)).shape
        ember.Size([2, 2, 3])
    """

    def __init__(
        self,
        normalized_shape,
        eps: float | None = None,
        elementwise_affine: bool = True,
        device=None,
        dtype=None,
    ):
        super().__init__()
        self.normalized_shape = _shape_tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(creation.ones(*self.normalized_shape, dtype=dtype, device=device))
        else:
            self.register_parameter("weight", None)

    def reset_parameters(self) -> None:
        if self.elementwise_affine:
            init.ones_(self.weight)

    def forward(self, input):
        return F.rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class LocalResponseNorm(Module):
    """Normalises each position over ``size`` neighbouring channels (Krizhevsky et al., 2012)."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input):
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class CrossMapLRN2d(Module):
    """torch.nn.CrossMapLRN2d: Lua Torch's local response normalisation across the channels of a 4-D input,
    ``x / (k + alpha / size * sum of x^2 over the neighbouring channels) ** beta``.

    Its numbers are torch's, quirks included (old ports of Lua Torch models rely on them): the sum runs over the
    ``(size - 1) // 2`` channels on each side, and channel 0 stays in it once the window has moved past it (torch's
    loop kept a 1-based bound); the gradient is torch's formula, whose window sits one channel lower, so it is not
    the exact derivative of the forward (``torch.autograd.gradcheck`` fails on torch's too). ``LocalResponseNorm``
    is the exact, symmetric layer. Once differentiable, as torch's.

    Example:
        >>> import ember
        >>> lrn = ember.nn.CrossMapLRN2d(5, alpha=1e-4, beta=0.75, k=1.0)
        >>> lrn(ember.ones(1, 8, 2, 2)).shape
        ember.Size([1, 8, 2, 2])
    """

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input):
        return _CrossMapLRN2dFunction.apply(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


def _channel_window_sums(values: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """``values[:, low[c]:high[c]].sum(1)`` for every channel ``c``, through prefix sums over the channels."""
    prefix = np.concatenate([np.zeros_like(values[:, :1]), np.cumsum(values, axis=1)], axis=1)
    return prefix[:, high] - prefix[:, low]


class _CrossMapLRN2dFunction(Function):
    @staticmethod
    def forward(ctx, input, size, alpha, beta, k):
        if input.ndim != 4:
            raise ValueError(f"CrossMapLRN2d: Expected input to be 4D, got {input.ndim}D instead.")
        x = input.detach().numpy()
        channel, half = np.arange(x.shape[1]), (size - 1) // 2
        low, high = np.maximum(channel - half, 0), np.minimum(channel + half + 1, x.shape[1])
        squares = x * x
        window = _channel_window_sums(squares, low, high) + (low > 0)[:, None, None] * squares[:, :1]
        scale = k + alpha / size * window
        output = x * scale ** -beta
        ctx.save_for_backward(input)
        ctx.arrays, ctx.options = (scale, output), (size, alpha, beta)
        return creation.from_numpy(output)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output):
        (input,) = ctx.saved_tensors
        (scale, output), (size, alpha, beta) = ctx.arrays, ctx.options
        x, g = input.detach().numpy(), grad_output.detach().numpy()
        # torch's accumulation: for channel c the ratios g * output / scale of channels c - shift ... c + size - 1 - shift
        channel, shift = np.arange(x.shape[1]), int(size - (size - 1) / 2)
        low, high = np.maximum(channel - shift, 0), np.minimum(channel + size - shift, x.shape[1])
        accumulated = _channel_window_sums(g * output / scale, low, np.maximum(high, low))
        grad = scale ** -beta * g - 2 * alpha * beta / size * x * accumulated
        return creation.from_numpy(grad.astype(x.dtype, copy=False)), None, None, None, None
