"""Gradient averaging over flat buffers: one ``Allreduce`` per bucket instead of one per parameter.

Both data-parallel wrappers use it: ``nn.parallel.DistributedDataParallel`` and the Trainer's
``DDPStrategy``.

Parameters are packed, last layer first (the order in which backward produces their gradients, as
PyTorch's DDP), into buckets of at most ``cap_bytes`` of one dtype (float32, or float64 for a float64
model). Each bucket's buffer is allocated once and reused every step: gradients are copied in, the
buffer is summed in place across ranks, scaled by ``1 / world_size`` and copied back into ``.grad``.

Each bucket ends with one slot per parameter counting the ranks that had a gradient for it. A
parameter that got no gradient on any rank keeps ``grad = None`` (so the optimizer skips it
everywhere); if some ranks had one, every rank gets the average with zeros for the others.
"""

from __future__ import annotations

import contextlib

import numpy as np

from ..tensor import Tensor


class _Bucket:
    def __init__(self, params: list, dtype):
        self.params = params
        self.sizes = [int(np.prod(p.shape)) for p in params]
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)]).astype(np.int64)
        self.total = int(self.offsets[-1])
        self.buffer = np.zeros(self.total + len(params), dtype=dtype)

    def pack(self) -> None:
        buffer, flags = self.buffer, self.buffer[self.total:]
        for i, p in enumerate(self.params):
            start, stop = self.offsets[i], self.offsets[i + 1]
            grad = p.grad
            if grad is None:
                buffer[start:stop] = 0
                flags[i] = 0
            else:
                buffer[start:stop] = grad._data.reshape(-1)
                flags[i] = 1

    def unpack(self, scale: float) -> None:
        buffer, flags = self.buffer, self.buffer[self.total:]
        buffer[: self.total] *= scale
        for i, p in enumerate(self.params):
            if flags[i] == 0:
                continue
            values = buffer[self.offsets[i]: self.offsets[i + 1]].reshape(p.shape)
            if p.grad is None:
                p.grad = Tensor._wrap(values.astype(p._data.dtype, copy=True))
            else:
                np.copyto(p.grad._data, values, casting="unsafe")


def make_buckets(params, cap_bytes: int) -> list[_Bucket]:
    """Buckets over ``params`` (those with ``requires_grad``), last first, one dtype per bucket."""
    buckets: list[_Bucket] = []
    open_by_dtype: dict = {}
    for p in reversed([p for p in params if p.requires_grad]):
        dtype = np.float64 if p._data.dtype == np.float64 else np.float32
        current = open_by_dtype.setdefault(dtype, [[], 0])
        nbytes = p.numel() * np.dtype(dtype).itemsize
        if current[0] and current[1] + nbytes > cap_bytes:
            buckets.append(_Bucket(current[0], dtype))
            current[0], current[1] = [], 0
        current[0].append(p)
        current[1] += nbytes
    for dtype, (params_, _) in open_by_dtype.items():
        if params_:
            buckets.append(_Bucket(params_, dtype))
    return buckets


def allreduce_mean(buckets: list[_Bucket], comm, watchdog=None) -> None:
    """Averages the gradients of every bucket's parameters over the ranks of ``comm``, in place.

    ``watchdog.waiting(what)``, when given, is entered around each collective (the Trainer's timeout).
    """
    from mpi4py import MPI  # (lazy: an optional extra, needed only with several processes)

    scale = 1.0 / comm.Get_size()
    for bucket in buckets:
        bucket.pack()
        with watchdog.waiting("gradient allreduce") if watchdog is not None else contextlib.nullcontext():
            comm.Allreduce(MPI.IN_PLACE, bucket.buffer, op=MPI.SUM)
        bucket.unpack(scale)


def broadcast_tensors(tensors: list, comm, watchdog=None) -> None:
    """Rank 0's values of ``tensors`` (None entries skipped) written into every rank's, one ``Bcast`` per dtype."""
    by_dtype: dict = {}
    for t in tensors:
        if t is not None:
            by_dtype.setdefault(t._data.dtype, []).append(t._data)  # (the arrays: written through in place)
    for dtype, group in by_dtype.items():
        flat = np.concatenate([a.reshape(-1) for a in group]) if group else np.empty(0, dtype)
        with watchdog.waiting("broadcast of parameters and buffers") if watchdog is not None else \
                contextlib.nullcontext():
            comm.Bcast(flat, root=0)
        offset = 0
        for array in group:
            n = array.size
            np.copyto(array, flat[offset: offset + n].reshape(array.shape))
            offset += n
