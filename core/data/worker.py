"""The worker process: takes tasks from its pipe, produces batches, hands them back through shared memory.

Protocol. The main process sends ``(iteration, task_index, epoch, loader_seed, indices)``; ``None`` means
"exit". The worker answers ``(iteration, task_index, status, payload)`` where status is ``OK`` (payload:
a ``shared_memory.pack`` message), ``ERROR`` (payload: an ``ExceptionWrapper``) or ``EXHAUSTED`` (an
iterable dataset has nothing more for this worker). ``iteration`` lets the main process drop answers to
an epoch it has abandoned (persistent workers).
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import Any

from . import shared_memory
from .fetch import Exhausted, fetch_iterable_batch, fetch_map_batch
from .seeding import WORKER_TAG, derive_seed, seed_all

OK, ERROR, EXHAUSTED = 0, 1, 2
_PARENT_CHECK_INTERVAL = 0.5  # seconds between checks that the main process is still alive

_worker_info = None


class WorkerInfo:
    """What a worker knows about itself: ``id``, ``num_workers``, ``seed`` and its copy of ``dataset``."""

    id: int
    num_workers: int
    seed: int
    dataset: Any

    def __init__(self, **kwargs):
        for key, value in kwargs.items():
            object.__setattr__(self, key, value)
        object.__setattr__(self, "_keys", tuple(kwargs))

    def __setattr__(self, key, value):
        raise RuntimeError(f"Cannot assign attributes to {type(self).__name__} objects")

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._keys if k != "dataset")
        return f"WorkerInfo({fields})"


def get_worker_info() -> WorkerInfo | None:
    """In a ``DataLoader`` worker process, that worker's ``WorkerInfo``; in the main process, ``None``.

    Use it in an ``IterableDataset.__iter__`` to give each worker its own share of the stream, or in a
    ``worker_init_fn`` to configure the worker's copy of the dataset.

    Example:
        >>> get_worker_info() is None  # not in a worker
        True
    """
    return _worker_info


class ExceptionWrapper:
    """An exception raised in a worker, carried to the main process and re-raised there."""

    def __init__(self, error: BaseException, worker_id: int, where: str):
        self.exc_type = type(error)
        try:
            pickle.dumps(self.exc_type)
        except Exception:  # noqa: BLE001
            self.exc_type = RuntimeError
        self.where = where
        self.worker_id = worker_id
        self.sample_index = getattr(error, "_ember_sample_index", None)
        self.message = str(error)
        self.traceback = "".join(traceback.format_exception(type(error), error, error.__traceback__))

    def reraise(self):
        where = f"in DataLoader worker process {self.worker_id}"
        if self.sample_index is not None:
            where += f" while loading sample index {self.sample_index}"
        else:
            where += f" {self.where}"
        message = f"Caught {self.exc_type.__name__} {where}.\nOriginal {self.traceback}"
        if self.exc_type is KeyError:
            message = _KeyErrorMessage(message)  # KeyError shows repr(message): keep the newlines readable
        try:
            error = self.exc_type(message)
        except Exception:  # noqa: BLE001
            error = RuntimeError(message)
        try:
            error.sample_index = self.sample_index
            error.worker_id = self.worker_id
            error.worker_message, error.worker_where = self.message, where  # the fault in one line, and where
        except Exception:  # noqa: BLE001, S110
            pass
        raise error


class _KeyErrorMessage(str):
    def __repr__(self) -> str:
        return self


@dataclass
class WorkerSpec:
    """Everything a worker needs, handed over once at start-up."""

    dataset: Any
    num_workers: int
    iterable: bool
    auto_collation: bool
    batch_size: int | None
    drop_last: bool
    collate_fn: Callable
    worker_init_fn: Callable | None
    start_seed: int
    shm_prefix: str


def _exit_with_parent(shm_prefix: str) -> None:
    """A daemon thread of every worker: once the main process is gone, however it went (SIGKILL, SIGTERM,
    a crash) and whatever the worker's own thread is doing (e.g. hanging in the dataset), remove the
    loader's shared memory and exit. No worker is orphaned and no file stays in /dev/shm.

    The parent's sentinel (a pipe that reads as closed once its other end, held by the parent, is) wakes
    it at once; the parent-pid check covers an end that a process forked later holds too. Only a worker
    holding the GIL forever (stuck in C code that never releases it) cannot be reached this way.
    """
    parent, parent_pid = multiprocessing.parent_process(), os.getppid()
    sentinels = [parent.sentinel] if parent is not None else []
    while os.getppid() == parent_pid and not wait(sentinels, timeout=_PARENT_CHECK_INTERVAL):
        pass
    shared_memory.remove_leftovers(shm_prefix)
    os._exit(1)


def worker_loop(spec: WorkerSpec, worker_id: int, task_conn, result_conn) -> None:
    """The body of a worker process."""
    global _worker_info
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    threading.Thread(target=_exit_with_parent, args=(spec.shm_prefix,), name="ember-worker-parent-watch",
                     daemon=True).start()
    seed = derive_seed(spec.start_seed, WORKER_TAG, worker_id)
    _worker_info = WorkerInfo(id=worker_id, num_workers=spec.num_workers, seed=seed, dataset=spec.dataset)
    seed_all(seed)
    init_error = None
    if spec.worker_init_fn is not None:
        try:
            spec.worker_init_fn(worker_id)
        except Exception as error:  # noqa: BLE001
            init_error = ExceptionWrapper(error, worker_id, "in worker_init_fn")
    iteration, iterator, produced = None, None, 0
    sent = 0
    while True:
        try:
            task = task_conn.recv()  # (if the main process dies meanwhile, _exit_with_parent ends us)
        except (EOFError, OSError):
            break
        if task is None:
            break
        task_iteration, task_index, epoch, loader_seed, indices = task
        status, payload = OK, None
        try:
            if init_error is not None:
                status, payload = ERROR, init_error
            elif spec.iterable:
                if task_iteration != iteration:  # a new epoch: a fresh iterator over a freshly seeded stream
                    iteration, produced = task_iteration, 0
                    seed_all(derive_seed(loader_seed, epoch, WORKER_TAG, worker_id))
                    iterator = iter(spec.dataset)
                if iterator is None:
                    raise Exhausted
                try:
                    data = fetch_iterable_batch(iterator, spec.auto_collation, spec.batch_size, spec.drop_last,
                                                spec.collate_fn)
                except Exhausted:
                    iterator = None
                    raise
                produced += 1
                payload = shared_memory.pack(data, f"{spec.shm_prefix}{worker_id}_{sent}")
                del data
            else:
                data = fetch_map_batch(spec.dataset, indices, spec.auto_collation, spec.collate_fn, loader_seed,
                                       epoch, task_index, restore_rng=False)
                payload = shared_memory.pack(data, f"{spec.shm_prefix}{worker_id}_{sent}")
                del data
        except Exhausted:
            status, payload = EXHAUSTED, None
        except Exception as error:  # noqa: BLE001
            where = f"while producing batch {produced} of its stream" if spec.iterable else \
                f"while producing batch {task_index}"
            status, payload = ERROR, ExceptionWrapper(error, worker_id, where)
        sent += 1
        try:
            result_conn.send((task_iteration, task_index, status, payload))
        except (OSError, ValueError):  # the main process stopped listening
            if status == OK:
                shared_memory.discard(payload)
            break
        except Exception as error:  # noqa: BLE001  (e.g. a batch holding something unpicklable)
            if status == OK:
                shared_memory.discard(payload)
            wrapped = ExceptionWrapper(error, worker_id, f"while sending batch {task_index}")
            try:
                result_conn.send((task_iteration, task_index, ERROR, wrapped))
            except Exception:  # noqa: BLE001
                break
    try:
        task_conn.close()
        result_conn.close()
    except Exception:  # noqa: BLE001, S110
        pass
    sys.stdout.flush()
