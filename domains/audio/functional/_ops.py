"""Differentiable signal primitives of the audio functions: ``AbsSquared``, ``|z|^2`` of the real
``[..., 2]`` spectrum layout. (The STFT is ``ember.stft``; framing is ``Tensor.unfold``.)
"""

from __future__ import annotations

import ember
from ember import Tensor
from ember.autograd import Function


class AbsSquared(Function):
    """``re^2 + im^2`` of a ``[..., 2]`` (real, imag) tensor."""

    @staticmethod
    def forward(ctx, z):
        ctx.save_for_backward(z)
        arr = z.numpy(force=True)
        re, im = arr[..., 0], arr[..., 1]
        return ember.from_numpy(re * re + im * im)

    @staticmethod
    def backward(ctx, grad):
        (z,) = ctx.saved_tensors
        return grad.unsqueeze(-1) * z * 2.0  # d/dz |z|^2 = 2 z (per component)


def abs_squared(z: Tensor) -> Tensor:
    return AbsSquared.apply(z)

