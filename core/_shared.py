"""Tensors in shared memory: ``Tensor.share_memory_()``, ``Tensor.is_shared()`` and their pickling.

``share_memory_()`` moves a tensor's array into a block of shared memory: a ``MAP_SHARED`` mapping of a memory
file, so a child made by ``fork`` sees (and writes) the same pages, and a process that receives the tensor
through a ``multiprocessing`` queue or as a spawned process's argument maps the same block. A block is only
ever read through numpy arrays made on its mapping; when the last of them is gone the mapping is closed.

Two ways to hand a block to another process, torch's two sharing strategies:

- ``"file_descriptor"`` (the default, as torch's on Linux): the block is a memory file with no name
  (``os.memfd_create``, or ``shm_open`` then ``shm_unlink`` at once). Pickling sends a duplicate of its file
  descriptor (``multiprocessing.reduction.DupFd``); the kernel frees the memory when the last process closes
  it, so nothing can be left behind, even by a killed process. The sender must stay alive until the receiver
  has unpickled the tensor.
- ``"file_system"``: the block has a name in ``/dev/shm`` and pickling sends the name. Every process that
  maps the block holds a shared ``flock`` on it; the one that lets go last (its exclusive lock succeeds)
  unlinks the name. A forked child closes its blocks at exit too. As in torch, a process killed with blocks
  open may leave the file behind; the sender must keep the tensor alive until the receiver has it.

Pickling through ``multiprocessing`` (its ``ForkingPickler``) sends the handle; plain ``pickle`` still copies
the values, as torch's does. The block of a strategy is chosen when the tensor is shared.
"""

from __future__ import annotations

import mmap
import os
import weakref

import numpy as np

from ._device import is_meta_array, unavailable

_STRATEGIES = ("file_descriptor", "file_system")
_strategy = "file_descriptor"
_blocks: dict = {}  # id(root array) -> _Block, for every array made on a block's mapping in this process


def get_sharing_strategy() -> str:
    return _strategy


def set_sharing_strategy(new_strategy: str) -> None:
    global _strategy
    if new_strategy not in _STRATEGIES:
        raise ValueError(f"sharing strategy must be one of {list(_STRATEGIES)}, got {new_strategy!r}")
    _strategy = new_strategy


def get_all_sharing_strategies() -> set:
    return set(_STRATEGIES)


class _Block:
    """One shared mapping, known by the root array made on it. ``fd`` is kept to be passed on (a duplicate of
    it, file_descriptor) or to hold the block's shared lock (file_system, where ``name`` is set)."""

    def __init__(self, root: np.ndarray, fd: int, name: str | None):
        self.fd, self.size, self.name = fd, root.size, name
        self.root = weakref.ref(root)  # the arrays keep the block alive, not the other way round


def _map(map_fd: int, size: int, fd: int, name: str | None) -> np.ndarray:
    """Maps a block; returns its root array, a uint8 array over all of it: the base of every array on it."""
    # MAP_SHARED: a forked child writes the parent's pages. The mapping lives as long as the arrays on it
    # (numpy keeps it through the root's buffer); the mmap object holds its own duplicate of map_fd.
    root = np.frombuffer(mmap.mmap(map_fd, size), np.uint8)
    _blocks[id(root)] = _Block(root, fd, name)
    weakref.finalize(root, _release, id(root), fd, name)
    return root


def _new_block(size: int) -> np.ndarray:
    size = max(size, 1)  # (an empty tensor still gets a mapping, so it is shared like any other)
    name = None
    if _strategy == "file_system":
        name = f"/ember_{os.getpid()}_{os.urandom(8).hex()}"
        fd = _shm_open(name, os.O_CREAT | os.O_EXCL | os.O_RDWR)
    elif hasattr(os, "memfd_create"):
        fd = os.memfd_create("ember_shared", os.MFD_CLOEXEC)
    else:  # a named file unlinked at once: a file without a name, as memfd's
        unlinked = f"/ember_{os.getpid()}_{os.urandom(8).hex()}"
        fd = _shm_open(unlinked, os.O_CREAT | os.O_EXCL | os.O_RDWR)
        _shm_unlink(unlinked)
    try:
        os.ftruncate(fd, size)
        if name is None:
            return _map(fd, size, fd, None)
        return _open_named(fd, size, name)
    except BaseException:
        os.close(fd)
        if name is not None:
            _shm_unlink(name)
        raise


def _open_named(map_fd: int, size: int, name: str) -> np.ndarray:
    """A block on the named file ``map_fd`` is open on (closed here: the mapping keeps its own). The shared
    lock is taken on a descriptor of its own, which the mapping's duplicate does not share."""
    try:
        lock_fd = _shm_open(name, os.O_RDONLY)
        try:
            _lock_shared(lock_fd)
            return _map(map_fd, size, lock_fd, name)
        except BaseException:
            os.close(lock_fd)
            raise
    finally:
        os.close(map_fd)


def _release(key: int, fd: int, name: str | None) -> None:
    """Runs when the last array on a block is gone: closes the block's descriptor; the last process to hold a
    named block unlinks its name."""
    if _blocks.pop(key, None) is None:  # released already, by a forked child's exit hook
        return
    os.close(fd)
    if name is not None:
        _unlink_if_last(name)


def _unlink_if_last(name: str) -> None:
    # our shared lock went with our descriptor; an exclusive lock on a fresh one succeeds only if no other
    # process holds the block (if two let go at once, one of them wins the lock and unlinks)
    import fcntl  # (POSIX only; the file_system strategy is too)

    try:
        fd = _shm_open(name, os.O_RDONLY)
    except FileNotFoundError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return
    else:
        _shm_unlink(name)
    finally:
        os.close(fd)


def _lock_shared(fd: int) -> None:
    import fcntl  # (POSIX only; the file_system strategy is too)

    fcntl.flock(fd, fcntl.LOCK_SH)
    if not _fork_hook:
        from multiprocessing import util

        util.register_after_fork(_fork_hook, _after_fork_in_child)
        _fork_hook.append(True)


class _ForkHook(list):
    """The key multiprocessing's after-fork registry holds weakly (a list itself takes no weakref)."""


_fork_hook = _ForkHook()


def _after_fork_in_child(_) -> None:
    """A ``fork``-ed multiprocessing child leaves by ``os._exit``, past ``weakref.finalize``'s exit hook:
    release its named blocks from multiprocessing's own exit hook instead (registered after the fork, as the
    child clears the finalizers it inherits)."""
    from multiprocessing import util

    util.Finalize(None, _release_all_named, exitpriority=0)


def _release_all_named() -> None:
    for key, block in list(_blocks.items()):
        if block.name is not None:
            _blocks.pop(key, None)
            os.close(block.fd)  # (the mapping goes with the process)
            _unlink_if_last(block.name)


def _shm_open(name: str, flags: int) -> int:
    import _posixshmem  # the module multiprocessing.shared_memory uses

    return _posixshmem.shm_open(name, flags, mode=0o600)


def _shm_unlink(name: str) -> None:
    import _posixshmem

    _posixshmem.shm_unlink(name)


# --- tensors ------------------------------------------------------------------------------------------------
def _block_of(data: np.ndarray):
    """The block an array lies in, or None."""
    root = data
    while isinstance(root.base, np.ndarray):
        root = root.base
    block = _blocks.get(id(root))
    return block if block is not None and block.root() is root else None


def share_memory_(self):
    """Moves this tensor's values into shared memory (a no-op if they are there already) and returns it.

    Processes that receive the tensor -- a ``fork``-ed child, or through ``ember.multiprocessing``'s queues
    and process arguments -- then read and write the same numbers: Hogwild training updates one model.
    (Unlike torch, views of the tensor made before the call keep the old memory.)

    Example:
        >>> import ember
        >>> t = ember.zeros(3).share_memory_()
        >>> t.is_shared()
        True
    """
    data = self._data
    if is_meta_array(data):
        raise RuntimeError("share_memory_: a meta tensor has no memory to share")
    if _block_of(data) is None:
        shared = _new_block(data.nbytes)[: data.nbytes].view(data.dtype).reshape(data.shape)
        shared[...] = data
        self._data = shared
    _register_reducer()
    return self


def is_shared(self) -> bool:
    """Whether this tensor's values are in shared memory (``share_memory_``, or received shared)."""
    return not is_meta_array(self._data) and _block_of(self._data) is not None


def pin_memory(self, device=None):
    """Page-locked memory for fast copies to a GPU, which Ember does not have: raises the error every request
    for an accelerator gets (torch's CPU-only build raises too). Loaders' ``pin_memory=True`` is accepted and
    changes nothing."""
    raise unavailable(device if device is not None else "cuda")


def is_pinned(self, device=None) -> bool:
    """False: Ember's tensors are in ordinary memory (see ``pin_memory``)."""
    return False


# --- pickling through multiprocessing -----------------------------------------------------------------------
_reducer_registered = False


def _register_reducer() -> None:
    """Lets multiprocessing's pickler send an array that lies in a block as a handle to the block. Tensors
    (and Parameters) pickle as their array, so they follow; other arrays pickle as before."""
    global _reducer_registered
    if not _reducer_registered:
        from multiprocessing.reduction import ForkingPickler  # (loads only once a tensor is shared)

        ForkingPickler.register(np.ndarray, _reduce_array)
        _reducer_registered = True


def _reduce_array(data: np.ndarray):
    block = _block_of(data)
    if block is None:  # not shared: its values, as plain pickle
        return data.__reduce_ex__(4)
    offset = data.__array_interface__["data"][0] - block.root().__array_interface__["data"][0]
    if block.name is not None:
        handle = ("name", block.name)
    else:
        from multiprocessing.reduction import DupFd

        handle = ("fd", DupFd(block.fd))
    return _rebuild_array, (handle, block.size, offset, data.shape, data.strides, data.dtype.str)


def _rebuild_array(handle, size, offset, shape, strides, dtype) -> np.ndarray:
    """The array on the block ``handle`` names, in the receiving process."""
    kind, value = handle
    if kind == "name":
        root = _open_named(_shm_open(value, os.O_RDWR), size, value)
    else:
        fd = value.detach()
        root = _map(fd, size, fd, None)
    _register_reducer()
    return np.ndarray(shape, np.dtype(dtype), buffer=root, offset=offset, strides=strides)
