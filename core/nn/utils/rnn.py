"""Variable-length sequences: ``pad_sequence`` / ``unpad_sequence`` and ``PackedSequence`` with
``pack_padded_sequence``, ``pad_packed_sequence``, ``pack_sequence`` and ``unpack_sequence``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...ops.joining import cat, stack
from ...tensor import Tensor
from .. import functional as F
from ..modules._packed_sequence import PackedSequence


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
        out = np.full((len(sequences), max_len) + trailing, padding_value, dtype=sequences[0]._data.dtype)
        for i, s in enumerate(sequences):
            n = s.shape[0]
            if padding_side == "right":
                out[i, :n] = s._data
            elif n:
                out[i, max_len - n :] = s._data
        result = Tensor._wrap(out)
    else:
        padded = []
        for s in sequences:
            extra = max_len - s.shape[0]
            pad = [0, 0] * len(trailing) + ([0, extra] if padding_side == "right" else [extra, 0])
            padded.append(F.pad(s, pad, value=padding_value) if extra else s)
        result = stack(padded, 0)
    return result if batch_first else result.transpose(0, 1)


def _time_major_mask(batch_sizes: np.ndarray) -> np.ndarray:
    """``(L, N)`` bool: which (time step, sorted sequence) positions hold data."""
    return np.arange(int(batch_sizes[0]))[None, :] < batch_sizes[:, None]


def pack_padded_sequence(
    input: Tensor, lengths, batch_first: bool = False, enforce_sorted: bool = True
) -> PackedSequence:
    """Packs a padded batch ``(L, B, *)`` (``(B, L, *)`` with ``batch_first``) of sequences of ``lengths``.

    With ``enforce_sorted=False`` the sequences may come in any order (they are sorted here and the
    RNN's outputs are returned in the caller's order).

    Example:
        >>> import ember
        >>> from ember.nn.utils.rnn import pack_padded_sequence
        >>> packed = pack_padded_sequence(ember.randn(2, 3, 4), [3, 1], batch_first=True)
        >>> packed.batch_sizes, packed.data.shape
        (tensor([2, 1, 1]), ember.Size([4, 4]))
    """
    lengths = np.asarray(lengths._data if isinstance(lengths, Tensor) else lengths, dtype=np.int64).reshape(-1)
    batch_dim = 0 if batch_first else 1
    if lengths.size != input.shape[batch_dim]:
        raise ValueError(
            f"pack_padded_sequence: got {lengths.size} lengths for a batch of {input.shape[batch_dim]}"
        )
    if lengths.size and lengths.min() <= 0:
        raise RuntimeError(
            "Length of all samples has to be greater than 0, but found an element in 'lengths' that is <= 0"
        )
    sorted_indices = unsorted_indices = None
    if enforce_sorted:
        if np.any(np.diff(lengths) > 0):
            raise RuntimeError(
                "`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. "
                "You can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence "
                "to sidestep this requirement if you do not need ONNX exportability."
            )
    else:
        order = np.argsort(-lengths, kind="stable")
        inverse = np.empty_like(order)
        inverse[order] = np.arange(order.size)
        lengths = lengths[order]
        input = input.index_select(batch_dim, Tensor._wrap(order))
        sorted_indices, unsorted_indices = Tensor._wrap(order), Tensor._wrap(inverse)
    if batch_first:
        input = input.transpose(0, 1)
    steps, batch = int(lengths[0]), lengths.size
    if steps > input.shape[0]:
        raise ValueError(
            f"pack_padded_sequence: a length of {steps} exceeds the padded length {input.shape[0]}"
        )
    batch_sizes = (lengths[None, :] > np.arange(steps)[:, None]).sum(1).astype(np.int64)
    rows = np.flatnonzero(_time_major_mask(batch_sizes).ravel())
    data = input[:steps].reshape(steps * batch, *input.shape[2:])[Tensor._wrap(rows)]
    return PackedSequence(data, Tensor._wrap(batch_sizes), sorted_indices, unsorted_indices)


def pad_packed_sequence(
    sequence: PackedSequence,
    batch_first: bool = False,
    padding_value: float = 0.0,
    total_length: int | None = None,
) -> tuple[Tensor, Tensor]:
    """Inverse of ``pack_padded_sequence``: returns ``(padded, lengths)`` in the caller's batch order.

    Example:
        >>> import ember
        >>> from ember.nn.utils.rnn import pack_sequence, pad_packed_sequence
        >>> padded, lengths = pad_packed_sequence(pack_sequence([ember.ones(2), ember.ones(3)],
        ...                                                     enforce_sorted=False))
        >>> padded.shape, lengths
        (ember.Size([3, 2]), tensor([2, 3]))
    """
    batch_sizes = np.asarray(sequence.batch_sizes._data, dtype=np.int64)
    mask = _time_major_mask(batch_sizes)
    steps = mask.shape[0]
    if total_length is not None:
        if total_length < steps:
            raise ValueError(
                f"Expected total_length to be at least the length of the longest sequence "
                f"({steps}), but got total_length={total_length}"
            )
        steps = total_length
    data = sequence.data
    index = np.full((steps, mask.shape[1]), data.shape[0], dtype=np.int64)
    index[: mask.shape[0]][mask] = np.arange(data.shape[0])
    filler = Tensor._wrap(np.full((1, *data.shape[1:]), padding_value, dtype=data._data.dtype))
    padded = cat([data, filler], 0)[Tensor._wrap(index)]
    lengths = mask.sum(0).astype(np.int64)
    if sequence.unsorted_indices is not None:
        padded = padded.index_select(1, sequence.unsorted_indices)
        lengths = lengths[sequence.unsorted_indices._data]
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, Tensor._wrap(lengths)


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Packs a list of ``(L_i, *)`` tensors (longest first unless ``enforce_sorted=False``)."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences: Tensor, lengths, batch_first: bool = False) -> list[Tensor]:
    """Inverse of ``pad_sequence``: the list of sequences, sequence ``i`` cut to ``lengths[i]`` steps (views of
    ``padded_sequences``, so gradients flow back into it).

    Unlike torch's, which transposes a time-major ``padded_sequences`` in place (``transpose_``), the input is left
    as it was.

    Example:
        >>> import ember
        >>> from ember.nn.utils.rnn import pad_sequence, unpad_sequence
        >>> padded = pad_sequence([ember.ones(2), ember.ones(3)])
        >>> [s.shape for s in unpad_sequence(padded, ember.tensor([2, 3]))]
        [ember.Size([2]), ember.Size([3])]
    """
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    lengths = lengths.tolist() if isinstance(lengths, Tensor) else list(lengths)
    if len(lengths) != padded_sequences.shape[0]:
        raise ValueError(f"unpad_sequence: {len(lengths)} lengths for a batch of {padded_sequences.shape[0]} "
                         f"sequences (padded shape {tuple(padded_sequences.shape)}, batch_first={batch_first})")
    return [sequence[: int(length)] for sequence, length in zip(padded_sequences, lengths)]


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """Inverse of ``pack_sequence``: the list of sequences, in the order they were packed.

    Example:
        >>> import ember
        >>> from ember.nn.utils.rnn import pack_sequence, unpack_sequence
        >>> packed = pack_sequence([ember.tensor([1, 2]), ember.tensor([3])])
        >>> unpack_sequence(packed)
        [tensor([1, 2]), tensor([3])]
    """
    padded_sequences, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded_sequences, lengths, batch_first=True)
