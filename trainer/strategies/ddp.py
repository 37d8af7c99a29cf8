"""``DDPStrategy``: data-parallel training over MPI processes (Lightning's ``strategy="ddp"``).

Every rank holds the whole model and reads its own share of each batch. What happens where:

* start (``setup``): parameters and buffers are broadcast from rank 0, so every rank starts equal;
  loggers, the progress bar and checkpoint files are rank 0's job (the other ranks' loggers are muted).
* after backward, once per optimizer step (``reduce_gradients``): gradients are averaged with one
  in-place ``Allreduce`` per flat bucket (``ember.distributed.buckets``); with ``broadcast_buffers`` rank 0's
  buffers (BatchNorm running statistics) are sent to the others.
* every step boundary (``reduce_any``): the ranks agree on stopping (``should_stop``,
  SIGTERM / Ctrl-C on any rank) so that none is left waiting in a collective.
* ``self.log(..., sync_dist=True)`` reduces the value over the ranks when it is logged.
* a failure on one rank ends every rank (``mpi.py`` says how).
"""

from __future__ import annotations

import sys
import traceback
from datetime import timedelta
from typing import Any

import ember
import numpy as np
from ember.distributed.buckets import allreduce_mean, broadcast_tensors, make_buckets
from ember.nn import SyncBatchNorm

from ..loggers.base import VersionedLogger
from . import mpi as mpi_utils
from .base import Strategy
from .loader import distribute


class DDPStrategy(Strategy):
    """Data-parallel training on MPI processes started by ``mpiexec`` (or by ``ember fit ... trainer.devices=N``).

    Args:
        timeout: how long a collective may wait for the other ranks before the job is aborted with an
            error (a ``timedelta`` or seconds; PyTorch's default of 30 minutes).
        bucket_cap_mb: size of the flat gradient buffers reduced in one ``Allreduce`` (PyTorch's 25 MB).
        broadcast_buffers: send rank 0's buffers (BatchNorm running statistics) to every rank after each
            optimizer step, so that all ranks evaluate the same model.

    Example:
        >>> from ember.trainer import Trainer
        >>> from ember.trainer.strategies import DDPStrategy
        >>> # under `mpiexec -n 2 python train.py`:
        >>> # Trainer(strategy=DDPStrategy(timeout=600), devices=2).fit(model, loader)
    """

    strategy_name = "ddp"

    def __init__(self, timeout: timedelta | float = timedelta(minutes=30), bucket_cap_mb: float = 25.0,
                 broadcast_buffers: bool = True, process_group_backend: str = "mpi"):
        if process_group_backend != "mpi":
            raise ValueError(f"Ember's DDP runs on MPI: process_group_backend must be 'mpi', got {process_group_backend!r}")
        self.timeout = timeout.total_seconds() if isinstance(timeout, timedelta) else float(timeout)
        if self.timeout <= 0:
            raise ValueError(f"DDPStrategy: timeout must be positive, got {timeout!r}")
        if bucket_cap_mb <= 0:
            raise ValueError(f"DDPStrategy: bucket_cap_mb must be positive, got {bucket_cap_mb}")
        self.bucket_cap_mb = float(bucket_cap_mb)
        self.broadcast_buffers = broadcast_buffers
        self.comm = None
        self.watchdog = None
        self._buckets: list = []
        self._module = None

    # -- joining the MPI job ---------------------------------------------------------------------
    def connect(self, devices: int | str, num_nodes: int) -> None:
        """Joins the MPI job and checks it against ``devices`` (processes per node) and ``num_nodes``."""
        launched = mpi_utils.launched_world_size()
        if isinstance(devices, int) and devices * num_nodes > 1 and launched == 1:
            n = devices * num_nodes
            raise RuntimeError(
                f"Trainer(devices={devices}, num_nodes={num_nodes}) trains on {n} processes, but this process was not "
                f"started by mpiexec: run `mpiexec -n {n} python your_script.py` (or `mpiexec -n {n} ember fit RECIPE`), "
                f"or `ember fit RECIPE trainer.devices={devices}`, which starts the processes itself"
            )
        MPI = mpi_utils.mpi()
        comm = MPI.COMM_WORLD
        size, rank = comm.Get_size(), comm.Get_rank()
        local = comm.Split_type(MPI.COMM_TYPE_SHARED, key=rank)
        local_size, local_rank = local.Get_size(), local.Get_rank()
        local.Free()
        if isinstance(devices, int) and devices * num_nodes != size:
            raise RuntimeError(
                f"Trainer(devices={devices}, num_nodes={num_nodes}) expects {devices * num_nodes} processes, but mpiexec "
                f"started {size} (rank {rank}); make them agree, or set devices='auto'"
            )
        self.comm = comm
        self.global_rank, self.world_size = rank, size
        self.local_rank, self.num_devices = local_rank, local_size
        self.num_nodes = max(1, size // local_size)
        self.node_rank = rank // local_size
        self.is_global_zero = rank == 0
        self.watchdog = mpi_utils.Watchdog(comm, self.timeout)
        self.watchdog.start()
        SyncBatchNorm.default_process_group = mpi_utils.WatchedComm(comm, self.watchdog)
        table = mpi_utils.rank_table(comm)
        self.ranks = table
        if size > 1:
            mpi_utils.abort_on_uncaught_exception(comm, table)
        if rank == 0 and size > 1:
            listing = ", ".join(f"rank {r} = pid {pid} on {host}" for r, (host, pid) in enumerate(table))
            print(f"[ember] DDP on {size} MPI processes (if mpiexec reports a killed pid, this names its rank): "
                  f"{listing}", file=sys.stderr, flush=True)

    # -- the run ---------------------------------------------------------------------------------
    def setup(self, trainer, model) -> None:
        self._module = model
        state = trainer.state
        self.watchdog.describe = lambda: f"{state.stage or 'setup'}, epoch {state.epoch}, global step {state.global_step}"
        self._broadcast_tensors(list(model.state_dict().values()))
        self._buckets = make_buckets(model.parameters(), int(self.bucket_cap_mb * 2**20))
        self._buffers = [b for b in model.buffers() if b is not None and b.is_floating_point()]
        for logger in trainer.loggers:
            if isinstance(logger, VersionedLogger):
                logger.version = self.broadcast(logger.version)

    def process_dataloader(self, loader: Any, kind: str) -> Any:
        if self.world_size == 1 or kind == "predict":
            return loader
        seed = self.broadcast(getattr(loader, "_seed", None))
        if seed is None:
            return loader
        return distribute(loader, self.global_rank, self.world_size, seed)

    def reduce_gradients(self) -> None:
        if self.world_size == 1:
            return
        allreduce_mean(self._buckets, self.comm, self.watchdog)
        if self.broadcast_buffers and self._buffers:
            self._broadcast_tensors(self._buffers)

    def reduce(self, value: float, reduce_op: str = "mean") -> float:
        if self.world_size == 1:
            return value
        MPI = mpi_utils.mpi()
        op = {"mean": MPI.SUM, "sum": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN}.get(reduce_op)
        if op is None:
            raise ValueError(f"DDP reduce: reduce_op must be 'mean', 'sum', 'max' or 'min', got {reduce_op!r}")
        buffer = np.array([float(value)], dtype=np.float64)
        with self.watchdog.waiting(f"reduce of a logged value ({reduce_op})"):
            self.comm.Allreduce(MPI.IN_PLACE, buffer, op=op)
        result = float(buffer[0])
        return result / self.world_size if reduce_op == "mean" else result

    def reduce_boolean_decision(self, decision: bool, all: bool = True) -> bool:
        if self.world_size == 1:
            return bool(decision)
        return self.reduce(1.0 if decision else 0.0, "min" if all else "max") > 0.5

    def reduce_any(self, flags: list[bool]) -> list[bool]:
        if self.world_size == 1:
            return [bool(flag) for flag in flags]
        MPI = mpi_utils.mpi()
        buffer = np.array(flags, dtype=np.int32)
        with self.watchdog.waiting("agreement on stopping"):
            self.comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.MAX)
        return [bool(flag) for flag in buffer]

    def broadcast(self, obj: Any, src: int = 0) -> Any:
        if self.world_size == 1:
            return obj
        with self.watchdog.waiting("broadcast"):
            return self.comm.bcast(obj, root=src)

    def all_gather(self, tensor, group: Any = None, sync_grads: bool = False):
        """Every rank's ``tensor`` stacked along a new first dimension (rank order), as Lightning's DDP does;
        the result is not differentiable (``sync_grads`` is accepted but gradients do not flow back)."""
        array = np.ascontiguousarray(tensor.detach().numpy())
        if self.world_size == 1:
            return ember.from_numpy(array[None].copy())
        with self.watchdog.waiting("all_gather"):
            arrays = self.comm.allgather(array)
        shapes = {a.shape for a in arrays}
        if len(shapes) > 1:
            raise RuntimeError(f"all_gather: the ranks gave tensors of different shapes {sorted(shapes)}; "
                               "pad them to one shape first")
        return ember.from_numpy(np.stack(arrays))

    def barrier(self, name: str | None = None) -> None:
        if self.world_size > 1:
            with self.watchdog.waiting(f"barrier {name}" if name else "barrier"):
                self.comm.Barrier()

    def on_exception(self, exception: BaseException) -> None:
        if self.world_size == 1:
            return
        host, pid = self.ranks[self.global_rank]
        details = "".join(traceback.format_exception(type(exception), exception, exception.__traceback__))
        mpi_utils.abort(self.comm, f"{details}\n[ember] rank {self.global_rank}/{self.world_size} (pid {pid} on {host}) "
                                   f"failed with {type(exception).__name__}: {exception}\n"
                                   "[ember] aborting every rank of the job")

    # -- helpers ---------------------------------------------------------------------------------
    def _broadcast_tensors(self, tensors: list) -> None:
        """Rank 0's values of ``tensors`` into every rank's, one ``Bcast`` per dtype."""
        if self.world_size > 1:
            broadcast_tensors(tensors, self.comm, self.watchdog)


def environment_rank() -> int:
    """This process's rank according to the MPI launcher (0 outside MPI), without starting MPI."""
    return mpi_utils.launched_rank()
