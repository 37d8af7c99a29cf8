"""Building blocks from ``torchvision.ops.misc`` and friends: conv-norm-activation, MLP,
squeeze-excitation, frozen batch norm, permute, stochastic depth and DropBlock."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import ember
from ember import Tensor, nn

__all__ = [
    "MLP",
    "Conv2dNormActivation",
    "Conv3dNormActivation",
    "DropBlock2d",
    "DropBlock3d",
    "FrozenBatchNorm2d",
    "Permute",
    "SqueezeExcitation",
    "StochasticDepth",
    "drop_block2d",
    "drop_block3d",
    "stochastic_depth",
]


class FrozenBatchNorm2d(nn.Module):
    """BatchNorm2d whose statistics and affine parameters are fixed buffers (for fine-tuning detectors).

    Example:
        >>> FrozenBatchNorm2d(3)(ember.ones(1, 3, 2, 2)).shape
        ember.Size([1, 3, 2, 2])
    """

    def __init__(self, num_features: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.register_buffer("weight", ember.ones(num_features))
        self.register_buffer("bias", ember.zeros(num_features))
        self.register_buffer("running_mean", ember.zeros(num_features))
        self.register_buffer("running_var", ember.ones(num_features))

    def load_state_dict(self, state_dict, strict: bool = True, *args, **kwargs):
        # a BatchNorm2d checkpoint carries num_batches_tracked, which a frozen norm has no use for
        state_dict = {k: v for k, v in state_dict.items() if not k.endswith("num_batches_tracked")}
        return super().load_state_dict(state_dict, strict, *args, **kwargs)

    def forward(self, x: Tensor) -> Tensor:
        scale = self.weight.reshape(1, -1, 1, 1) * (self.running_var.reshape(1, -1, 1, 1) + self.eps).rsqrt()
        bias = self.bias.reshape(1, -1, 1, 1) - self.running_mean.reshape(1, -1, 1, 1) * scale
        return x * scale + bias

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.weight.shape[0]}, eps={self.eps})"


class _ConvNormActivation(nn.Sequential):
    """A convolution (``conv_layer``), then an optional norm layer, then an optional activation.

    ``padding=None`` keeps the spatial size at stride 1 (``(kernel_size - 1) // 2 * dilation``);
    the convolution has a bias only when there is no norm layer, unless ``bias`` says otherwise.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride, padding, groups: int,
                 norm_layer: Callable[..., nn.Module] | None, activation_layer: Callable[..., nn.Module] | None,
                 dilation, inplace: bool | None, bias: bool | None, conv_layer: Callable[..., nn.Module]):
        if padding is None:
            if isinstance(kernel_size, int) and isinstance(dilation, int):
                padding = (kernel_size - 1) // 2 * dilation
            else:
                dims = len(kernel_size) if isinstance(kernel_size, Sequence) else len(dilation)
                kernel_size = (kernel_size,) * dims if isinstance(kernel_size, int) else tuple(kernel_size)
                dilation = (dilation,) * dims if isinstance(dilation, int) else tuple(dilation)
                padding = tuple((k - 1) // 2 * d for k, d in zip(kernel_size, dilation))
        if bias is None:
            bias = norm_layer is None
        layers = [conv_layer(in_channels, out_channels, kernel_size, stride, padding, dilation=dilation,
                             groups=groups, bias=bias)]
        if norm_layer is not None:
            layers.append(norm_layer(out_channels))
        if activation_layer is not None:
            layers.append(activation_layer(**({} if inplace is None else {"inplace": inplace})))
        super().__init__(*layers)
        self.out_channels = out_channels


class Conv2dNormActivation(_ConvNormActivation):
    """``Conv2d`` then an optional norm layer then an optional activation (torchvision's block).

    ``padding=None`` keeps the spatial size at stride 1 (``(kernel_size - 1) // 2 * dilation``);
    the convolution has a bias only when there is no norm layer, unless ``bias`` says otherwise.

    Example:
        >>> block = Conv2dNormActivation(3, 8, kernel_size=3, stride=2)
        >>> block(ember.zeros(1, 3, 8, 8)).shape
        ember.Size([1, 8, 4, 4])
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size=3, stride=1, padding=None,
                 groups: int = 1, norm_layer: Callable[..., nn.Module] | None = nn.BatchNorm2d,
                 activation_layer: Callable[..., nn.Module] | None = nn.ReLU, dilation=1,
                 inplace: bool | None = True, bias: bool | None = None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, groups, norm_layer,
                         activation_layer, dilation, inplace, bias, nn.Conv2d)


class Conv3dNormActivation(_ConvNormActivation):
    """``Conv3d`` then an optional norm layer (``BatchNorm3d``) then an optional activation, as
    :class:`Conv2dNormActivation` (torchvision's block for video models).

    Example:
        >>> Conv3dNormActivation(2, 4, kernel_size=3)(ember.zeros(1, 2, 4, 6, 6)).shape
        ember.Size([1, 4, 4, 6, 6])
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size=3, stride=1, padding=None,
                 groups: int = 1, norm_layer: Callable[..., nn.Module] | None = nn.BatchNorm3d,
                 activation_layer: Callable[..., nn.Module] | None = nn.ReLU, dilation=1,
                 inplace: bool | None = True, bias: bool | None = None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, groups, norm_layer,
                         activation_layer, dilation, inplace, bias, nn.Conv3d)


class SqueezeExcitation(nn.Module):
    """Squeeze-and-Excitation (Hu et al., 2017): channels rescaled by a gate computed from their means."""

    def __init__(self, input_channels: int, squeeze_channels: int,
                 activation: Callable[..., nn.Module] = nn.ReLU,
                 scale_activation: Callable[..., nn.Module] = nn.Sigmoid):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(input_channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, input_channels, 1)
        self.activation = activation()
        self.scale_activation = scale_activation()

    def _scale(self, input: Tensor) -> Tensor:
        return self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(input)))))

    def forward(self, input: Tensor) -> Tensor:
        return self._scale(input) * input


class MLP(nn.Sequential):
    """Linear layers of widths ``hidden_channels``, each but the last followed by norm, activation, dropout.

    Example:
        >>> MLP(4, [8, 2])(ember.zeros(5, 4)).shape
        ember.Size([5, 2])
    """

    def __init__(self, in_channels: int, hidden_channels: list[int],
                 norm_layer: Callable[..., nn.Module] | None = None,
                 activation_layer: Callable[..., nn.Module] | None = nn.ReLU, inplace: bool | None = None,
                 bias: bool = True, dropout: float = 0.0):
        params = {} if inplace is None else {"inplace": inplace}
        layers, in_dim = [], in_channels
        for hidden_dim in hidden_channels[:-1]:
            layers.append(nn.Linear(in_dim, hidden_dim, bias=bias))
            if norm_layer is not None:
                layers.append(norm_layer(hidden_dim))
            layers.append(activation_layer(**params))
            layers.append(nn.Dropout(dropout, **params))
            in_dim = hidden_dim
        layers.append(nn.Linear(in_dim, hidden_channels[-1], bias=bias))
        layers.append(nn.Dropout(dropout, **params))
        super().__init__(*layers)


class Permute(nn.Module):
    """Permutes the input's dimensions to ``dims`` (e.g. NCHW -> NHWC with ``[0, 2, 3, 1]``)."""

    def __init__(self, dims: list[int]):
        super().__init__()
        self.dims = list(dims)

    def forward(self, x: Tensor) -> Tensor:
        return ember.permute(x, self.dims)


def stochastic_depth(input: Tensor, p: float, mode: str, training: bool = True) -> Tensor:
    """Drops whole residual branches with probability ``p`` (Huang et al., 2016), scaling survivors.

    Args:
        input: the branch output, batch first.
        p: drop probability.
        mode: ``"row"`` drops per sample, ``"batch"`` drops the whole batch at once.
        training: a no-op when False.
    """
    if p < 0.0 or p > 1.0:
        raise ValueError(f"stochastic_depth: drop probability has to be between 0 and 1, but got {p}")
    if mode not in ("batch", "row"):
        raise ValueError(f"stochastic_depth: mode has to be either 'batch' or 'row', but got {mode}")
    if not training or p == 0.0:
        return input
    survival_rate = 1.0 - p
    size = [input.shape[0]] + [1] * (input.ndim - 1) if mode == "row" else [1] * input.ndim
    noise = ember.empty(size, dtype=input.dtype).bernoulli_(survival_rate)
    if survival_rate > 0.0:
        noise.div_(survival_rate)
    return input * noise


class StochasticDepth(nn.Module):
    """Module form of :func:`stochastic_depth`; active in training mode only."""

    def __init__(self, p: float, mode: str):
        super().__init__()
        self.p = p
        self.mode = mode

    def forward(self, input: Tensor) -> Tensor:
        return stochastic_depth(input, self.p, self.mode, self.training)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p}, mode={self.mode})"


def drop_block2d(input: Tensor, p: float, block_size: int, inplace: bool = False, eps: float = 1e-06,
                 training: bool = True) -> Tensor:
    """DropBlock (Ghiasi et al., 2018): zeroes ``block_size`` squares of each feature map, rescales the rest.

    Args:
        input: ``(N, C, H, W)``.
        p: probability of dropping an element.
        block_size: side of the dropped squares.
        inplace: write the result into ``input``.
        eps: guards the rescaling against an all-dropped map.
        training: a no-op when False.
    """
    if p < 0.0 or p > 1.0:
        raise ValueError(f"drop_block2d: drop probability has to be between 0 and 1, but got {p}")
    if input.ndim != 4:
        raise ValueError(f"drop_block2d: input should be 4 dimensional, got shape {tuple(input.shape)}")
    if not training or p == 0.0:
        return input
    n, c, h, w = input.shape
    block_size = min(block_size, w, h)
    gamma = (p * h * w) / ((block_size**2) * ((h - block_size + 1) * (w - block_size + 1)))
    noise = ember.empty((n, c, h - block_size + 1, w - block_size + 1), dtype=input.dtype).bernoulli_(gamma)
    noise = nn.functional.pad(noise, [block_size // 2] * 4, value=0)
    noise = nn.functional.max_pool2d(noise, kernel_size=(block_size, block_size), stride=(1, 1),
                                     padding=block_size // 2)
    noise = 1 - noise
    normalize_scale = noise.numel() / (eps + noise.sum())
    if inplace:
        return input.mul_(noise).mul_(normalize_scale)
    return input * noise * normalize_scale


class DropBlock2d(nn.Module):
    """Module form of :func:`drop_block2d`; active in training mode only."""

    def __init__(self, p: float, block_size: int, inplace: bool = False, eps: float = 1e-06):
        super().__init__()
        self.p = p
        self.block_size = block_size
        self.inplace = inplace
        self.eps = eps

    def forward(self, input: Tensor) -> Tensor:
        return drop_block2d(input, self.p, self.block_size, self.inplace, self.eps, self.training)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p}, block_size={self.block_size}, inplace={self.inplace})"


def drop_block3d(input: Tensor, p: float, block_size: int, inplace: bool = False, eps: float = 1e-06,
                 training: bool = True) -> Tensor:
    """DropBlock on volumes: zeroes ``block_size`` cubes of each ``(D, H, W)`` feature map, rescales the rest.

    Args as :func:`drop_block2d`, with ``input`` of shape ``(N, C, D, H, W)``.
    """
    if p < 0.0 or p > 1.0:
        raise ValueError(f"drop_block3d: drop probability has to be between 0 and 1, but got {p}")
    if input.ndim != 5:
        raise ValueError(f"drop_block3d: input should be 5 dimensional, got shape {tuple(input.shape)}")
    if not training or p == 0.0:
        return input
    n, c, d, h, w = input.shape
    block_size = min(block_size, d, h, w)
    gamma = (p * d * h * w) / ((block_size**3) * ((d - block_size + 1) * (h - block_size + 1) * (w - block_size + 1)))
    noise = ember.empty((n, c, d - block_size + 1, h - block_size + 1, w - block_size + 1),
                        dtype=input.dtype).bernoulli_(gamma)
    noise = nn.functional.pad(noise, [block_size // 2] * 6, value=0)
    noise = nn.functional.max_pool3d(noise, kernel_size=(block_size,) * 3, stride=(1, 1, 1),
                                     padding=block_size // 2)
    noise = 1 - noise
    normalize_scale = noise.numel() / (eps + noise.sum())
    if inplace:
        return input.mul_(noise).mul_(normalize_scale)
    return input * noise * normalize_scale


class DropBlock3d(DropBlock2d):
    """Module form of :func:`drop_block3d`; active in training mode only."""

    def forward(self, input: Tensor) -> Tensor:
        return drop_block3d(input, self.p, self.block_size, self.inplace, self.eps, self.training)
