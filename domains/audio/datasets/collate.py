"""Bringing clips of different lengths to one length: a transform and a DataLoader ``collate_fn``."""

from __future__ import annotations

import ember
import numpy as np
from ember import Tensor
from ember.data.collate import default_collate


def pad_or_crop(waveform: Tensor, length: int, offset: int = 0) -> Tensor:
    """Zero-pads (at the end) or crops (from ``offset``) the last dim of ``waveform`` to ``length`` samples.

    Example:
        >>> pad_or_crop(ember.ones(1, 3), 5)
        tensor([[1., 1., 1., 0., 0.]])
    """
    data = waveform.numpy(force=True) if isinstance(waveform, Tensor) else np.asarray(waveform)
    current = data.shape[-1]
    if current >= length:
        if not 0 <= offset <= current - length:
            raise ValueError(f"crop offset {offset} out of range for {current} samples cropped to {length}")
        return ember.from_numpy(np.ascontiguousarray(data[..., offset : offset + length]))
    out = np.zeros(data.shape[:-1] + (length,), dtype=data.dtype)
    out[..., :current] = data
    return ember.from_numpy(out)


class PadOrCrop:
    """Transform: pads or crops a waveform ``(..., time)`` to ``length`` samples. With ``random_crop`` a
    longer clip is cropped at a random offset drawn from Ember's default generator (reproducible under the
    DataLoader's per-sample seeding), else from its start.

    Example:
        >>> PadOrCrop(4)(ember.arange(6.0)[None])
        tensor([[0., 1., 2., 3.]])
    """

    def __init__(self, length: int, random_crop: bool = False) -> None:
        self.length, self.random_crop = int(length), random_crop

    def __call__(self, waveform: Tensor) -> Tensor:
        excess = waveform.shape[-1] - self.length
        offset = int(ember.default_generator.np.integers(0, excess + 1)) if self.random_crop and excess > 0 else 0
        return pad_or_crop(waveform, self.length, offset)

    def __repr__(self) -> str:
        return f"PadOrCrop(length={self.length}, random_crop={self.random_crop})"


class PadCollate:
    """``collate_fn`` for batches whose first field is a waveform ``(channels, time)`` of varying length.

    Waveforms are padded (or cropped) to ``length`` samples, or to the longest in the batch if ``length`` is
    None, and stacked to ``(batch, channels, length)``; the other fields go through ``default_collate``. With
    ``return_lengths`` a tensor of the original (clipped) lengths is appended to the batch.

    Example:
        >>> batch = [(ember.ones(1, 3), 0), (ember.ones(1, 5), 1)]
        >>> waveforms, labels = PadCollate()(batch)
        >>> waveforms.shape, labels.tolist()
        (ember.Size([2, 1, 5]), [0, 1])
    """

    def __init__(self, length: int | None = None, return_lengths: bool = False) -> None:
        self.length, self.return_lengths = length, return_lengths

    def __call__(self, batch: list):
        single = not isinstance(batch[0], (tuple, list))
        waveforms = [item if single else item[0] for item in batch]
        lengths = [w.shape[-1] for w in waveforms]
        target = self.length if self.length is not None else max(lengths)
        stacked = ember.from_numpy(np.stack([pad_or_crop(w, target).numpy() for w in waveforms]))
        out = [stacked] if single else [stacked, *default_collate([tuple(item[1:]) for item in batch])]
        if self.return_lengths:
            out.append(ember.tensor([min(n, target) for n in lengths]))
        return out[0] if len(out) == 1 else tuple(out)
