"""Convolutions: ``Conv1d``, ``Conv2d``, ``Conv3d`` and their transposes ``ConvTranspose1d/2d/3d``."""

from __future__ import annotations

import math

from ... import creation
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .module import Module

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"]


def _ntuple(value, n: int) -> tuple:
    if isinstance(value, (tuple, list)):
        if len(value) != n:
            raise ValueError(f"expected {n} values, got {tuple(value)}")
        return tuple(value)
    return (value,) * n


class _ConvNd(Module):
    _n: int = 2
    _transposed = False

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        output_padding=0,
        device=None,
        dtype=None,
    ):
        super().__init__()
        n = self._n
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError(f"in_channels ({in_channels}) must be divisible by groups ({groups})")
        if out_channels % groups != 0:
            raise ValueError(f"out_channels ({out_channels}) must be divisible by groups ({groups})")
        valid_modes = {"zeros", "reflect", "replicate", "circular"}
        if padding_mode not in valid_modes:
            raise ValueError(
                f"padding_mode must be one of {sorted(valid_modes)}, but got padding_mode='{padding_mode}'"
            )
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of ['valid', 'same']")
            if padding == "same" and any(s != 1 for s in _ntuple(stride, n)):
                raise ValueError("padding='same' is not supported for strided convolutions")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _ntuple(kernel_size, n)
        self.stride = _ntuple(stride, n)
        self.padding = padding if isinstance(padding, str) else _ntuple(padding, n)
        self.dilation = _ntuple(dilation, n)
        self.transposed = self._transposed
        self.output_padding = _ntuple(output_padding, n)
        self.groups = groups
        self.padding_mode = padding_mode
        # F.pad takes the last dimension first: (left, right) per spatial dim, reversed.
        if isinstance(self.padding, str):
            self._reversed_padding_repeated_twice = [0, 0] * n
            if padding == "same":
                for d, k, i in zip(self.dilation, self.kernel_size, range(n - 1, -1, -1)):
                    total = d * (k - 1)
                    left = total // 2
                    self._reversed_padding_repeated_twice[2 * i] = left
                    self._reversed_padding_repeated_twice[2 * i + 1] = total - left
        else:
            self._reversed_padding_repeated_twice = [p for p in reversed(self.padding) for _ in range(2)]
        if self.transposed:
            shape = (in_channels, out_channels // groups, *self.kernel_size)
        else:
            shape = (out_channels, in_channels // groups, *self.kernel_size)
        self.weight = Parameter(creation.empty(*shape, dtype=dtype, device=device))
        if bias:
            self.bias = Parameter(creation.empty(out_channels, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # kaiming_uniform_(a=sqrt(5)) gives U(-1/sqrt(fan_in), 1/sqrt(fan_in)), PyTorch's default.
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * len(self.kernel_size):
            s += f", padding={self.padding}"  # a string unquoted, as PyTorch prints it
        if self.dilation != (1,) * len(self.dilation):
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * len(self.output_padding):
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s

    def _conv_forward(self, input, weight, bias, conv):
        if self.padding_mode != "zeros":
            input = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return conv(input, weight, bias, self.stride, 0, self.dilation, self.groups)
        return conv(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)


class _Conv(_ConvNd):
    """What Conv1d / Conv2d / Conv3d share: torch's constructor (no ``output_padding``) and the forward,
    which calls the class's ``_functional`` (``F.conv1d`` / ``conv2d`` / ``conv3d``)."""

    _functional = None

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ):
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            dtype=dtype,
            device=device,
        )

    def forward(self, input):
        return self._conv_forward(input, self.weight, self.bias, self._functional)


class Conv1d(_Conv):
    """1-D convolution over an input ``(N, C_in, L)`` (or unbatched ``(C_in, L)``).

    Args:
        in_channels, out_channels: channels of input and output.
        kernel_size, stride, padding, dilation: ints or 1-tuples; ``padding`` may be ``"same"``/``"valid"``.
        groups: blocked connections from input to output channels. Default: 1.
        bias: whether to learn a bias. Default: True.
        padding_mode: ``"zeros"``, ``"reflect"``, ``"replicate"`` or ``"circular"``.

    Example:
        >>> import ember
        >>> ember.nn.Conv1d(16, 33, 3, stride=2)(ember.randn(20, 16, 50)).shape
        ember.Size([20, 33, 24])
    """

    _n = 1

    _functional = staticmethod(F.conv1d)


class Conv2d(_Conv):
    """2-D convolution over an input ``(N, C_in, H, W)`` (or unbatched ``(C_in, H, W)``).

    Weight ``(out_channels, in_channels // groups, kH, kW)``; weight and bias are initialised
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)) as in PyTorch.

    Example:
        >>> import ember
        >>> conv = ember.nn.Conv2d(3, 8, kernel_size=3, padding=1)
        >>> conv(ember.randn(2, 3, 16, 16)).shape
        ember.Size([2, 8, 16, 16])
    """

    _n = 2

    _functional = staticmethod(F.conv2d)


class Conv3d(_Conv):
    """3-D convolution over an input ``(N, C_in, D, H, W)`` (or unbatched ``(C_in, D, H, W)``).

    Weight ``(out_channels, in_channels // groups, kD, kH, kW)``, initialised as ``Conv2d``'s.

    Example:
        >>> import ember
        >>> conv = ember.nn.Conv3d(3, 8, kernel_size=3, padding=1)
        >>> conv(ember.randn(2, 3, 4, 8, 8)).shape
        ember.Size([2, 8, 4, 8, 8])
    """

    _n = 3

    _functional = staticmethod(F.conv3d)


class _ConvTransposeNd(_ConvNd):
    _transposed = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        output_padding=0,
        groups: int = 1,
        bias: bool = True,
        dilation=1,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ):
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        if isinstance(padding, str):
            raise ValueError(f"{type(self).__name__} does not support string padding")
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            output_padding,
            dtype=dtype,
            device=device,
        )

    def _output_padding(self, input, output_size) -> tuple:
        if output_size is None:
            return self.output_padding
        n = self._n
        output_size = tuple(output_size)[-n:]
        if len(output_size) != n:
            raise ValueError(f"output_size must have {n} or {n + 2} elements (got {len(output_size)})")
        result = []
        for d in range(n):
            size_in = input.shape[input.ndim - n + d]
            min_size = (
                (size_in - 1) * self.stride[d]
                - 2 * self.padding[d]
                + self.dilation[d] * (self.kernel_size[d] - 1)
                + 1
            )
            max_size = min_size + self.stride[d] - 1
            if not min_size <= output_size[d] <= max_size:
                raise ValueError(
                    f"requested an output size of {output_size}, but valid sizes range from {min_size} to "
                    f"{max_size} (for an input of {tuple(input.shape[-n:])})"
                )
            result.append(output_size[d] - min_size)
        return tuple(result)

    def _transpose_forward(self, input, output_size, conv):
        output_padding = self._output_padding(input, output_size)
        return conv(
            input,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            output_padding,
            self.groups,
            self.dilation,
        )


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution (the gradient of ``Conv1d`` w.r.t. its input).

    Weight ``(in_channels, out_channels // groups, kL)``.

    Example:
        >>> import ember
        >>> ember.nn.ConvTranspose1d(16, 33, 3, stride=2)(ember.randn(20, 16, 50)).shape
        ember.Size([20, 33, 101])
    """

    _n = 1

    def forward(self, input, output_size=None):
        return self._transpose_forward(input, output_size, F.conv_transpose1d)


class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed convolution (the gradient of ``Conv2d`` w.r.t. its input).

    Weight ``(in_channels, out_channels // groups, kH, kW)``; ``forward(input, output_size=None)``.

    Example:
        >>> import ember
        >>> up = ember.nn.ConvTranspose2d(8, 4, kernel_size=2, stride=2)
        >>> up(ember.randn(1, 8, 5, 5)).shape
        ember.Size([1, 4, 10, 10])
    """

    _n = 2

    def forward(self, input, output_size=None):
        return self._transpose_forward(input, output_size, F.conv_transpose2d)


class ConvTranspose3d(_ConvTransposeNd):
    """3-D transposed convolution (the gradient of ``Conv3d`` w.r.t. its input).

    Weight ``(in_channels, out_channels // groups, kD, kH, kW)``; ``forward(input, output_size=None)``.

    Example:
        >>> import ember
        >>> up = ember.nn.ConvTranspose3d(8, 4, kernel_size=2, stride=2)
        >>> up(ember.randn(1, 8, 2, 3, 3)).shape
        ember.Size([1, 4, 4, 6, 6])
    """

    _n = 3

    def forward(self, input, output_size=None):
        return self._transpose_forward(input, output_size, F.conv_transpose3d)
