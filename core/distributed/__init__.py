"""``ember.distributed``: ``torch.distributed``'s process-group API, over MPI.

A script written for PyTorch's CPU data parallelism (``init_process_group("gloo")``, ``all_reduce``,
``DistributedDataParallel``, ``DistributedSampler``) runs unchanged when started with ``mpiexec -n N python
script.py``: every collective here is an MPI collective on ``COMM_WORLD`` (mpi4py, the ``ember[mpi]``
extra, imported on first use). The backend names ``"gloo"`` and ``"mpi"`` both mean that; ``"nccl"`` is a
GPU backend and fails, as every CUDA request does in Ember. A process that was not started by an MPI
launcher is a world of one: ``init_process_group`` works there and every collective is the identity, so the
same script also runs as a plain ``python script.py``.

Example:
    >>> import ember
    >>> import ember.distributed as dist
    >>> dist.init_process_group("gloo")
    >>> t = ember.ones(3)
    >>> dist.all_reduce(t)   # the sum over every rank's t
    >>> dist.get_world_size(), t.tolist()
    (1, [1.0, 1.0, 1.0])
    >>> dist.destroy_process_group()
"""

from __future__ import annotations

import os
import pickle
from datetime import timedelta
from enum import Enum

import numpy as np

from ..tensor import Tensor

__all__ = [
    "Backend",
    "GroupMember",
    "ProcessGroup",
    "ReduceOp",
    "Work",
    "all_gather",
    "all_gather_into_tensor",
    "all_gather_object",
    "all_reduce",
    "barrier",
    "broadcast",
    "broadcast_object_list",
    "destroy_process_group",
    "gather",
    "get_backend",
    "get_rank",
    "get_world_size",
    "init_process_group",
    "is_available",
    "is_gloo_available",
    "is_initialized",
    "is_mpi_available",
    "is_nccl_available",
    "is_torchelastic_launched",
    "launched_rank",
    "launched_world_size",
    "new_group",
    "reduce",
    "reduce_scatter_tensor",
    "scatter",
]

# Variables the common MPI launchers set in every process they start (MPICH/Hydra and Intel MPI, Open MPI,
# MVAPICH2, Slurm's PMI): reading them tells a single process that it need not import mpi4py.
_SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE", "PMIX_SIZE")
_RANK_VARIABLES = ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "MV2_COMM_WORLD_RANK", "PMIX_RANK")


def _launcher_number(names: tuple, default: int) -> int:
    for name in names:
        value = os.environ.get(name)
        if value and value.isdigit():
            return int(value)
    return default


def launched_world_size() -> int:
    """The number of processes an MPI launcher started (1 when none did), without starting MPI."""
    return _launcher_number(_SIZE_VARIABLES, 1)


def launched_rank() -> int:
    """This process's rank according to the MPI launcher (0 when none started it), without starting MPI."""
    return _launcher_number(_RANK_VARIABLES, 0)


def _mpi():
    try:
        from mpi4py import MPI  # (lazy: the optional ember[mpi] extra, needed only with several processes)
    except ImportError as error:
        raise ImportError("ember.distributed runs its collectives on MPI through mpi4py, which is not "
                          "installed: pip install 'ember[mpi]' (mpi4py and the mpich wheel)") from error
    return MPI


class Backend(str):
    """A backend name (PyTorch's ``Backend``); on Ember every CPU backend is MPI."""

    GLOO, MPI, NCCL, UCC = "gloo", "mpi", "nccl", "ucc"

    def __new__(cls, name: str):
        return str.__new__(cls, name.lower())


class ReduceOp(Enum):
    SUM = "sum"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"
    AVG = "avg"
    BAND = "band"
    BOR = "bor"
    BXOR = "bxor"


class Work:
    """What an ``async_op=True`` collective returns: MPI's collectives here are blocking, so it is done."""

    def wait(self, timeout: timedelta | None = None) -> bool:
        return True

    def is_completed(self) -> bool:
        return True

    def is_success(self) -> bool:
        return True


class ProcessGroup:
    """The ranks of one communicator: ``rank()``, ``size()``, and the MPI communicator (None in a world
    of one)."""

    def __init__(self, comm, backend: str):
        self.comm, self._backend = comm, backend

    def rank(self) -> int:
        return 0 if self.comm is None else self.comm.Get_rank()

    def size(self) -> int:
        return 1 if self.comm is None else self.comm.Get_size()

    def name(self) -> str:
        return self._backend

    def __repr__(self) -> str:
        return f"ProcessGroup(backend={self._backend!r}, rank={self.rank()}, size={self.size()})"


class GroupMember:
    WORLD: ProcessGroup | None = None
    NON_GROUP_MEMBER = object()


def is_available() -> bool:
    return True


def is_mpi_available() -> bool:
    try:
        _mpi()
    except ImportError:
        return False
    return True


def is_gloo_available() -> bool:
    """True: ``"gloo"`` is accepted and runs on MPI (Ember's one CPU transport)."""
    return True


def is_nccl_available() -> bool:
    return False


def is_torchelastic_launched() -> bool:
    return False


def is_initialized() -> bool:
    return GroupMember.WORLD is not None


def _world(group=None) -> ProcessGroup:
    if group is not None and group is not GroupMember.WORLD and not isinstance(group, ProcessGroup):
        raise TypeError(f"group must be a ProcessGroup, got {type(group).__name__}")
    if GroupMember.WORLD is None:
        raise ValueError("Default process group has not been initialized, please make sure to call "
                         "init_process_group.")
    return group or GroupMember.WORLD


def init_process_group(backend: str | None = None, init_method: str | None = None,
                       timeout: timedelta | None = None, world_size: int = -1, rank: int = -1, store=None,
                       group_name: str = "", pg_options=None, device_id=None) -> None:
    """Joins this process to the default group: ``COMM_WORLD`` of the MPI job (a world of one without one).

    ``world_size`` and ``rank``, when given, must agree with what ``mpiexec`` started; ``init_method`` and
    ``store`` (PyTorch's rendezvous) are not needed, since MPI's launcher has already connected the ranks.
    """
    if GroupMember.WORLD is not None:
        raise ValueError("trying to initialize the default process group twice!")
    name = Backend(backend or "gloo")
    if name in (Backend.NCCL, Backend.UCC) or name.startswith("cuda") or device_id is not None and \
            "cuda" in str(device_id):
        raise RuntimeError(f"init_process_group: backend {backend!r} is for GPUs; Ember computes on the CPU "
                           "(use 'gloo' or 'mpi', which run on MPI)")
    if name not in (Backend.GLOO, Backend.MPI) and not name.startswith("cpu:"):
        raise ValueError(f"init_process_group: unknown backend {backend!r} (Ember has 'gloo' and 'mpi', both on MPI)")
    launched = launched_world_size()
    env_world = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if launched == 1 and max(world_size, env_world) > 1:
        raise RuntimeError(f"init_process_group: a world of {max(world_size, env_world)} processes was asked for, "
                           "but this process was not started by an MPI launcher; Ember's processes are "
                           f"started by MPI: mpiexec -n {max(world_size, env_world)} python script.py")
    comm = None
    if launched > 1:
        MPI = _mpi()
        if not MPI.Is_initialized():
            MPI.Init()
        comm = MPI.COMM_WORLD
    group = ProcessGroup(comm, str(name))
    if world_size not in (-1, group.size()):
        raise ValueError(f"init_process_group: world_size={world_size}, but mpiexec started {group.size()} processes")
    if rank not in (-1, group.rank()):
        raise ValueError(f"init_process_group: rank={rank}, but MPI numbers this process {group.rank()}")
    GroupMember.WORLD = group


def destroy_process_group(group=None) -> None:
    if group is None or group is GroupMember.WORLD:
        GroupMember.WORLD = None


def new_group(ranks=None, timeout=None, backend=None, pg_options=None, use_local_synchronization=False):
    """A group of ``ranks`` (all ranks when None); only the whole world is supported."""
    world = _world()
    if ranks is not None and sorted(ranks) != list(range(world.size())):
        raise NotImplementedError(f"new_group: Ember's groups span every rank; got ranks={list(ranks)} of "
                                  f"{world.size()}")
    return world


def get_rank(group=None) -> int:
    return _world(group).rank()


def get_world_size(group=None) -> int:
    return _world(group).size()


def get_backend(group=None) -> str:
    return _world(group).name()


def _array(tensor: Tensor, what: str) -> np.ndarray:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{what}: expected a Tensor, got {type(tensor).__name__}")
    data = tensor._data
    if not data.flags.c_contiguous:
        raise ValueError(f"{what}: the tensor (shape {tuple(data.shape)}) must be contiguous")
    return data


def _done(async_op: bool):
    return Work() if async_op else None


_REDUCE = {ReduceOp.SUM: np.add, ReduceOp.PRODUCT: np.multiply, ReduceOp.MIN: np.minimum,
           ReduceOp.MAX: np.maximum, ReduceOp.BAND: np.bitwise_and, ReduceOp.BOR: np.bitwise_or,
           ReduceOp.BXOR: np.bitwise_xor}


def _combine(parts: list[np.ndarray], op: ReduceOp) -> np.ndarray:
    if op == ReduceOp.AVG:
        return np.add.reduce(parts) / len(parts)
    if op not in _REDUCE:
        raise ValueError(f"unknown reduce op {op!r}")
    return _REDUCE[op].reduce(parts)


def all_reduce(tensor: Tensor, op=ReduceOp.SUM, group=None, async_op: bool = False):
    """Replaces ``tensor`` on every rank by the reduction (``op``) over every rank's ``tensor``, in place."""
    world, data = _world(group), _array(tensor, "all_reduce")
    op = ReduceOp(op) if not isinstance(op, ReduceOp) else op
    if world.comm is not None:
        if op == ReduceOp.SUM and data.dtype.kind in "fiu":
            world.comm.Allreduce(_mpi().IN_PLACE, data, op=_mpi().SUM)
        else:
            data[...] = _combine(world.comm.allgather(data.copy()), op).astype(data.dtype, copy=False)
    tensor._vc[0] += 1
    return _done(async_op)


def reduce(tensor: Tensor, dst: int = 0, op=ReduceOp.SUM, group=None, async_op: bool = False, group_dst=None):
    """The reduction over every rank's ``tensor``, into ``tensor`` on rank ``dst``."""
    world, data = _world(group), _array(tensor, "reduce")
    dst = dst if group_dst is None else group_dst
    if world.comm is not None:
        parts = world.comm.gather(data.copy(), root=dst)
        if world.rank() == dst:
            data[...] = _combine(parts, ReduceOp(op) if not isinstance(op, ReduceOp) else op)
            tensor._vc[0] += 1
    return _done(async_op)


def broadcast(tensor: Tensor, src: int = 0, group=None, async_op: bool = False, group_src=None):
    """Copies rank ``src``'s ``tensor`` into ``tensor`` on every rank."""
    world, data = _world(group), _array(tensor, "broadcast")
    src = src if group_src is None else group_src
    if world.comm is not None:
        world.comm.Bcast(data, root=src)
        tensor._vc[0] += 1
    return _done(async_op)


def all_gather(tensor_list: list, tensor: Tensor, group=None, async_op: bool = False):
    """Fills ``tensor_list[r]`` with rank ``r``'s ``tensor`` on every rank."""
    world, data = _world(group), _array(tensor, "all_gather")
    if len(tensor_list) != world.size():
        raise ValueError(f"all_gather: tensor_list has {len(tensor_list)} tensors for a world of {world.size()}")
    parts = [data] if world.comm is None else world.comm.allgather(data)
    for out, part in zip(tensor_list, parts):
        if tuple(out.shape) != part.shape:
            raise ValueError(f"all_gather: an output tensor has shape {tuple(out.shape)}, a rank sent {part.shape}")
        out._data[...] = part
        out._vc[0] += 1
    return _done(async_op)


def all_gather_into_tensor(output_tensor: Tensor, input_tensor: Tensor, group=None, async_op: bool = False):
    """Every rank's ``input_tensor`` concatenated along dim 0 (or stacked) into ``output_tensor``."""
    world, data = _world(group), _array(input_tensor, "all_gather_into_tensor")
    parts = [data] if world.comm is None else world.comm.allgather(data)
    out = output_tensor._data
    if out.size != data.size * world.size():
        raise ValueError(f"all_gather_into_tensor: output has {out.size} elements, expected "
                         f"{data.size} x {world.size()} ranks")
    out.reshape(-1)[...] = np.concatenate([p.reshape(-1) for p in parts])
    output_tensor._vc[0] += 1
    return _done(async_op)


def reduce_scatter_tensor(output: Tensor, input: Tensor, op=ReduceOp.SUM, group=None, async_op: bool = False):
    """The reduction over ranks of ``input``, whose dim-0 chunk ``r`` goes to rank ``r``'s ``output``."""
    world, data = _world(group), _array(input, "reduce_scatter_tensor")
    parts = [data] if world.comm is None else world.comm.allgather(data)
    total = _combine(parts, ReduceOp(op) if not isinstance(op, ReduceOp) else op)
    chunk = total.reshape(world.size(), -1)[world.rank()]
    output._data.reshape(-1)[...] = chunk
    output._vc[0] += 1
    return _done(async_op)


def gather(tensor: Tensor, gather_list: list | None = None, dst: int = 0, group=None, async_op: bool = False):
    """Rank ``dst``'s ``gather_list[r]`` receives rank ``r``'s ``tensor``."""
    world, data = _world(group), _array(tensor, "gather")
    parts = [data] if world.comm is None else world.comm.gather(data, root=dst)
    if world.rank() == dst:
        if gather_list is None or len(gather_list) != world.size():
            raise ValueError(f"gather: rank {dst} needs a gather_list of {world.size()} tensors")
        for out, part in zip(gather_list, parts):
            out._data[...] = part
            out._vc[0] += 1
    return _done(async_op)


def scatter(tensor: Tensor, scatter_list: list | None = None, src: int = 0, group=None, async_op: bool = False):
    """Rank ``r``'s ``tensor`` receives rank ``src``'s ``scatter_list[r]``."""
    world, data = _world(group), _array(tensor, "scatter")
    if world.rank() == src and (scatter_list is None or len(scatter_list) != world.size()):
        raise ValueError(f"scatter: rank {src} needs a scatter_list of {world.size()} tensors")
    if world.comm is None:
        part = scatter_list[0]._data
    else:
        part = world.comm.scatter([t._data for t in scatter_list] if world.rank() == src else None, root=src)
    data[...] = part
    tensor._vc[0] += 1
    return _done(async_op)


def barrier(group=None, async_op: bool = False, device_ids=None):
    world = _world(group)
    if world.comm is not None:
        world.comm.Barrier()
    return _done(async_op)


def all_gather_object(object_list: list, obj, group=None) -> None:
    """``object_list[r]`` = rank ``r``'s ``obj`` (pickled: objects come from the job's own ranks)."""
    world = _world(group)
    if len(object_list) != world.size():
        raise ValueError(f"all_gather_object: object_list has {len(object_list)} slots for a world of "
                         f"{world.size()}")
    parts = [obj] if world.comm is None else [pickle.loads(b) for b in world.comm.allgather(pickle.dumps(obj))]
    object_list[:] = parts


def broadcast_object_list(object_list: list, src: int = 0, group=None, device=None, group_src=None) -> None:
    """Every rank's ``object_list`` becomes rank ``src``'s."""
    world = _world(group)
    src = src if group_src is None else group_src
    if world.comm is not None:
        object_list[:] = world.comm.bcast(list(object_list) if world.rank() == src else None, root=src)
