"""``convert_conv2d_weight_memory_format`` / ``convert_conv3d_weight_memory_format``: accepted, and
the module returned unchanged.

In PyTorch these re-lay the convolution weights in ``channels_last`` order so that cuDNN (and oneDNN)
pick faster NHWC kernels. Ember computes on the CPU with numpy and numba kernels that read any strides
and gain nothing from a different weight layout, and its tensors carry no memory-format tag, so there
is nothing to convert: the calls keep a PyTorch script running unchanged.
"""

from __future__ import annotations

from ..modules.module import Module

__all__ = ["convert_conv2d_weight_memory_format", "convert_conv3d_weight_memory_format"]


def convert_conv2d_weight_memory_format(module: Module, memory_format) -> Module:
    """Returns ``module`` itself: Ember's CPU kernels take any weight layout (see the module docstring).

    Example:
        >>> import ember
        >>> from ember import nn
        >>> conv = nn.Conv2d(2, 2, 3)
        >>> nn.utils.convert_conv2d_weight_memory_format(conv, ember.channels_last) is conv
        True
    """
    return module


def convert_conv3d_weight_memory_format(module: Module, memory_format) -> Module:
    """Returns ``module`` itself: Ember's CPU kernels take any weight layout (see the module docstring)."""
    return module
