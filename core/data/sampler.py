"""Samplers: which indices a loader fetches, in which order. Follows ``torch.utils.data.sampler``.

A sampler with ``generator=None`` draws a fresh seed from Ember's default generator each time it is
iterated, as PyTorch's do; give it a ``generator`` for an order that depends on that generator alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Generic, TypeVar

import numpy as np

from ..random import Generator, default_generator
from ..tensor import Tensor

T_co = TypeVar("T_co", covariant=True)


def _positive_int(value, name: str, sampler: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{sampler}: {name} should be a positive integer value, but got {name}={value!r}")
    return int(value)


def _bool(value, name: str, sampler: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{sampler}: {name} should be a boolean value, but got {name}={value!r}")
    return value


def _numpy_generator(generator: Generator | None) -> np.random.Generator:
    if generator is not None:
        return generator.np
    # PyTorch's behaviour: one draw from the default generator seeds a private stream per iteration.
    seed = int(default_generator.np.integers(0, 2**63 - 1))
    return np.random.Generator(np.random.PCG64(seed))


class Sampler(Generic[T_co]):
    """Base class: an iterable over dataset indices (or lists of indices, for batch samplers).

    Example:
        >>> class Evens(Sampler):
        ...     def __init__(self, n):
        ...         self.n = n
        ...     def __iter__(self):
        ...         return iter(range(0, self.n, 2))
        ...     def __len__(self):
        ...         return (self.n + 1) // 2
        >>> list(Evens(5))
        [0, 2, 4]
    """

    def __init__(self, data_source=None) -> None:
        pass

    def __iter__(self) -> Iterator[T_co]:
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")


class SequentialSampler(Sampler[int]):
    """Indices ``0 .. len(data_source) - 1`` in order.

    Example:
        >>> list(SequentialSampler(range(3)))
        [0, 1, 2]
    """

    def __init__(self, data_source: Sequence) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler[int]):
    """Random indices: a permutation (repeated if ``num_samples > len``), or draws with replacement.

    Args:
        data_source: the dataset (only its length is used).
        replacement: draw with replacement.
        num_samples: how many indices per iteration (default ``len(data_source)``).
        generator: generator for the order (default: a seed drawn from Ember's default generator).

    Example:
        >>> import ember
        >>> s = RandomSampler(range(5), generator=ember.Generator().manual_seed(0))
        >>> sorted(s)
        [0, 1, 2, 3, 4]
    """

    def __init__(self, data_source: Sequence, replacement: bool = False, num_samples: int | None = None,
                 generator: Generator | None = None) -> None:
        self.data_source = data_source
        self.replacement = _bool(replacement, "replacement", "RandomSampler")
        self._num_samples = num_samples
        self.generator = generator
        _positive_int(self.num_samples, "num_samples", "RandomSampler")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n = len(self.data_source)
        rng = _numpy_generator(self.generator)
        if self.replacement:
            for start in range(0, self.num_samples, 32):  # in chunks, like PyTorch
                yield from rng.integers(0, n, size=min(32, self.num_samples - start)).tolist()
            return
        for _ in range(self.num_samples // n):
            yield from rng.permutation(n).tolist()
        yield from rng.permutation(n)[: self.num_samples % n].tolist()

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler[int]):
    """The given indices in a random order.

    Example:
        >>> import ember
        >>> sorted(SubsetRandomSampler([7, 3, 5], generator=ember.Generator().manual_seed(0)))
        [3, 5, 7]
    """

    def __init__(self, indices: Sequence[int], generator: Generator | None = None) -> None:
        self.indices = indices
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        for i in _numpy_generator(self.generator).permutation(len(self.indices)).tolist():
            yield self.indices[i]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler[int]):
    """Indices ``0 .. len(weights) - 1`` drawn with probabilities proportional to ``weights``.

    Args:
        weights: non-negative weights, one per index (need not sum to 1).
        num_samples: how many indices to draw.
        replacement: draw with replacement (without it, ``num_samples <= len(weights)``).
        generator: generator for the draws.

    Example:
        >>> import ember
        >>> s = WeightedRandomSampler([0.0, 1.0, 0.0], 4, generator=ember.Generator().manual_seed(0))
        >>> list(s)
        [1, 1, 1, 1]
    """

    def __init__(self, weights: Sequence[float], num_samples: int, replacement: bool = True,
                 generator: Generator | None = None) -> None:
        self.num_samples = _positive_int(num_samples, "num_samples", "WeightedRandomSampler")
        self.replacement = _bool(replacement, "replacement", "WeightedRandomSampler")
        weights = np.asarray(getattr(weights, "_data", weights), dtype=np.float64)
        if weights.ndim != 1:
            raise ValueError(
                f"WeightedRandomSampler: weights should be a 1d sequence but given weights have shape "
                f"{tuple(weights.shape)}"
            )
        if (weights < 0).any() or not np.isfinite(weights).all() or weights.sum() <= 0:
            raise ValueError("WeightedRandomSampler: weights must be finite, non-negative and not all zero")
        if not replacement and num_samples > int((weights > 0).sum()):
            raise ValueError(
                f"WeightedRandomSampler: cannot draw {num_samples} samples without replacement from "
                f"{int((weights > 0).sum())} indices with non-zero weight"
            )
        self.weights = Tensor._wrap(weights)
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        p = self.weights._data / self.weights._data.sum()
        rng = _numpy_generator(self.generator)
        yield from rng.choice(len(p), size=self.num_samples, replace=self.replacement, p=p).tolist()

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler[list[int]]):
    """Groups the indices of ``sampler`` into lists of ``batch_size`` (the last one shorter unless ``drop_last``).

    Example:
        >>> list(BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False))
        [[0, 1], [2, 3], [4]]
        >>> list(BatchSampler(range(5), batch_size=2, drop_last=True))
        [[0, 1], [2, 3]]
    """

    def __init__(self, sampler: Sampler[int] | Iterable[int], batch_size: int, drop_last: bool) -> None:
        self.batch_size = _positive_int(batch_size, "batch_size", "BatchSampler")
        self.drop_last = _bool(drop_last, "drop_last", "BatchSampler")
        self.sampler = sampler

    def __iter__(self) -> Iterator[list[int]]:
        batch: list[int] = []
        for index in self.sampler:
            batch.append(index)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return (len(self.sampler) + self.batch_size - 1) // self.batch_size
