"""Producing one batch, the same way in the main process and in a worker.

For a map-style dataset every sample is loaded with the global generators seeded from
``sample_seed(loader_seed, epoch, index)`` and a user ``collate_fn`` runs seeded from
``(loader_seed, epoch, batch_index)``; so a batch depends only on those numbers, never on which process
made it or what it made before.
"""

from __future__ import annotations

from .collate import default_collate, default_convert
from .seeding import COLLATE_TAG, GETITEMS_TAG, capture, derive_seed, restore, sample_seed, seed_all


class Exhausted(Exception):
    """An iterable dataset has no more samples (for this worker)."""


def _remember_index(error: BaseException, index) -> None:
    try:
        error._ember_sample_index = index
    except Exception:  # exceptions with __slots__  # noqa: BLE001, S110
        pass


def fetch_map_batch(dataset, indices, auto_collation: bool, collate_fn, loader_seed: int, epoch: int,
                    batch_index: int, restore_rng: bool):
    """``collate_fn([dataset[i] for i in indices])`` (or ``collate_fn(dataset[indices])`` without
    auto-collation), each sample under its own seed (a dataset with ``__getitems__`` is called once per
    batch, under a seed derived from the batch's position). With ``restore_rng`` the caller's random streams are
    left as they were."""
    seed_samples = getattr(dataset, "_needs_rng", True)
    seed_collate = collate_fn is not default_collate and collate_fn is not default_convert
    saved = capture() if restore_rng and (seed_samples or seed_collate) else None
    try:
        if auto_collation and hasattr(dataset, "__getitems__"):
            # A dataset that loads a whole batch at once (as PyTorch's fetcher allows) gets one seed per batch.
            if seed_samples:
                seed_all(derive_seed(loader_seed, epoch, GETITEMS_TAG, batch_index))
            try:
                samples = dataset.__getitems__(indices)
            except Exception as error:
                _remember_index(error, indices)
                raise
        elif auto_collation:
            samples = []
            for index in indices:
                if seed_samples:
                    seed_all(sample_seed(loader_seed, epoch, index))
                try:
                    samples.append(dataset[index])
                except Exception as error:
                    _remember_index(error, index)
                    raise
        else:
            if seed_samples:
                seed_all(sample_seed(loader_seed, epoch, indices))
            try:
                samples = dataset[indices]
            except Exception as error:
                _remember_index(error, indices)
                raise
        if seed_collate:
            seed_all(derive_seed(loader_seed, epoch, COLLATE_TAG, batch_index))
        return collate_fn(samples)
    finally:
        if saved is not None:
            restore(saved)


def fetch_iterable_batch(iterator, auto_collation: bool, batch_size: int | None, drop_last: bool, collate_fn):
    """The next batch from ``iterator``; raises ``Exhausted`` when there is none (or only a short one
    with ``drop_last``)."""
    if not auto_collation:
        try:
            return collate_fn(next(iterator))
        except StopIteration:
            raise Exhausted from None
    samples = []
    for _ in range(batch_size):
        try:
            samples.append(next(iterator))
        except StopIteration:
            break
    if not samples or (drop_last and len(samples) < batch_size):
        raise Exhausted
    return collate_fn(samples)
