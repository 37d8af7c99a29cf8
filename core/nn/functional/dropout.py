"""Dropout: elementwise (``dropout``) and whole-channel (``dropout1d/2d/3d``).

Masks are drawn from Ember's default generator (``ember.manual_seed`` makes them repeatable);
kept values are scaled by ``1 / (1 - p)`` so the expectation is unchanged.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..._device import meta_array
from ...ops._op import Op
from ...random import default_generator
from ...tensor import Tensor

__all__ = ["alpha_dropout", "dropout", "dropout1d", "dropout2d", "dropout3d", "feature_alpha_dropout"]


class MaskMul(Op):
    """``x * mask`` for a constant (already scaled) mask."""

    @staticmethod
    def forward(ctx, a, mask):
        ctx.mask = mask
        return a._data * mask

    @staticmethod
    def backward(ctx, grad):
        return grad * Tensor._wrap(ctx.mask), None


def _keep_mask(shape, p: float, dtype) -> np.ndarray:
    if p >= 1:
        return np.zeros(shape, dtype)
    keep = default_generator.np.random(shape, dtype=np.float32) >= np.float32(p)
    return keep.astype(dtype) * dtype.type(1.0 / (1.0 - p))


def _check_p(p: float) -> None:
    if p < 0 or p > 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _apply(input: Tensor, p: float, training: bool, inplace: bool, mask_shape) -> Tensor:
    _check_p(p)
    if not training or p == 0:
        return input
    if input.is_meta:  # no values, so no mask to draw: the generator is left alone, as torch's meta dropout
        mask = meta_array(mask_shape, input._data.dtype)
    else:
        mask = _keep_mask(mask_shape, p, input._data.dtype)
    if inplace:
        return input.mul_(Tensor._wrap(mask))
    return MaskMul.apply(input, mask)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zeroes each element with probability ``p`` (in training) and scales the rest by ``1 / (1 - p)``.

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> y = F.dropout(ember.ones(1000), 0.5)
        >>> sorted(set(y.tolist()))
        [0.0, 2.0]
    """
    return _apply(input, p, training, inplace, input.shape)


def _channel_dropout(input, p, training, inplace, spatial, op):
    if input.ndim not in (spatial + 1, spatial + 2):
        raise RuntimeError(f"{op}: expected a {spatial + 1}-d or {spatial + 2}-d input, got shape "
                           f"{tuple(input.shape)}")
    lead = input.ndim - spatial
    return _apply(input, p, training, inplace, tuple(input.shape[:lead]) + (1,) * spatial)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zeroes whole channels of (N, C, L) or (C, L) inputs."""
    return _channel_dropout(input, p, training, inplace, 1, "dropout1d")


def _feature_dropout(input: Tensor, p: float, training: bool, inplace: bool, batched: bool = True) -> Tensor:
    """One mask value per (sample, channel), PyTorch's ``feature_dropout``; an unbatched input is one sample,
    so its first dim holds the channels."""
    if input.ndim + (not batched) < 2 and training and p > 0:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    lead = 2 if batched else 1
    return _apply(input, p, training, inplace, tuple(input.shape[:lead]) + (1,) * (input.ndim - lead))


def _warn_unexpected_dims(input: Tensor, op: str, spatial: int) -> None:
    """PyTorch's deprecation warning for channel dropout of an input without the expected dims."""
    if input.ndim not in (spatial + 1, spatial + 2):
        warnings.warn(
            f"{op}: Received a {input.ndim}-D input to {op}, which is deprecated and will result in an error "
            "in a future release. To retain the behavior and silence this warning, please use dropout "
            f"instead. Note that {op} exists to provide channel-wise dropout on inputs with {spatial} "
            "spatial dimensions, a channel dimension, and an optional batch dimension "
            f"(i.e. {spatial + 1}D or {spatial + 2}D inputs).",
            stacklevel=3,
        )


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zeroes whole channels of (N, C, H, W) inputs (a 3-d input is taken as (N, C, L), as PyTorch does).

    Other inputs warn, as in PyTorch, and are masked along their first two dims: a 2-d input (N, C)
    element by element.

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> y = F.dropout2d(ember.ones(4, 8, 3, 3), 0.5)
        >>> bool(((y == 0).all((2, 3)) | (y == 2).all((2, 3))).all())
        True
    """
    _check_p(p)
    _warn_unexpected_dims(input, "dropout2d", 2)
    if input.ndim == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout behavior "
            "is desired - input is interpreted as shape (N, C, L), where C is the channel dim. This behavior "
            "will change in a future release to interpret the input as one without a batch dimension, i.e. "
            "shape (C, H, W). To maintain the 1D channel-wise dropout behavior, please switch to using "
            "dropout1d instead.",
            stacklevel=2,
        )
    return _feature_dropout(input, p, training, inplace)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zeroes whole channels of (N, C, D, H, W) or (C, D, H, W) inputs.

    Other inputs warn, as in PyTorch, and are taken as unbatched: masked along their first dim (a 1-d input
    element by element).
    """
    _check_p(p)
    _warn_unexpected_dims(input, "dropout3d", 3)
    return _feature_dropout(input, p, training, inplace, batched=input.ndim == 5)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Dropout that keeps SELU's self-normalising mean and variance (dropped values go to ``-alpha'``)."""
    return _alpha(input, p, training, input.shape)


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """``alpha_dropout`` over whole channels."""
    return _alpha(input, p, training, tuple(input.shape[:2]) + (1,) * (input.ndim - 2))


def _alpha(input, p, training, shape):
    _check_p(p)
    if not training or p == 0:
        return input
    alpha_prime = -_SELU_ALPHA * _SELU_SCALE
    keep = (default_generator.np.random(shape, dtype=np.float32) >= p).astype(input._data.dtype)
    a = (1 / np.sqrt((alpha_prime**2 * p + 1) * (1 - p)))
    b = -a * alpha_prime * p
    drop_value = Tensor._wrap(((1 - keep) * (alpha_prime * a) + b).astype(input._data.dtype))
    return MaskMul.apply(input, (keep * a).astype(input._data.dtype)) + drop_value
