"""``ember.data`` (also importable as ``ember.utils.data``): datasets, samplers and the ``DataLoader``.

Names and arguments follow ``torch.utils.data``. What Ember adds is determinism by construction: every
sample is loaded with the random generators seeded from (loader seed, epoch, sample index), so batches
(augmentations included) are the same for any ``num_workers`` and an epoch can resume at any batch.

Example:
    >>> import ember
    >>> from ember.data import DataLoader, TensorDataset
    >>> loader = DataLoader(TensorDataset(ember.arange(6)), batch_size=4)
    >>> [batch[0].tolist() for batch in loader]
    [[0, 1, 2, 3], [4, 5]]
"""

from __future__ import annotations

from .collate import default_collate, default_convert
from .dataloader import DataLoader
from .dataset import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    StackDataset,
    Subset,
    TensorDataset,
    random_split,
)
from .distributed import DistributedSampler
from .sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)
from .seeding import sample_seed
from .worker import WorkerInfo, get_worker_info

__all__ = [
    "BatchSampler", "ChainDataset", "ConcatDataset", "DataLoader", "Dataset", "DistributedSampler",
    "IterableDataset", "RandomSampler", "Sampler", "SequentialSampler", "StackDataset", "Subset",
    "SubsetRandomSampler", "TensorDataset", "WeightedRandomSampler", "WorkerInfo", "default_collate",
    "default_convert", "get_worker_info", "random_split", "sample_seed",
]
