"""``DistributedSampler``: each of ``num_replicas`` processes sees its own share of every epoch."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator

import numpy as np

from .. import distributed as dist
from .dataset import Dataset
from .sampler import Sampler


class DistributedSampler(Sampler[int]):
    """Splits the indices of ``dataset`` between ``num_replicas`` processes (as ``torch.utils.data.distributed``).

    All replicas shuffle with the same seed (``seed + epoch``) and then take every ``num_replicas``-th
    index from position ``rank``. Without ``drop_last`` the list is padded by repeating indices from its
    start, so every replica gets ``ceil(len / num_replicas)`` indices; with ``drop_last`` the tail is
    dropped instead. Call ``set_epoch(epoch)`` before each epoch to change the order.

    Args:
        dataset: the dataset (only its length is used).
        num_replicas: number of processes (default: the ``ember.distributed`` process group's size once
            ``init_process_group`` ran, else ``$WORLD_SIZE``, else the MPI launcher's, else 1).
        rank: this process's rank (default: the process group's rank, else ``$RANK``, else the MPI
            launcher's, else 0).
        shuffle: shuffle the indices each epoch.
        seed: shuffling seed; must be the same on every replica.
        drop_last: drop the tail instead of padding.

    Example:
        >>> s = DistributedSampler(range(5), num_replicas=2, rank=1, shuffle=False)
        >>> list(s)
        [1, 3, 0]
    """

    def __init__(self, dataset: Dataset, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None:
            num_replicas = dist.get_world_size() if dist.is_initialized() else int(
                os.environ.get("WORLD_SIZE", dist.launched_world_size()))
        if rank is None:
            rank = dist.get_rank() if dist.is_initialized() else int(os.environ.get("RANK", dist.launched_rank()))
        if num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas should be at least 1, got {num_replicas}")
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        n = len(dataset)
        if drop_last and n % num_replicas != 0:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        if self.shuffle:
            rng = np.random.Generator(np.random.PCG64(self.seed + self.epoch))
            indices = rng.permutation(n).tolist()
        else:
            indices = list(range(n))
        if not self.drop_last:
            padding_size = self.total_size - len(indices)
            if padding_size <= len(indices):
                indices += indices[:padding_size]
            else:
                indices += (indices * math.ceil(padding_size / len(indices)))[:padding_size]
        else:
            indices = indices[: self.total_size]
        assert len(indices) == self.total_size
        indices = indices[self.rank : self.total_size : self.num_replicas]
        assert len(indices) == self.num_samples
        return iter(indices)

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Sets the epoch; with ``shuffle`` every epoch gets a different order (the same on all replicas)."""
        self.epoch = epoch
