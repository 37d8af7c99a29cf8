"""Batching variable-length sequences: ``pad_sequence``, ``PadCollate``, ``Truncate``, ``BucketBatchSampler``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import ember
import numpy as np
from ember import Tensor
from ember.data.collate import default_collate
from ember.data.sampler import Sampler
from ember.random import default_generator


def _as_array(seq) -> np.ndarray:
    if isinstance(seq, Tensor):
        return seq.numpy(force=True)
    array = np.asarray(seq)
    return array.astype(np.int64) if array.size == 0 and array.ndim == 1 else array  # [] is an empty id list


def pad_sequence(sequences: Sequence, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stacks sequences of shapes ``(L_i, *)`` into ``(L_max, B, *)`` (or ``(B, L_max, *)``), padding.

    As ``torch.nn.utils.rnn.pad_sequence``; differentiable when an input requires grad.

    Args:
        sequences: tensors (or lists / arrays) with equal trailing dimensions.
        batch_first: put the batch dimension first.
        padding_value: the value of the padding.
        padding_side: ``"right"`` or ``"left"``.

    Example:
        >>> import ember
        >>> pad_sequence([ember.tensor([1, 2, 3]), ember.tensor([4])], batch_first=True)
        tensor([[1, 2, 3],
                [4, 0, 0]])
    """
    if padding_side not in ("right", "left"):
        raise ValueError(f"padding_side must be 'right' or 'left', got {padding_side!r}")
    if len(sequences) == 0:
        raise ValueError("pad_sequence: received an empty list of sequences")
    if any(isinstance(s, Tensor) and s.requires_grad for s in sequences) and ember.is_grad_enabled():
        return _pad_differentiable(sequences, batch_first, padding_value, padding_side)
    arrays = [_as_array(s) for s in sequences]
    trailing = {a.shape[1:] for a in arrays}
    if len(trailing) > 1:
        raise ValueError(f"pad_sequence: sequences have different trailing shapes {sorted(trailing)}")
    longest = max(a.shape[0] for a in arrays)
    dtype = np.result_type(*arrays)
    out = np.full((len(arrays), longest, *arrays[0].shape[1:]), padding_value, dtype=dtype)
    for i, a in enumerate(arrays):
        if padding_side == "right":
            out[i, : a.shape[0]] = a
        elif a.shape[0]:
            out[i, -a.shape[0]:] = a
    if not batch_first:
        out = np.ascontiguousarray(np.swapaxes(out, 0, 1))
    return ember.from_numpy(out)


def _pad_differentiable(sequences, batch_first, padding_value, padding_side) -> Tensor:
    tensors = [s if isinstance(s, Tensor) else ember.tensor(s) for s in sequences]
    longest = max(t.shape[0] for t in tensors)
    rows = []
    for t in tensors:
        fill = ember.full((longest - t.shape[0], *t.shape[1:]), padding_value, dtype=t.dtype)
        rows.append(ember.cat([t, fill] if padding_side == "right" else [fill, t], dim=0))
    return ember.stack(rows, dim=0 if batch_first else 1)


class PadCollate:
    """A ``collate_fn`` that pads variable-length token sequences to the longest of the batch.

    A sample is a sequence of ids, a tuple ``(ids, label, ...)`` or a dict with ``"input_ids"``. The batch
    is a dict with ``input_ids`` ``(B, T)``, ``attention_mask`` ``(B, T)`` (1 = real token), ``lengths``
    ``(B,)``, and ``labels`` (the tuple's second element, collated) or the dict's other keys.

    Args:
        padding_value: the id used for padding (the tokenizer's ``pad_token_id``).
        max_length: truncate longer sequences to this length first.
        padding_side: ``"right"`` or ``"left"`` (left suits generation).
        return_dict: ``False`` returns ``(input_ids, labels)`` (or ``input_ids`` alone when samples have no
            label), the ``(x, y)`` batches of ``ember.trainer.tasks.Classifier``.

    Example:
        >>> import ember
        >>> batch = PadCollate(padding_value=0)([([5, 6, 7], 1), ([8], 0)])
        >>> batch["input_ids"].tolist(), batch["attention_mask"].tolist(), batch["labels"].tolist()
        ([[5, 6, 7], [8, 0, 0]], [[1, 1, 1], [1, 0, 0]], [1, 0])
    """

    def __init__(self, padding_value: int = 0, max_length: int | None = None, padding_side: str = "right",
                 return_dict: bool = True):
        if padding_side not in ("right", "left"):
            raise ValueError(f"padding_side must be 'right' or 'left', got {padding_side!r}")
        self.padding_value, self.max_length, self.padding_side = padding_value, max_length, padding_side
        self.return_dict = return_dict

    def __call__(self, batch: list) -> dict:
        first = batch[0]
        extras: dict = {}
        if isinstance(first, dict):
            sequences = [s["input_ids"] for s in batch]
            extras = {k: default_collate([s[k] for s in batch]) for k in first if k not in ("input_ids",
                                                                                             "attention_mask")}
        elif isinstance(first, tuple):
            sequences = [s[0] for s in batch]
            if len(first) == 2:
                extras["labels"] = default_collate([s[1] for s in batch])
            elif len(first) > 2:
                extras["labels"] = default_collate([s[1:] for s in batch])
        else:
            sequences = list(batch)
        arrays = [_as_array(s) for s in sequences]
        if self.max_length is not None:
            arrays = [a[: self.max_length] for a in arrays]
        lengths = np.array([a.shape[0] for a in arrays], dtype=np.int64)
        input_ids = pad_sequence(arrays, batch_first=True, padding_value=self.padding_value,
                                 padding_side=self.padding_side)
        positions = np.arange(input_ids.shape[1])
        mask = positions[None, :] < lengths[:, None]
        if self.padding_side == "left":
            mask = mask[:, ::-1]
        if not self.return_dict:
            return (input_ids, extras["labels"]) if "labels" in extras else input_ids
        out = {"input_ids": input_ids, "attention_mask": ember.from_numpy(np.ascontiguousarray(mask, dtype=np.int64)),
               "lengths": ember.from_numpy(lengths)}
        out.update(extras)
        return out


class Truncate:
    """Cuts a sequence (or each sequence of a list of sequences) to at most ``max_seq_len`` items.

    Example:
        >>> Truncate(2)([[1, 2, 3], [4]])
        [[1, 2], [4]]
    """

    def __init__(self, max_seq_len: int):
        if max_seq_len < 0:
            raise ValueError(f"max_seq_len must be >= 0, got {max_seq_len}")
        self.max_seq_len = max_seq_len

    def __call__(self, input):
        if isinstance(input, list) and input and isinstance(input[0], (list, tuple, str, np.ndarray, Tensor)):
            return [x[: self.max_seq_len] for x in input]
        return input[: self.max_seq_len]

    def __repr__(self) -> str:
        return f"Truncate(max_seq_len={self.max_seq_len})"


class BucketBatchSampler(Sampler[list[int]]):
    """Yields batches of indices whose samples have similar lengths, in a shuffled order.

    Each epoch: shuffle all indices, cut them into pools of ``batch_size * bucket_size_multiplier``,
    sort each pool by length, cut pools into batches and shuffle the batches. Every index appears
    exactly once per epoch, padding is small (each batch holds neighbours in length), and the order
    depends only on ``(seed, epoch)``. With ``shuffle=False`` batches are the length-sorted dataset.

    With ``seed=None`` (the default) each pass draws its seed from Ember's default generator; inside a
    ``DataLoader`` that generator is the loader's per-epoch stream, so the batches follow the loader's
    seed and epoch, and resuming mid-epoch from ``loader.state_dict()`` reproduces them exactly. With an
    integer ``seed`` the order depends on ``(seed, epoch)`` alone: the epoch advances by one after each
    pass, and ``set_epoch(epoch)`` sets it (as for ``DistributedSampler``).

    Args:
        lengths: the length of every sample.
        batch_size: samples per batch.
        drop_last: drop the one incomplete batch.
        shuffle: shuffle (else sort the whole dataset by length).
        bucket_size_multiplier: pool size in batches; larger means less padding but less randomness.
        seed: the seed of the shuffles, or ``None`` to draw from Ember's default generator.

    Example:
        >>> sampler = BucketBatchSampler([5, 1, 4, 2, 3, 1], batch_size=2)
        >>> sorted(i for batch in sampler for i in batch)
        [0, 1, 2, 3, 4, 5]
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, drop_last: bool = False, shuffle: bool = True,
                 bucket_size_multiplier: int = 100, seed: int | None = None):
        if batch_size < 1 or bucket_size_multiplier < 1:
            raise ValueError(f"BucketBatchSampler: batch_size ({batch_size}) and bucket_size_multiplier "
                             f"({bucket_size_multiplier}) must be positive")
        self.lengths = np.asarray(lengths, dtype=np.int64)
        if self.lengths.ndim != 1:
            raise ValueError(f"BucketBatchSampler: lengths must be 1-D, got shape {self.lengths.shape}")
        self.batch_size, self.drop_last, self.shuffle = batch_size, drop_last, shuffle
        self.bucket_size_multiplier, self.seed, self.epoch = bucket_size_multiplier, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def batches(self, epoch: int) -> list[list[int]]:
        """The batches of epoch ``epoch`` (with ``seed=None``, of a new draw from the default generator)."""
        n, bs = len(self.lengths), self.batch_size
        if not self.shuffle:
            order = np.argsort(self.lengths, kind="stable")
            batches = [order[i:i + bs] for i in range(0, n, bs)]
        else:
            if self.seed is None:
                rng = np.random.Generator(np.random.PCG64(int(default_generator.np.integers(0, 2**63 - 1))))
            else:
                rng = np.random.Generator(np.random.PCG64([self.seed, epoch]))
            perm = rng.permutation(n)
            pool = bs * self.bucket_size_multiplier
            batches = []
            for start in range(0, n, pool):
                chunk = perm[start:start + pool]
                chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]
                batches.extend(chunk[i:i + bs] for i in range(0, len(chunk), bs))
            batches = [batches[i] for i in rng.permutation(len(batches))]
        if self.drop_last:
            batches = [b for b in batches if len(b) == bs]
        return [b.tolist() for b in batches]

    def __iter__(self) -> Iterator[list[int]]:
        epoch = self.epoch
        self.epoch += 1
        yield from self.batches(epoch)

    def __len__(self) -> int:
        n = len(self.lengths)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
