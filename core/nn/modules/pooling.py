"""Pooling layers: max, average, adaptive and power-average pooling in 1-D, 2-D and 3-D, max unpooling and
fractional max pooling."""

from __future__ import annotations

from .. import functional as F
from ..functional._utils import ntuple
from .module import Module

__all__ = [
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "AdaptiveAvgPool3d",
    "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d",
    "AdaptiveMaxPool3d",
    "AvgPool1d",
    "AvgPool2d",
    "AvgPool3d",
    "FractionalMaxPool2d",
    "FractionalMaxPool3d",
    "LPPool1d",
    "LPPool2d",
    "LPPool3d",
    "MaxPool1d",
    "MaxPool2d",
    "MaxPool3d",
    "MaxUnpool1d",
    "MaxUnpool2d",
    "MaxUnpool3d",
]


class _MaxPoolNd(Module):
    _pool = None  # the functional form, set by each subclass

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        dilation=1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, input):
        return type(self)._pool(input, self.kernel_size, self.stride, self.padding, self.dilation,
                                ceil_mode=self.ceil_mode, return_indices=self.return_indices)

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class MaxPool1d(_MaxPoolNd):
    """1-D max pooling over ``(N, C, L)``.

    Example:
        >>> import ember
        >>> ember.nn.MaxPool1d(3, stride=2)(ember.randn(20, 16, 50)).shape
        ember.Size([20, 16, 24])
    """

    _pool = staticmethod(F.max_pool1d)


class MaxPool2d(_MaxPoolNd):
    """2-D max pooling over ``(N, C, H, W)``; ``return_indices=True`` also returns the argmax positions.

    Example:
        >>> import ember
        >>> ember.nn.MaxPool2d(2)(ember.randn(1, 3, 8, 8)).shape
        ember.Size([1, 3, 4, 4])
    """

    _pool = staticmethod(F.max_pool2d)


class MaxPool3d(_MaxPoolNd):
    """3-D max pooling over ``(N, C, D, H, W)``; ``return_indices=True`` also returns the argmax positions
    (flat indices into each input volume, what :class:`MaxUnpool3d` takes).

    Example:
        >>> import ember
        >>> ember.nn.MaxPool3d((3, 2, 2), stride=2)(ember.randn(2, 4, 9, 8, 8)).shape
        ember.Size([2, 4, 4, 4, 4])
    """

    _pool = staticmethod(F.max_pool3d)


class _AvgPoolNd(Module):
    _pool = None

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input):
        return type(self)._pool(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                                self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(_AvgPoolNd):
    """1-D average pooling over ``(N, C, L)``.

    Example:
        >>> import ember
        >>> ember.nn.AvgPool1d(3, stride=2)(ember.randn(1, 1, 7)).shape
        ember.Size([1, 1, 3])
    """

    def __init__(
        self, kernel_size, stride=None, padding=0, ceil_mode: bool = False, count_include_pad: bool = True
    ):
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad)

    def forward(self, input):
        return F.avg_pool1d(
            input, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad
        )


class AvgPool2d(_AvgPoolNd):
    """2-D average pooling over ``(N, C, H, W)``.

    Example:
        >>> import ember
        >>> ember.nn.AvgPool2d(2)(ember.randn(1, 3, 8, 8)).shape
        ember.Size([1, 3, 4, 4])
    """

    _pool = staticmethod(F.avg_pool2d)


class AvgPool3d(_AvgPoolNd):
    """3-D average pooling over ``(N, C, D, H, W)``; ``divisor_override`` replaces the window size.

    Example:
        >>> import ember
        >>> ember.nn.AvgPool3d(2, padding=1, count_include_pad=False)(ember.randn(1, 3, 4, 4, 4)).shape
        ember.Size([1, 3, 3, 3, 3])
    """

    _pool = staticmethod(F.avg_pool3d)


class _AdaptivePoolNd(Module):
    _pool = None

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input):
        return type(self)._pool(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptivePoolNd):
    """Average pooling to a fixed output length, whatever the input length.

    Example:
        >>> import ember
        >>> ember.nn.AdaptiveAvgPool1d(5)(ember.randn(1, 64, 8)).shape
        ember.Size([1, 64, 5])
    """

    _pool = staticmethod(F.adaptive_avg_pool1d)


class AdaptiveAvgPool2d(_AdaptivePoolNd):
    """Average pooling to a fixed output size ``(H_out, W_out)`` (``None`` keeps that dimension).

    Example:
        >>> import ember
        >>> ember.nn.AdaptiveAvgPool2d((1, 1))(ember.randn(2, 64, 7, 9)).shape
        ember.Size([2, 64, 1, 1])
    """

    _pool = staticmethod(F.adaptive_avg_pool2d)


class AdaptiveAvgPool3d(_AdaptivePoolNd):
    """Average pooling to a fixed output size ``(D_out, H_out, W_out)`` (``None`` keeps that dimension).

    Example:
        >>> import ember
        >>> ember.nn.AdaptiveAvgPool3d((1, None, 2))(ember.randn(2, 8, 5, 7, 9)).shape
        ember.Size([2, 8, 1, 7, 2])
    """

    _pool = staticmethod(F.adaptive_avg_pool3d)


class _AdaptiveMaxPoolNd(_AdaptivePoolNd):
    def __init__(self, output_size, return_indices: bool = False):
        super().__init__(output_size)
        self.return_indices = return_indices

    def forward(self, input):
        return type(self)._pool(input, self.output_size, self.return_indices)


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    """Max pooling to a fixed output length; ``return_indices=True`` also returns the argmax positions."""

    _pool = staticmethod(F.adaptive_max_pool1d)


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    """Max pooling to a fixed output size; ``return_indices=True`` also returns the argmax positions.

    Example:
        >>> import ember
        >>> ember.nn.AdaptiveMaxPool2d(2)(ember.randn(1, 3, 7, 7)).shape
        ember.Size([1, 3, 2, 2])
    """

    _pool = staticmethod(F.adaptive_max_pool2d)


class AdaptiveMaxPool3d(_AdaptiveMaxPoolNd):
    """Max pooling to a fixed output size ``(D_out, H_out, W_out)``.

    Example:
        >>> import ember
        >>> ember.nn.AdaptiveMaxPool3d(2)(ember.randn(1, 3, 5, 7, 7)).shape
        ember.Size([1, 3, 2, 2, 2])
    """

    _pool = staticmethod(F.adaptive_max_pool3d)


class _LPPoolNd(Module):
    _pool = None

    def __init__(self, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False):
        super().__init__()
        self.norm_type, self.kernel_size, self.stride, self.ceil_mode = (
            norm_type,
            kernel_size,
            stride,
            ceil_mode,
        )

    def forward(self, input):
        return type(self)._pool(input, float(self.norm_type), self.kernel_size, self.stride, self.ceil_mode)

    def extra_repr(self) -> str:
        return (
            f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, stride={self.stride}, "
            f"ceil_mode={self.ceil_mode}"
        )


class LPPool1d(_LPPoolNd):
    """Power-average pooling ``(sum x^p)^(1/p)`` over windows of a ``(N, C, L)`` input."""

    _pool = staticmethod(F.lp_pool1d)


class LPPool2d(_LPPoolNd):
    """Power-average pooling ``(sum x^p)^(1/p)`` over windows of a ``(N, C, H, W)`` input."""

    _pool = staticmethod(F.lp_pool2d)


class LPPool3d(_LPPoolNd):
    """Power-average pooling ``(sum x^p)^(1/p)`` over windows of a ``(N, C, D, H, W)`` input.

    Example:
        >>> import ember
        >>> ember.nn.LPPool3d(2, 2)(ember.randn(1, 3, 4, 4, 4)).shape
        ember.Size([1, 3, 2, 2, 2])
    """

    _pool = staticmethod(F.lp_pool3d)


class _MaxUnpoolNd(Module):
    _dims = 0
    _unpool = None

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = ntuple(kernel_size, self._dims, "kernel_size")
        self.stride = ntuple(stride if stride is not None else kernel_size, self._dims, "stride")
        self.padding = ntuple(padding, self._dims, "padding")

    def forward(self, input, indices, output_size=None):
        return type(self)._unpool(input, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    """Partial inverse of :class:`MaxPool1d`: the maxima go back to their positions, the rest is 0.

    Example:
        >>> import ember
        >>> pool, unpool = ember.nn.MaxPool1d(2, return_indices=True), ember.nn.MaxUnpool1d(2)
        >>> unpool(*pool(ember.tensor([[[1.0, 2.0, 4.0, 3.0]]])))
        tensor([[[0., 2., 4., 0.]]])
    """

    _dims = 1
    _unpool = staticmethod(F.max_unpool1d)


class MaxUnpool2d(_MaxUnpoolNd):
    """Partial inverse of :class:`MaxPool2d`; ``output_size`` resolves the sizes that pool alike.

    Example:
        >>> import ember
        >>> pool, unpool = ember.nn.MaxPool2d(2, return_indices=True), ember.nn.MaxUnpool2d(2)
        >>> out, indices = pool(ember.randn(1, 1, 5, 5))
        >>> unpool(out, indices, output_size=(5, 5)).shape
        ember.Size([1, 1, 5, 5])
    """

    _dims = 2
    _unpool = staticmethod(F.max_unpool2d)


class MaxUnpool3d(_MaxUnpoolNd):
    """Partial inverse of :class:`MaxPool3d`.

    Example:
        >>> import ember
        >>> pool, unpool = ember.nn.MaxPool3d(2, return_indices=True), ember.nn.MaxUnpool3d(2)
        >>> unpool(*pool(ember.randn(1, 1, 4, 4, 4))).shape
        ember.Size([1, 1, 4, 4, 4])
    """

    _dims = 3
    _unpool = staticmethod(F.max_unpool3d)


class _FractionalMaxPoolNd(Module):
    _dims = 0
    _pool = None

    def __init__(self, kernel_size, output_size=None, output_ratio=None, return_indices: bool = False,
                 _random_samples=None):
        super().__init__()
        name = type(self).__name__
        self.kernel_size = ntuple(kernel_size, self._dims, "kernel_size")
        self.return_indices = return_indices
        self.register_buffer("_random_samples", _random_samples)
        self.output_size = ntuple(output_size, self._dims, "output_size") if output_size is not None else None
        self.output_ratio = (_ratios(output_ratio, self._dims) if output_ratio is not None else None)
        if output_size is None and output_ratio is None:
            raise ValueError(f"{name} requires specifying either an output size, or a pooling ratio")
        if output_size is not None and output_ratio is not None:
            raise ValueError("only one of output_size and output_ratio may be specified")
        if self.output_ratio is not None and not all(0 < r < 1 for r in self.output_ratio):
            raise ValueError(f"output_ratio must be between 0 and 1 (got {output_ratio})")

    def forward(self, input):
        return type(self)._pool(input, self.kernel_size, self.output_size, self.output_ratio,
                                self.return_indices, _random_samples=self._random_samples)


def _ratios(value, n: int) -> tuple:
    """``0.5 -> (0.5, 0.5)``; a tuple of ``n`` ratios passes through."""
    if isinstance(value, (tuple, list)):
        if len(value) != n:
            raise ValueError(f"expected output_ratio to be a single number or a tuple of {n}, "
                             f"got {tuple(value)}")
        return tuple(float(v) for v in value)
    return (float(value),) * n


class FractionalMaxPool2d(_FractionalMaxPoolNd):
    """Fractional max pooling (Graham, 2014): ``kH x kW`` windows at pseudo-random steps down to
    ``output_size`` or ``output_ratio`` of the input. New steps are drawn on every call unless
    ``_random_samples`` ((N, C, 2), kept as a buffer) fixes them.

    Example:
        >>> import ember
        >>> ember.nn.FractionalMaxPool2d(3, output_ratio=(0.5, 0.5))(ember.randn(2, 4, 12, 10)).shape
        ember.Size([2, 4, 6, 5])
    """

    _dims = 2
    _pool = staticmethod(F.fractional_max_pool2d)


class FractionalMaxPool3d(_FractionalMaxPoolNd):
    """Fractional max pooling over ``(N, C, T, H, W)``; ``_random_samples`` is (N, C, 3).

    Example:
        >>> import ember
        >>> ember.nn.FractionalMaxPool3d(2, output_size=(3, 4, 5))(ember.randn(1, 2, 6, 8, 9)).shape
        ember.Size([1, 2, 3, 4, 5])
    """

    _dims = 3
    _pool = staticmethod(F.fractional_max_pool3d)
