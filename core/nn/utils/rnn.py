"""``pad_sequence``: stack variable-length sequences into one padded batch."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ...tensor import Tensor


def pad_sequence(
    sequences: Sequence[Tensor],
    batch_first: bool = False,
    padding_value: float = 0.0,
    padding_side: str = "right",
) -> Tensor:
    """Pads a list of ``(L_i, *)`` tensors to the longest length and stacks them.

    Returns ``(L_max, B, *)``, or ``(B, L_max, *)`` with ``batch_first``. Differentiable.

    Example:
        >>> import ember
        >>> from ember.nn.utils.rnn import pad_sequence
        >>> pad_sequence([ember.ones(3), ember.ones(1)], batch_first=True)
        tensor([[1., 1., 1.],
                [1., 0., 0.]])
    """
    from ...ops.shape import stack
    from .. import functional as F

    if padding_side not in ("left", "right"):
        raise ValueError(f"padding_side must be 'left' or 'right', got {padding_side!r}")
    sequences = list(sequences)
    if not sequences:
        raise ValueError("pad_sequence: received an empty list of sequences")
    trailing = tuple(sequences[0].shape[1:])
    for i, s in enumerate(sequences):
        if tuple(s.shape[1:]) != trailing:
            raise ValueError(
                f"pad_sequence: sequence {i} has trailing shape {tuple(s.shape[1:])}, expected {trailing}"
            )
    max_len = max(s.shape[0] for s in sequences)
    if not any(s.requires_grad for s in sequences):
        out = np.full((len(sequences), max_len) + trailing, padding_value, dtype=sequences[0].data.dtype)
        for i, s in enumerate(sequences):
            n = s.shape[0]
            if padding_side == "right":
                out[i, :n] = s.data
            elif n:
                out[i, max_len - n :] = s.data
        result = Tensor._wrap(out)
    else:
        padded = []
        for s in sequences:
            extra = max_len - s.shape[0]
            pad = [0, 0] * len(trailing) + ([0, extra] if padding_side == "right" else [extra, 0])
            padded.append(F.pad(s, pad, value=padding_value) if extra else s)
        result = stack(padded, 0)
    return result if batch_first else result.transpose(0, 1)
