"""Giving each rank its share of a data loader, without losing Ember's exact order and resume.

The inserted sampler is a ``DistributedSampler`` whose epoch order is the order the loader would
have used on its own (its shuffle is derived from the loader's seed and the epoch, exactly as the
loader does), cut as ``DistributedSampler`` cuts it: rank ``r`` takes positions ``r, r + W, ...``.
So with ``W`` ranks of batch ``B`` each, step ``k`` of the job sees exactly the samples that one process
with batch ``W * B`` sees at step ``k``, and a checkpoint's loader state (seed, epoch, position)
resumes every rank exactly.
"""

from __future__ import annotations

import math
import warnings
import weakref

from ember.data import BatchSampler, DataLoader, DistributedSampler, IterableDataset, RandomSampler
from ember.data.seeding import SHUFFLE_TAG, derive_seed
from ember.random import Generator


class LoaderOrderSampler(DistributedSampler):
    """A ``DistributedSampler`` over the epoch order of the loader it belongs to."""

    loader_ref = None

    def __iter__(self):
        loader = self.loader_ref() if self.loader_ref is not None else None
        seed = loader.state_dict()["seed"] if loader is not None else self.seed
        n = len(self.dataset)
        if self.shuffle:
            generator = Generator().manual_seed(derive_seed(seed, self.epoch, SHUFFLE_TAG))
            indices = [int(i) for i in RandomSampler(self.dataset, generator=generator)]
        else:
            indices = list(range(n))
        if self.drop_last:
            indices = indices[: self.total_size]
        else:
            padding = self.total_size - len(indices)
            indices += (indices * math.ceil(padding / max(1, len(indices))))[:padding]
        return iter(indices[self.rank: self.total_size: self.num_replicas])


def distribute(loader, rank: int, world_size: int, seed: int):
    """``loader`` rebuilt to read this rank's share (or ``loader`` itself when that is not possible)."""
    if not isinstance(loader, DataLoader):
        warnings.warn(f"DDP: a {type(loader).__name__} is not an ember DataLoader; every rank reads all of it. "
                      "Give it a DistributedSampler yourself to split the data.", stacklevel=4)
        return loader
    if isinstance(loader.sampler, DistributedSampler) or isinstance(loader.dataset, IterableDataset):
        return loader  # already split by the user (an iterable dataset splits itself by rank)
    if loader.batch_sampler is not None and type(loader.batch_sampler) is not BatchSampler:
        warnings.warn("DDP: a DataLoader with a custom batch_sampler is used as is on every rank", stacklevel=4)
        return loader
    shuffle = isinstance(loader.sampler, RandomSampler)  # what shuffle=True makes
    sampler = LoaderOrderSampler(loader.dataset, num_replicas=world_size, rank=rank, shuffle=shuffle, seed=seed)
    new = DataLoader(
        loader.dataset, batch_size=loader.batch_size, sampler=sampler, num_workers=loader.num_workers,
        collate_fn=loader.collate_fn, pin_memory=loader.pin_memory, drop_last=loader.drop_last,
        timeout=loader.timeout, worker_init_fn=loader.worker_init_fn,
        multiprocessing_context=loader.multiprocessing_context,
        generator=Generator().manual_seed(0),  # (not the default generator: building must not move it)
        prefetch_factor=loader.prefetch_factor, persistent_workers=loader.persistent_workers,
    )
    new.load_state_dict({"seed": seed, "epoch": 0, "position": 0})  # one seed on every rank, as in one process
    sampler.loader_ref = weakref.ref(new)
    return new
