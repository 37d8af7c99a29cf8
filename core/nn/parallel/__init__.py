"""``ember.nn.parallel``: PyTorch's data-parallel wrappers. ``DistributedDataParallel`` averages gradients
over the ranks of an MPI job (``ember.distributed``); ``DataParallel`` runs its module on the one CPU device."""

from __future__ import annotations

from .data_parallel import DataParallel, data_parallel
from .distributed import DistributedDataParallel

__all__ = ["DataParallel", "DistributedDataParallel", "data_parallel"]
