"""Data-loader plumbing for the Trainer: where loaders come from, how many batches to use, and
positioning the training loader exactly (epoch and batch) for deterministic runs and resumes."""

from __future__ import annotations

import contextlib
import itertools
import math
from typing import Any

from ember import Tensor
from ember.data import DataLoader


def as_list(loaders: Any) -> list:
    if loaders is None:
        return []
    if isinstance(loaders, (list, tuple)):
        return list(loaders)
    return [loaders]


def has_len(loader) -> bool:
    try:
        len(loader)
    except TypeError:
        return False
    return True


def num_batches(loader, limit: float | None, name: str) -> int | float:
    """Batches to take from ``loader``: all of them, ``limit`` if an int, or a fraction of them."""
    length = len(loader) if has_len(loader) else float("inf")
    if limit is None:
        return length
    if isinstance(limit, bool) or not isinstance(limit, (int, float)) or limit < 0:
        raise ValueError(f"{name} must be an int >= 0 or a float in [0, 1], got {limit!r}")
    if isinstance(limit, int):
        return min(length, limit)
    if limit > 1.0:
        raise ValueError(f"{name}={limit}: a float is a fraction of the batches and must be <= 1.0")
    if length == float("inf"):
        return length if limit == 1.0 else 0
    n = int(length * limit)
    if limit > 0 and n == 0:
        raise ValueError(f"{name}={limit} selects 0 of the {length} batches; use a larger fraction or an int")
    return n


def position_loader(loader, epoch: int, position: int, seed: int | None = None) -> None:
    """Makes the next ``iter(loader)`` yield batch ``position`` of epoch ``epoch`` onwards (Ember
    DataLoaders only: their shuffling and augmentation depend on nothing but (seed, epoch, index))."""
    state = {"epoch": epoch, "position": position}
    if seed is not None:
        state["seed"] = seed
    loader.load_state_dict(state)
    sampler = getattr(loader, "sampler", None)
    if hasattr(sampler, "set_epoch"):  # a DistributedSampler shuffles by epoch (as Lightning sets it)
        sampler.set_epoch(epoch)


def is_positionable(loader) -> bool:
    return hasattr(loader, "load_state_dict") and hasattr(loader, "state_dict")


@contextlib.contextmanager
def batches(loader, start: int, stop: float, profiler=None, action: str = ""):
    """``(batch_idx, batch)`` pairs for batches ``start`` to ``stop`` of the loader's current epoch, for a
    ``with`` block. A loader that cannot be positioned is replayed from its start and the first ``start`` batches
    skipped. With a ``profiler``, fetching each batch is timed as ``action``.

    The pairs are a ``zip`` of the indices and the loader's iterator (no Python frame per batch). When the block
    raises (a batch failed to load, or the step failed) the loader's iterator is closed at once: its workers stop
    now, as Lightning's teardown does, rather than when the iterator is collected, which the exception's
    traceback delays."""
    iterator = fetched = iter(loader)
    if not hasattr(iterator, "__iter__"):  # (an iterator with __next__ alone, which zip would refuse)
        fetched = iter(iterator.__next__, _END)
    if start and not is_positionable(loader):
        fetched = itertools.islice(fetched, start, None)
    if profiler is not None:
        fetched = _timed(fetched, profiler, action)
    indices = itertools.count(start) if stop == math.inf else range(start, int(stop))
    try:
        yield zip(indices, fetched)  # (zip takes the next index first: no batch is fetched past ``stop``)
    except BaseException:
        if hasattr(iterator, "close"):
            iterator.close()
        raise


def _timed(iterator, profiler, action: str):
    while True:
        with profiler.profile(action):
            batch = next(iterator, _END)
        if batch is _END:
            return
        yield batch


_END = object()


def unshuffled(loader):
    """A copy of an Ember DataLoader that reads the dataset in order (for ``overfit_batches``)."""
    if not isinstance(loader, DataLoader) or getattr(loader, "batch_size", None) is None:
        return loader
    return DataLoader(loader.dataset, batch_size=loader.batch_size, shuffle=False, num_workers=loader.num_workers,
                      collate_fn=loader.collate_fn, drop_last=loader.drop_last)


def to_dtype(batch, dtype):
    """Floating tensors in ``batch`` cast to ``dtype`` (for ``precision="64"``)."""
    if isinstance(batch, Tensor):
        return batch.to(dtype) if batch.is_floating_point() and batch.dtype != dtype else batch
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_dtype(b, dtype) for b in batch)
    if isinstance(batch, dict):
        return {k: to_dtype(v, dtype) for k, v in batch.items()}
    return batch
