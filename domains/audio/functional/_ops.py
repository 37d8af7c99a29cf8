"""Differentiable signal primitives of the audio functions (the STFT itself is ``ember.stft``).

``Frame`` (cut ``[..., L]`` into overlapping frames ``[..., n_frames, size]``, for loudness gating and
resampling) and ``OverlapAdd`` (its adjoint: add frames back at their offsets) are each other's backward,
so gradients of any order work; ``AbsSquared`` is ``|z|^2`` of the real ``[..., 2]`` spectrum layout.
"""

from __future__ import annotations

import ember
import numpy as np
from ember import Tensor
from ember.autograd import Function


def _frame_array(x: np.ndarray, size: int, hop: int) -> np.ndarray:
    windows = np.lib.stride_tricks.sliding_window_view(x, size, axis=-1)
    return windows[..., ::hop, :]


def _overlap_add_array(frames: np.ndarray, hop: int, length: int) -> np.ndarray:
    """Sums frames ``[..., n_frames, size]`` placed every ``hop`` samples into ``[..., length]``."""
    n_frames, size = frames.shape[-2:]
    lead = frames.shape[:-2]
    out = np.zeros(lead + (length,), dtype=frames.dtype)
    # Frames r apart (r = ceil(size / hop)) do not overlap: each residue class is one reshape-and-add.
    r = -(-size // hop)
    for j in range(min(r, n_frames)):
        group = frames[..., j::r, :]
        count = group.shape[-2]
        if count == 0:
            continue
        if r * hop > size:
            padded = np.zeros(lead + (count, r * hop), dtype=frames.dtype)
            padded[..., :size] = group
            group = padded
        flat = group.reshape(lead + (count * r * hop,))
        start = j * hop
        stop = min(start + flat.shape[-1], length)
        out[..., start:stop] += flat[..., : stop - start]
    return out


class Frame(Function):
    """``x[..., L]`` -> ``x[..., t * hop : t * hop + size]`` stacked over ``t`` (torch's ``unfold``)."""

    @staticmethod
    def forward(ctx, x, size, hop):
        ctx.meta = (size, hop, x.shape[-1])
        return ember.from_numpy(np.ascontiguousarray(_frame_array(x.numpy(force=True), size, hop)))

    @staticmethod
    def backward(ctx, grad):
        _, hop, length = ctx.meta
        return OverlapAdd.apply(grad, hop, length), None, None


class OverlapAdd(Function):
    """Adjoint of ``Frame``: frames ``[..., n_frames, size]`` summed into ``[..., length]``."""

    @staticmethod
    def forward(ctx, frames, hop, length):
        ctx.meta = (frames.shape[-1], hop)
        return ember.from_numpy(_overlap_add_array(frames.numpy(force=True), hop, length))

    @staticmethod
    def backward(ctx, grad):
        size, hop = ctx.meta
        return Frame.apply(grad, size, hop), None, None


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


def frame(x: Tensor, size: int, hop: int) -> Tensor:
    return Frame.apply(x, size, hop)
