"""The main-process side of multi-process loading: dispatching tasks, reordering results, failing loudly.

Each worker has a task pipe and a result pipe. At most ``prefetch_factor * num_workers`` batches are in
flight (sent and not yet yielded); a new task goes to the worker with the fewest unfinished ones. Results
come back in any order and are yielded in the sampler's order. The main process waits on the result pipes
*and* on the workers' process sentinels, so a worker that dies is noticed at once: its death, a worker's
exception, or ``timeout`` each raise a clear error, never hang. Every way of abandoning an iterator
(exhaustion, ``break`` then garbage collection, an exception such as ``KeyboardInterrupt``, interpreter
exit) ends in ``_shutdown``, which leaves no process and no shared memory behind, even when a second
Ctrl-C comes while it runs. A main process killed outright runs no cleanup: then each worker notices
that its parent is gone, removes the shared memory and exits (``worker._exit_with_parent``).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import secrets
import signal
import threading
import time
import weakref
from multiprocessing.connection import wait

from . import shared_memory
from .seeding import derive_seed
from .worker import ERROR, EXHAUSTED, OK, WorkerSpec, worker_loop

_POLL_INTERVAL = 5.0  # seconds; the sentinels wake us up earlier if a worker dies
_LIVE_ITERATORS: weakref.WeakSet = weakref.WeakSet()

_SIGNAL_HINTS = {
    "SIGKILL": " (killed from outside, e.g. by the out-of-memory killer)",
    "SIGBUS": " (often a full /dev/shm: enlarge it or use smaller batches)",
    "SIGSEGV": " (a segmentation fault in the dataset's code or a library it calls)",
}


@atexit.register
def _shutdown_all() -> None:
    with _signals_held():  # a Ctrl-C while the first iterator stops must not spare the others
        for iterator in list(_LIVE_ITERATORS):
            iterator._shutdown(grace=0.0)


@contextlib.contextmanager
def _signals_held(signums=(signal.SIGINT, signal.SIGTERM)):
    """Holds SIGINT and SIGTERM back while the block runs, then delivers them to the handlers they had.

    A cleanup that must finish (stopping the workers, removing their shared memory) is thus not cut short
    by a second Ctrl-C. Python runs signal handlers in the main thread only: elsewhere the block just runs.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    previous = {}
    for signum in signums:
        if signal.getsignal(signum) is not None:  # (None: a handler installed from C, left alone)
            previous[signum] = signal.signal(signum, lambda number, frame: pending.append(number))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for signum in pending:  # each one, in order: a handler may count them (first Ctrl-C, second)
            handler = previous[signum]
            if callable(handler):
                handler(signum, None)  # e.g. Python's default SIGINT handler: raises KeyboardInterrupt
            elif handler == signal.SIG_DFL:
                os.kill(os.getpid(), signum)


class MultiProcessIterator:
    """Iterator over a ``DataLoader`` with ``num_workers > 0`` (created by ``DataLoader.__iter__``)."""

    def __init__(self, loader, plan, epoch: int, seed: int, skip: int, progress):
        """``plan`` is the loader's ``_IndexPlan`` (``None`` for an iterable dataset)."""
        self.is_shut_down = False  # no more batches: asked to stop, or stopping
        self._stopped = False  # the workers are gone and the shared memory is freed
        self._owner = os.getpid()  # only this process may stop them (not a child forked from it)
        self._workers, self._task_conns, self._result_conns = [], [], []
        self._iterable = loader._iterable
        self._plan = plan
        self._num_workers = loader.num_workers
        self._capacity = loader.prefetch_factor * loader.num_workers
        self._timeout = loader.timeout
        self._persistent = loader.persistent_workers
        self._prefix = f"ember_dl_{os.getpid()}_{secrets.token_hex(4)}_"
        spec = WorkerSpec(
            dataset=loader.dataset, num_workers=loader.num_workers, iterable=self._iterable,
            auto_collation=loader._auto_collation, batch_size=loader.batch_size, drop_last=loader.drop_last,
            collate_fn=loader.collate_fn, worker_init_fn=loader.worker_init_fn,
            start_seed=derive_seed(seed, epoch), shm_prefix=self._prefix,
        )
        context = loader._context()
        _LIVE_ITERATORS.add(self)
        try:
            for worker_id in range(self._num_workers):
                task_reader, task_writer = context.Pipe(duplex=False)
                result_reader, result_writer = context.Pipe(duplex=False)
                process = context.Process(
                    target=worker_loop, args=(spec, worker_id, task_reader, result_writer),
                    name=f"ember-data-worker-{worker_id}", daemon=True,
                )
                process.start()
                task_reader.close()  # the worker's ends: closing ours makes its death visible as EOF
                result_writer.close()
                self._workers.append(process)
                self._task_conns.append(task_writer)
                self._result_conns.append(result_reader)
        except BaseException:
            self._shutdown(grace=0.0)
            raise
        self._outstanding = [0] * self._num_workers  # tasks sent to each worker and not yet answered
        self._iteration = 0
        self.reset(epoch, seed, skip, progress)

    def reset(self, epoch: int, seed: int, skip: int, progress) -> None:
        """Starts an epoch (persistent workers reuse the iterator); answers to the old one are dropped."""
        self._iteration += 1
        self._epoch, self._seed, self._progress = epoch, seed, progress
        self._results: dict[int, tuple] = {}
        self._task_worker: dict[int, int] = {}
        self._sampler_done = False
        if self._iterable:
            self._active = [True] * self._num_workers
            self._cycle = 0
            self._to_skip = skip  # an iterable dataset cannot seek: its first batches are produced and dropped
            self._next_task = self._next_yield = 0
            self._batches = None
        else:
            self._batches = self._plan.batches(epoch, seed, skip)
            self._next_task = self._next_yield = skip
        while self._dispatch():
            pass

    def __iter__(self):
        return self

    def __len__(self) -> int:
        return len(self._plan.index_sampler) if self._plan is not None else 0

    # --- sending --------------------------------------------------------------------------------------
    def _dispatch(self) -> bool:
        """Sends one more task if there is room and work; returns whether it did."""
        if self._sampler_done or self._next_task - self._next_yield >= self._capacity:
            return False
        if self._iterable:
            if not any(self._active):
                self._sampler_done = True
                return False
            while not self._active[self._cycle]:
                self._cycle = (self._cycle + 1) % self._num_workers
            worker, task, indices = self._cycle, self._next_task, None
            self._cycle = (self._cycle + 1) % self._num_workers
        else:
            try:
                task, indices = next(self._batches)
            except StopIteration:
                self._sampler_done = True
                return False
            worker = min(range(self._num_workers), key=self._outstanding.__getitem__)
        self._task_conns[worker].send((self._iteration, task, self._epoch, self._seed, indices))
        self._task_worker[task] = worker
        self._outstanding[worker] += 1
        self._next_task = task + 1
        return True

    # --- receiving ------------------------------------------------------------------------------------
    def _read(self, worker: int) -> None:
        try:
            iteration, task, status, payload = self._result_conns[worker].recv()
        except Exception:  # noqa: BLE001  (EOF or a message cut short: the worker is gone)
            raise self._death_error(worker) from None
        self._outstanding[worker] -= 1
        if iteration != self._iteration:  # an answer for an abandoned epoch
            if status == OK:
                shared_memory.discard(payload)
            return
        if status == OK:
            payload = shared_memory.unpack(payload)
        elif status == EXHAUSTED:
            self._active[worker] = False
        self._results[task] = (status, payload)

    def _receive(self, deadline: float | None) -> None:
        waiting = None if deadline is None else deadline - time.monotonic()
        if waiting is not None and waiting <= 0:
            raise self._timeout_error()
        sentinels = [process.sentinel for process in self._workers]
        ready = wait(self._result_conns + sentinels, timeout=_POLL_INTERVAL if waiting is None else
                     min(waiting, _POLL_INTERVAL))
        for worker, conn in enumerate(self._result_conns):
            if conn in ready:
                self._read(worker)
        for worker, process in enumerate(self._workers):
            if process.sentinel in ready or not process.is_alive():
                while self._result_conns[worker].poll(0):  # what it sent before it died
                    self._read(worker)
                raise self._death_error(worker)

    def _next(self) -> tuple:
        deadline = time.monotonic() + self._timeout if self._timeout > 0 else None
        while True:
            if self._next_yield in self._results:
                task = self._next_yield
                status, payload = self._results.pop(task)
                self._task_worker.pop(task, None)
                self._next_yield += 1
                self._dispatch()
                if self._iterable:
                    if status == EXHAUSTED:
                        continue
                    if self._to_skip > 0 and status == OK:
                        self._to_skip -= 1
                        continue
                    self._progress.position += 1
                else:
                    self._progress.position = task + 1
                return status, payload
            if self._next_yield >= self._next_task and not self._dispatch():
                self._progress.finished = True
                if not self._persistent:
                    self._shutdown(grace=2.0)
                raise StopIteration
            if self._next_yield < self._next_task:
                self._receive(deadline)

    def __next__(self):
        if self.is_shut_down:
            raise StopIteration
        try:
            status, payload = self._next()
        except StopIteration:
            raise
        except BaseException:  # a dead worker, a timeout, KeyboardInterrupt: stop everything, then raise
            self._shutdown(grace=0.0)
            raise
        if status == ERROR:
            payload.reraise()
        return payload

    # --- errors and shutting down ---------------------------------------------------------------------
    def _death_error(self, worker: int) -> RuntimeError:
        process = self._workers[worker]
        process.join(0.5)
        code = process.exitcode
        if code is not None and code < 0:
            name = signal.Signals(-code).name
            how = f"was killed by signal {name}{_SIGNAL_HINTS.get(name, '')}"
        else:
            how = f"exited unexpectedly with exit code {code}"
        self._shutdown(grace=0.0)
        return RuntimeError(
            f"DataLoader worker {worker} (pid {process.pid}) {how}, while the loader waited for batch "
            f"{self._progress.position} of epoch {self._epoch}. All workers have been stopped."
        )

    def _timeout_error(self) -> RuntimeError:
        worker = self._task_worker.get(self._next_yield)
        self._shutdown(grace=0.0)
        return RuntimeError(
            f"DataLoader timed out after {self._timeout} seconds waiting for batch {self._progress.position} "
            f"of epoch {self._epoch} (from worker {worker}). All workers have been stopped."
        )

    def close(self) -> None:
        """Stops the workers now and frees their shared memory, instead of when the iterator is collected
        (the Trainer calls it when a step raises: the exception's traceback keeps the iterator alive)."""
        self._shutdown(grace=0.0)

    def _shutdown(self, grace: float = 0.5) -> None:
        """Stops the workers and frees the shared memory, whatever interrupts it.

        The polite part first: the workers are told to exit and given ``grace`` seconds; a Ctrl-C there
        only cuts the wait short. Then, with SIGINT and SIGTERM held back until it is done (about a
        second), the workers still running are terminated, those still running a second later killed, and
        every shared-memory file of this iterator is removed. Until that part has run to its end the
        iterator stays registered, so interpreter exit tries again.
        """
        if self._stopped or os.getpid() != self._owner:
            return
        try:
            if not self.is_shut_down:
                self.is_shut_down = True
                self._ask_workers_to_exit(grace)
        finally:
            with _signals_held():
                self._stop_workers()

    def _ask_workers_to_exit(self, grace: float) -> None:
        for conn in self._result_conns:  # a worker blocked sending a result gets EPIPE and exits
            conn.close()
        for conn in self._task_conns:
            try:
                conn.send(None)
            except Exception:  # noqa: BLE001, S110
                pass
            conn.close()
        _join_all(self._workers, grace)

    def _stop_workers(self) -> None:
        for conn in self._result_conns + self._task_conns:
            conn.close()
        for process in self._workers:
            if process.is_alive():
                process.terminate()
        _join_all(self._workers, 1.0)
        for process in self._workers:
            if process.is_alive():
                process.kill()
        _join_all(self._workers, 5.0)  # (only a process stuck in the kernel outlives SIGKILL this long)
        shared_memory.remove_leftovers(self._prefix)
        _LIVE_ITERATORS.discard(self)
        self._stopped = True

    def __del__(self):
        try:
            self._shutdown(grace=0.5)
        except Exception:  # noqa: BLE001, S110
            pass


def _join_all(processes: list, timeout: float) -> None:
    """Waits up to ``timeout`` seconds in all for ``processes`` to end."""
    end = time.monotonic() + timeout
    for process in processes:
        process.join(max(0.0, end - time.monotonic()))
