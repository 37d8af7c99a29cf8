"""``DataLoader``: batches from a dataset, in the main process or in worker processes, exactly reproducibly.

How the determinism works (DESIGN.md, "ember.data"): the loader has one seed, drawn once when it is
created (from ``generator`` if given, else from Ember's default generator, so ``ember.manual_seed`` makes
a run reproducible). Epoch ``e``'s shuffling order is derived from ``(seed, e)``; sample ``i`` of epoch
``e`` is loaded with the global generators seeded from ``(seed, e, i)`` (see ``seeding.py``). A batch is
thus a function of ``(seed, epoch, batch position)`` alone: identical for any ``num_workers``, with or
without persistent workers, and after resuming mid-epoch with ``load_state_dict``.
"""

from __future__ import annotations

import itertools
import multiprocessing
import sys
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from ..random import Generator, default_generator
from .collate import default_collate, default_convert
from .dataset import Dataset, IterableDataset
from .distributed import DistributedSampler
from .fetch import Exhausted, fetch_iterable_batch, fetch_map_batch
from .multiprocess import MultiProcessIterator
from .sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)
from .seeding import SAMPLER_TAG, SHUFFLE_TAG, WORKER_TAG, RNGStream, derive_seed

T_co = TypeVar("T_co", covariant=True)


class _InfiniteConstantSampler(Sampler):
    """The placeholder sampler of an iterable dataset: yields ``None`` forever."""

    def __iter__(self):
        while True:
            yield None


def _self_seeded(sampler) -> bool:
    """Whether ``sampler``'s order is already fixed without the global generators."""
    if isinstance(sampler, BatchSampler):
        return _self_seeded(sampler.sampler)
    if isinstance(sampler, (SequentialSampler, DistributedSampler, _InfiniteConstantSampler, range, list, tuple)):
        return True
    if isinstance(sampler, (RandomSampler, SubsetRandomSampler, WeightedRandomSampler)):
        return sampler.generator is not None
    return False


class _StreamIterator:
    """Iterates ``iterable`` with the global generators swapped for a private stream: a user's sampler
    that draws from them gets an order fixed by the loader's seed and leaves the main streams alone."""

    def __init__(self, iterable: Iterable, stream: RNGStream):
        self._stream = stream
        with stream:
            self._iterator = iter(iterable)

    def __iter__(self):
        return self

    def __next__(self):
        with self._stream:
            return next(self._iterator)


class _IndexPlan:
    """How a loader's epochs are cut into batches of indices (kept apart from the loader itself so that a
    persistent iterator does not reference its loader)."""

    def __init__(self, loader: DataLoader):
        self.dataset = loader.dataset
        self.index_sampler = loader._index_sampler
        self.shuffle_internally = loader._shuffle_internally
        self.auto_collation = loader._auto_collation
        self.batch_size, self.drop_last = loader.batch_size, loader.drop_last

    def batches(self, epoch: int, seed: int, skip: int):
        """``(batch_index, indices)`` of the epoch from ``skip`` on; indices only, no sample is loaded."""
        if self.shuffle_internally:
            generator = Generator().manual_seed(derive_seed(seed, epoch, SHUFFLE_TAG))
            index_sampler = RandomSampler(self.dataset, generator=generator)
            if self.auto_collation:
                index_sampler = BatchSampler(index_sampler, self.batch_size, self.drop_last)
        else:
            index_sampler = self.index_sampler
        if _self_seeded(index_sampler):
            iterator = iter(index_sampler)
        else:
            iterator = _StreamIterator(index_sampler, RNGStream(derive_seed(seed, epoch, SAMPLER_TAG)))
        return itertools.islice(enumerate(iterator), skip, None)


class _Progress:
    """Where the current epoch is: shared by a loader and its iterator (no reference cycle between them)."""

    __slots__ = ("epoch", "finished", "position")

    def __init__(self, epoch: int, position: int):
        self.epoch, self.position, self.finished = epoch, position, False


class DataLoader(Generic[T_co]):
    """Iterates over a dataset in batches, optionally with worker processes; PyTorch's arguments.

    Args:
        dataset: a map-style ``Dataset`` (anything with ``__getitem__``/``__len__``) or an ``IterableDataset``.
        batch_size: samples per batch; ``None`` disables batching (each sample goes through ``collate_fn``
            alone, by default ``default_convert``).
        shuffle: a new random order every epoch (derived from the loader's seed and the epoch).
        sampler: the order of indices (mutually exclusive with ``shuffle``).
        batch_sampler: yields lists of indices (mutually exclusive with ``batch_size``, ``shuffle``,
            ``sampler``, ``drop_last``).
        num_workers: worker processes; 0 loads in the main process.
        collate_fn: merges a list of samples into a batch (default ``default_collate``).
        pin_memory: accepted for compatibility; no effect on the CPU.
        drop_last: drop the last incomplete batch.
        timeout: seconds to wait for a batch from the workers before raising (0: wait forever).
        worker_init_fn: called as ``worker_init_fn(worker_id)`` in each worker after it starts.
        multiprocessing_context: a context or start-method name (default: ``"fork"`` on Linux).
        generator: the loader's seed is drawn from it (default: Ember's default generator).
        prefetch_factor: batches in flight per worker (default 2 with workers).
        persistent_workers: keep the workers alive between epochs.

    Example:
        >>> import ember
        >>> from ember.data import DataLoader, TensorDataset
        >>> ds = TensorDataset(ember.arange(10).float(), ember.arange(10))
        >>> loader = DataLoader(ds, batch_size=4, shuffle=True, generator=ember.Generator().manual_seed(0))
        >>> [len(y) for x, y in loader]
        [4, 4, 2]
        >>> state = loader.state_dict()  # epoch 1, position 0: resumable at any batch
    """

    __initialized = False

    def __init__(self, dataset: Dataset, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler: Sampler | Iterable | None = None, batch_sampler: Sampler | Iterable | None = None,
                 num_workers: int = 0, collate_fn: Callable | None = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0, worker_init_fn: Callable | None = None,
                 multiprocessing_context=None, generator: Generator | None = None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False,
                 pin_memory_device: str = "") -> None:
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and timeout > 0:
            raise ValueError(f"timeout={timeout} needs worker processes (num_workers > 0)")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError(
                "prefetch_factor option could only be specified in multiprocessing. let num_workers > 0 to "
                "enable multiprocessing, otherwise set prefetch_factor to None."
            )
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        if prefetch_factor is not None and prefetch_factor <= 0:
            raise ValueError(f"prefetch_factor option should be a positive integer, got {prefetch_factor}")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")

        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.persistent_workers = persistent_workers
        self.worker_init_fn = worker_init_fn
        self.generator = generator
        self.multiprocessing_context = multiprocessing_context

        iterable = isinstance(dataset, IterableDataset)
        if iterable:
            if shuffle not in (False, None):
                raise ValueError(
                    f"DataLoader with IterableDataset: expected unspecified shuffle option, but got shuffle={shuffle}"
                )
            if sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified sampler option, but got "
                                 f"sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified batch_sampler option, but "
                                 f"got batch_sampler={batch_sampler}")
        shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and drop_last"
                )
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError(
                "batch_size=None option disables auto-batching and is mutually exclusive with drop_last"
            )
        self._shuffle_internally = shuffle
        if sampler is None:
            if iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.collate_fn = collate_fn or (default_collate if batch_sampler is not None else default_convert)
        self._iterable = iterable
        self._seed = int((generator or default_generator).np.integers(0, 2**63 - 1))
        self._next_epoch, self._resume_position = 0, 0
        self._progress: _Progress | None = None
        self._iterator = None
        self.__initialized = True

    def __setattr__(self, name, value):
        if self.__initialized and name in (
            "batch_size", "batch_sampler", "sampler", "drop_last", "dataset", "persistent_workers"
        ):
            raise ValueError(f"{name} attribute should not be set after {type(self).__name__} is initialized")
        super().__setattr__(name, value)

    @property
    def multiprocessing_context(self):
        return self.__multiprocessing_context

    @multiprocessing_context.setter
    def multiprocessing_context(self, context) -> None:
        if context is not None:
            if self.num_workers == 0:
                raise ValueError(
                    "multiprocessing_context can only be used with multi-process loading (num_workers > 0), "
                    f"but got num_workers={self.num_workers}"
                )
            if isinstance(context, str):
                methods = multiprocessing.get_all_start_methods()
                if context not in methods:
                    raise ValueError(f"multiprocessing_context option should specify a valid start method in "
                                     f"{methods!r}, but got multiprocessing_context={context!r}")
                context = multiprocessing.get_context(context)
            elif not hasattr(context, "Process"):
                raise TypeError(f"multiprocessing_context option should be a valid context object or a string "
                                f"specifying the start method, but got multiprocessing_context={context}")
        self.__multiprocessing_context = context

    def _context(self):
        if self.multiprocessing_context is not None:
            return self.multiprocessing_context
        if sys.platform.startswith("linux"):
            return multiprocessing.get_context("fork")
        return multiprocessing.get_context()

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def _index_plan(self) -> _IndexPlan | None:
        return None if self._iterable else _IndexPlan(self)

    def __len__(self) -> int:
        if self._iterable:
            length = len(self.dataset)
            if self.batch_size is not None:
                length = length // self.batch_size if self.drop_last else -(-length // self.batch_size)
            return length
        return len(self._index_sampler)

    # --- epochs and positions ------------------------------------------------------------------------
    def __iter__(self):
        epoch, skip = self._next_epoch, self._resume_position
        self._next_epoch, self._resume_position = epoch + 1, 0
        progress = self._progress = _Progress(epoch, skip)
        if self.num_workers == 0:
            return _SingleProcessIterator(self, epoch, self._seed, skip, progress)
        if not self.persistent_workers:
            return MultiProcessIterator(self, self._index_plan(), epoch, self._seed, skip, progress)
        if self._iterator is None or self._iterator.is_shut_down:
            self._iterator = MultiProcessIterator(self, self._index_plan(), epoch, self._seed, skip, progress)
        else:
            self._iterator.reset(epoch, self._seed, skip, progress)
        return self._iterator

    def state_dict(self) -> dict:
        """Where the loader is: ``{"seed", "epoch", "position"}``, plain ints.

        ``position`` is the number of batches of ``epoch`` already consumed. After an epoch ends the state
        points at the start of the next one. ``load_state_dict`` of this state makes the next ``iter()``
        yield exactly the batches that were still to come, without loading the skipped samples.
        """
        progress = self._progress
        if progress is None or progress.finished:
            return {"seed": self._seed, "epoch": self._next_epoch, "position": self._resume_position}
        return {"seed": self._seed, "epoch": progress.epoch, "position": progress.position}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restores a ``state_dict``: the next ``iter()`` resumes epoch ``epoch`` at batch ``position``."""
        missing = [key for key in ("epoch", "position") if key not in state_dict]
        if missing:
            raise KeyError(f"DataLoader.load_state_dict: missing keys {missing} in {sorted(state_dict)}")
        epoch, position = int(state_dict["epoch"]), int(state_dict["position"])
        if epoch < 0 or position < 0:
            raise ValueError(f"DataLoader.load_state_dict: epoch and position must be >= 0, got {state_dict}")
        if "seed" in state_dict:
            self._seed = int(state_dict["seed"])
        self._next_epoch, self._resume_position = epoch, position
        self._progress = None


class _SingleProcessIterator:
    """Loads batches in the main process (``num_workers=0``)."""

    def __init__(self, loader: DataLoader, epoch: int, seed: int, skip: int, progress: _Progress):
        self._dataset = loader.dataset
        self._collate_fn = loader.collate_fn
        self._auto_collation = loader._auto_collation
        self._epoch, self._seed, self._progress = epoch, seed, progress
        self._iterable = loader._iterable
        if self._iterable:
            self._batch_size, self._drop_last = loader.batch_size, loader.drop_last
            # The stream worker 0 of a multi-process loader would use: same batches for num_workers 0 and 1.
            self._stream = RNGStream(derive_seed(seed, epoch, WORKER_TAG, 0))
            with self._stream:
                self._iterator = iter(self._dataset)
            self._exhausted = False
            for _ in range(skip):  # an iterable dataset cannot seek: produce and drop
                if not self._next_iterable():
                    break
        else:
            self._batches = _IndexPlan(loader).batches(epoch, seed, skip)

    def __iter__(self):
        return self

    def _next_iterable(self):
        if self._exhausted:
            return None
        with self._stream:
            try:
                return (fetch_iterable_batch(self._iterator, self._auto_collation, self._batch_size,
                                             self._drop_last, self._collate_fn),)
            except Exhausted:
                self._exhausted = True
                return None

    def __next__(self):
        if self._iterable:
            batch = self._next_iterable()
            if batch is None:
                self._progress.finished = True
                raise StopIteration
            self._progress.position += 1
            return batch[0]
        try:
            batch_index, indices = next(self._batches)
        except StopIteration:
            self._progress.finished = True
            raise
        self._progress.position = batch_index + 1
        try:
            return fetch_map_batch(self._dataset, indices, self._auto_collation, self._collate_fn, self._seed,
                                   self._epoch, batch_index, restore_rng=True)
        except Exception as error:
            index = getattr(error, "_ember_sample_index", None)
            if index is not None and hasattr(error, "add_note"):
                error.add_note(f"(raised while the DataLoader was loading sample index {index})")
            raise
