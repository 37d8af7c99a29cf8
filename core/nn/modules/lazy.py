"""Lazy layers: shapes inferred from the first input (``nn.LazyLinear`` and friends).

A lazy layer is built without its input size: its parameters are ``UninitializedParameter`` s (its running
statistics ``UninitializedBuffer`` s) until the first ``forward``, which reads the size off the input,
materialises them in place, initialises them as the eager layer does, and turns the module into that layer
(``cls_to_become``: a ``LazyLinear`` becomes a ``Linear``). Because the parameter objects stay the same, an
optimizer built before the first forward updates the materialised ones (PyTorch's documentation still
advises building it after a dry run). Loading a ``state_dict`` into an uninitialised layer materialises
its parameters with the shapes it holds.

Example:
    >>> import ember
    >>> from ember import nn
    >>> model = nn.Sequential(nn.LazyConv2d(8, 3), nn.Flatten(), nn.LazyLinear(10))
    >>> model(ember.randn(2, 3, 6, 6)).shape
    ember.Size([2, 10])
    >>> model[2]
    Linear(in_features=128, out_features=10, bias=True)
"""

from __future__ import annotations

import itertools

import numpy as np

from ... import creation
from ..._dtype import int64
from ...autograd.grad_mode import no_grad
from ..parameter import UninitializedBuffer, UninitializedParameter, is_lazy
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .linear import Linear
from .normalization import (
    BatchNorm1d,
    BatchNorm2d,
    BatchNorm3d,
    InstanceNorm1d,
    InstanceNorm2d,
    InstanceNorm3d,
    _BatchNorm,
    _InstanceNorm,
)

__all__ = [
    "LazyBatchNorm1d",
    "LazyBatchNorm2d",
    "LazyBatchNorm3d",
    "LazyConv1d",
    "LazyConv2d",
    "LazyConv3d",
    "LazyConvTranspose1d",
    "LazyConvTranspose2d",
    "LazyConvTranspose3d",
    "LazyInstanceNorm1d",
    "LazyInstanceNorm2d",
    "LazyInstanceNorm3d",
    "LazyLinear",
    "LazyModuleMixin",
]


class LazyModuleMixin:
    """Makes a module's parameters inferable from its first input (PyTorch's ``LazyModuleMixin``).

    A lazy layer lists this first among its bases and defines ``initialize_parameters(*args, **kwargs)``,
    which materialises the uninitialised parameters from the forward's arguments; ``cls_to_become`` is the
    class the module becomes once they are all materialised.
    """

    cls_to_become: type | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._initialize_hook = self.register_forward_pre_hook(self._infer_parameters, with_kwargs=True)

    def has_uninitialized_params(self) -> bool:
        """Whether a parameter or buffer of this module is still uninitialised."""
        return any(is_lazy(t) for t in itertools.chain(self._parameters.values(), self._buffers.values()))

    def initialize_parameters(self, *args, **kwargs) -> None:
        raise NotImplementedError(f"initialize_parameters is not implemented for {type(self).__name__}")

    def _infer_parameters(self, module, args, kwargs=None) -> None:
        """The forward pre-hook: materialise from the first input, then become ``cls_to_become``."""
        module.initialize_parameters(*args, **(kwargs or {}))
        if module.has_uninitialized_params():
            raise RuntimeError(f"module {self._get_name()} has not been fully initialized")
        module._initialize_hook.remove()
        del module._initialize_hook
        if module.cls_to_become is not None:
            module.__class__ = module.cls_to_become

    def _save_to_state_dict(self, destination: dict, prefix: str, keep_vars: bool) -> None:
        # an uninitialised parameter goes in as itself (there are no values to detach), as in PyTorch
        for name, t in itertools.chain(self._parameters.items(), self._buffers.items()):
            if t is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = t if is_lazy(t) or keep_vars else t.detach()

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs) -> None:
        # materialise each uninitialised tensor with the shape the state_dict holds for it, then load as usual
        for name, t in itertools.chain(self._parameters.items(), self._buffers.items()):
            key = prefix + name
            if t is not None and is_lazy(t) and key in state_dict and not is_lazy(state_dict[key]):
                with no_grad():
                    t.materialize(_shape_of(state_dict[key]))
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)


def _shape_of(value) -> tuple:
    """The shape of a state_dict value: an Ember or torch tensor, an array, a nested list."""
    shape = getattr(value, "shape", None)
    return tuple(shape) if shape is not None else np.shape(value)


class LazyLinear(LazyModuleMixin, Linear):
    """A ``Linear`` whose ``in_features`` is inferred from ``input.shape[-1]`` on the first forward.

    Its weight and bias are ``UninitializedParameter`` s until then; afterwards it is a ``Linear``,
    initialised as one.

    Args:
        out_features: size of each output sample.
        bias: whether to learn a bias. Default: True.

    Example:
        >>> import ember
        >>> layer = ember.nn.LazyLinear(4)
        >>> layer
        LazyLinear(in_features=0, out_features=4, bias=True)
        >>> layer(ember.randn(2, 7)).shape, layer
        (ember.Size([2, 4]), Linear(in_features=7, out_features=4, bias=True))
    """

    cls_to_become = Linear

    def __init__(self, out_features: int, bias: bool = True, device=None, dtype=None):
        super().__init__(0, 0, False)  # no bias yet: it is replaced just below
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        self.out_features = out_features
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input, *args, **kwargs) -> None:
        if self.has_uninitialized_params():
            with no_grad():
                self.in_features = input.shape[-1]
                self.weight.materialize((self.out_features, self.in_features))
                if self.bias is not None:
                    self.bias.materialize((self.out_features,))
                self.reset_parameters()
        if self.in_features == 0:  # materialised by load_state_dict: the weight knows the size
            if input.shape[-1] != self.weight.shape[-1]:
                raise RuntimeError(
                    f"The in_features inferred from input: {input.shape[-1]} (input of shape "
                    f"{tuple(input.shape)}) is not equal to in_features from self.weight: "
                    f"{self.weight.shape[-1]}"
                )
            self.in_features = input.shape[-1]


class _LazyConvXdMixin(LazyModuleMixin):
    """``in_channels`` from the input's channel dimension (dim 1, or 0 for an unbatched input)."""

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_channels != 0:
            super().reset_parameters()

    def initialize_parameters(self, input, *args, **kwargs) -> None:
        if self.has_uninitialized_params():
            self.in_channels = self._get_in_channels(input)
            if self.in_channels % self.groups != 0:
                raise ValueError(
                    f"in_channels must be divisible by groups: {self.in_channels} input channels (input of "
                    f"shape {tuple(input.shape)}), groups={self.groups}"
                )
            if self.transposed:
                shape = (self.in_channels, self.out_channels // self.groups, *self.kernel_size)
            else:
                shape = (self.out_channels, self.in_channels // self.groups, *self.kernel_size)
            with no_grad():
                self.weight.materialize(shape)
                if self.bias is not None:
                    self.bias.materialize((self.out_channels,))
                self.reset_parameters()

    def _get_in_channels(self, input) -> int:
        unbatched, batched = self._n + 1, self._n + 2
        if input.ndim not in (unbatched, batched):
            raise RuntimeError(
                f"Expected {unbatched}D (unbatched) or {batched}D (batched) input to {type(self).__name__}, "
                f"but got input of size: {list(input.shape)}"
            )
        return input.shape[1] if input.ndim == batched else input.shape[0]

    def _lazy_init(self, out_channels: int, bias: bool, device, dtype) -> None:
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        self.out_channels = out_channels
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)


class _LazyConv(_LazyConvXdMixin):
    def __init__(self, out_channels: int, kernel_size, stride=1, padding=0, dilation=1, groups: int = 1,
                 bias: bool = True, padding_mode: str = "zeros", device=None, dtype=None):
        # in and out channels 0 and no bias: the parameters are replaced by uninitialised ones below
        super().__init__(0, 0, kernel_size, stride, padding, dilation, groups, False, padding_mode,
                         device=device, dtype=dtype)
        self._lazy_init(out_channels, bias, device, dtype)


class LazyConv1d(_LazyConv, Conv1d):
    """A ``Conv1d`` whose ``in_channels`` is inferred from the first input (``Conv1d``'s other arguments).

    Example:
        >>> import ember
        >>> ember.nn.LazyConv1d(4, 3)(ember.randn(2, 5, 8)).shape
        ember.Size([2, 4, 6])
    """

    cls_to_become = Conv1d


class LazyConv2d(_LazyConv, Conv2d):
    """A ``Conv2d`` whose ``in_channels`` is inferred from the first input (``Conv2d``'s other arguments).

    Example:
        >>> import ember
        >>> conv = ember.nn.LazyConv2d(8, 3, padding=1)
        >>> conv(ember.randn(2, 3, 5, 5)).shape, conv.weight.shape
        (ember.Size([2, 8, 5, 5]), ember.Size([8, 3, 3, 3]))
    """

    cls_to_become = Conv2d


class LazyConv3d(_LazyConv, Conv3d):
    """A ``Conv3d`` whose ``in_channels`` is inferred from the first input (``Conv3d``'s other arguments)."""

    cls_to_become = Conv3d


class _LazyConvTranspose(_LazyConvXdMixin):
    def __init__(self, out_channels: int, kernel_size, stride=1, padding=0, output_padding=0, groups: int = 1,
                 bias: bool = True, dilation=1, padding_mode: str = "zeros", device=None, dtype=None):
        super().__init__(0, 0, kernel_size, stride, padding, output_padding, groups, False, dilation,
                         padding_mode, device=device, dtype=dtype)
        self._lazy_init(out_channels, bias, device, dtype)


class LazyConvTranspose1d(_LazyConvTranspose, ConvTranspose1d):
    """A ``ConvTranspose1d`` whose ``in_channels`` is inferred from the first input."""

    cls_to_become = ConvTranspose1d


class LazyConvTranspose2d(_LazyConvTranspose, ConvTranspose2d):
    """A ``ConvTranspose2d`` whose ``in_channels`` is inferred from the first input.

    Example:
        >>> import ember
        >>> ember.nn.LazyConvTranspose2d(2, 2, stride=2)(ember.randn(1, 4, 3, 3)).shape
        ember.Size([1, 2, 6, 6])
    """

    cls_to_become = ConvTranspose2d


class LazyConvTranspose3d(_LazyConvTranspose, ConvTranspose3d):
    """A ``ConvTranspose3d`` whose ``in_channels`` is inferred from the first input."""

    cls_to_become = ConvTranspose3d


class _LazyNormBase(LazyModuleMixin):
    """``num_features`` from the input's channel dimension; weight, bias and running statistics
    uninitialised until then."""

    def __init__(self, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device=None, dtype=None, *, bias: bool = True):
        # no affine parameters, no statistics: they are replaced by uninitialised ones below
        super().__init__(0, eps, momentum, False, False, device=device, dtype=dtype, bias=False)
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = UninitializedParameter(device=device, dtype=dtype)
            if bias:
                self.bias = UninitializedParameter(device=device, dtype=dtype)
        if track_running_stats:
            self.running_mean = UninitializedBuffer(device=device, dtype=dtype)
            self.running_var = UninitializedBuffer(device=device, dtype=dtype)
            self.num_batches_tracked = creation.tensor(0, dtype=int64, device=device)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.num_features != 0:
            super().reset_parameters()

    def _channel_dim(self, input) -> int:
        return 1

    def initialize_parameters(self, input, *args, **kwargs) -> None:
        if self.has_uninitialized_params():
            self.num_features = input.shape[self._channel_dim(input)]
            with no_grad():
                for t in (self.weight, self.bias, self.running_mean, self.running_var):
                    if t is not None:
                        t.materialize((self.num_features,))
                self.reset_parameters()


class LazyBatchNorm1d(_LazyNormBase, _BatchNorm):
    """A ``BatchNorm1d`` whose ``num_features`` is inferred from the first input's dim 1.

    Example:
        >>> import ember
        >>> bn = ember.nn.LazyBatchNorm1d()
        >>> bn(ember.randn(4, 3)).shape, bn.running_mean.shape
        (ember.Size([4, 3]), ember.Size([3]))
    """

    cls_to_become = BatchNorm1d
    _check_input_dim = BatchNorm1d._check_input_dim


class LazyBatchNorm2d(_LazyNormBase, _BatchNorm):
    """A ``BatchNorm2d`` whose ``num_features`` is inferred from the first input's dim 1."""

    cls_to_become = BatchNorm2d
    _check_input_dim = BatchNorm2d._check_input_dim


class LazyBatchNorm3d(_LazyNormBase, _BatchNorm):
    """A ``BatchNorm3d`` whose ``num_features`` is inferred from the first input's dim 1."""

    cls_to_become = BatchNorm3d
    _check_input_dim = BatchNorm3d._check_input_dim


class _LazyInstanceNorm(_LazyNormBase, _InstanceNorm):
    # PyTorch reads dim 1 even of an unbatched input (and then fails); the channel dimension is meant
    def _channel_dim(self, input) -> int:
        return 0 if input.ndim == self._batched_ndim - 1 else 1


class LazyInstanceNorm1d(_LazyInstanceNorm):
    """An ``InstanceNorm1d`` whose ``num_features`` is inferred from the first input.

    As in PyTorch, ``affine`` and ``track_running_stats`` default to True here (False for the eager layer).
    """

    cls_to_become = InstanceNorm1d
    _batched_ndim = 3


class LazyInstanceNorm2d(_LazyInstanceNorm):
    """An ``InstanceNorm2d`` whose ``num_features`` is inferred from the first input (``affine`` and
    ``track_running_stats`` default to True, as in PyTorch)."""

    cls_to_become = InstanceNorm2d
    _batched_ndim = 4


class LazyInstanceNorm3d(_LazyInstanceNorm):
    """An ``InstanceNorm3d`` whose ``num_features`` is inferred from the first input (``affine`` and
    ``track_running_stats`` default to True, as in PyTorch)."""

    cls_to_become = InstanceNorm3d
    _batched_ndim = 5
