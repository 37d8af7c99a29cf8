"""``spawn`` / ``start_processes``: start ``nprocs`` processes running ``fn(i, *args)``, as torch's.

If a process fails, the others are terminated and the parent raises: ``ProcessRaisedException`` with the
child's traceback when it raised, ``ProcessExitedException`` when it died with a signal or an exit code.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import pickle
import signal
import sys
import tempfile
import time
import warnings

__all__ = [
    "ProcessContext", "ProcessException", "ProcessExitedException", "ProcessRaisedException", "SpawnContext",
    "spawn", "start_processes",
]


class ProcessException(Exception):
    """A process started by ``spawn`` failed; ``error_index`` is its index, ``error_pid`` its pid."""

    def __init__(self, msg: str, error_index: int, error_pid: int):
        super().__init__(msg)
        self.msg, self.error_index, self.error_pid = msg, error_index, error_pid

    def __reduce__(self):
        return type(self), (self.msg, self.error_index, self.error_pid)


class ProcessRaisedException(ProcessException):
    """A process failed with an exception; the message holds its traceback."""


class ProcessExitedException(ProcessException):
    """A process died from a signal or exited with a non-zero code."""

    def __init__(self, msg: str, error_index: int, error_pid: int, exit_code: int,
                 signal_name: str | None = None):
        super().__init__(msg, error_index, error_pid)
        self.exit_code, self.signal_name = exit_code, signal_name

    def __reduce__(self):
        return type(self), (self.msg, self.error_index, self.error_pid, self.exit_code, self.signal_name)


def _wrap(fn, i, args, error_file):
    """The child's entry point: ``fn(i, *args)``; if that raises, the traceback goes to ``error_file``."""
    try:
        fn(i, *args)
    except KeyboardInterrupt:
        pass  # the parent stopped us
    except Exception:
        import traceback

        with open(error_file, "wb") as fh:
            pickle.dump(traceback.format_exc(), fh)
        sys.exit(1)


class ProcessContext:
    """The processes ``start_processes(join=False)`` started; ``join`` waits for them, raises on a failure."""

    def __init__(self, processes, error_files):
        self.processes, self.error_files = processes, error_files
        self.sentinels = {process.sentinel: index for index, process in enumerate(processes)}

    def pids(self) -> list[int]:
        return [int(process.pid) for process in self.processes]

    def join(self, timeout: float | None = None, grace_period: float | None = None) -> bool:
        """Waits up to ``timeout`` for processes to end; True once all have ended well. If one failed,
        terminates the others (after ``grace_period``) and raises the failure."""
        if not self.sentinels:
            return True
        error_index = None
        for sentinel in multiprocessing.connection.wait(self.sentinels.keys(), timeout=timeout):
            index = self.sentinels.pop(sentinel)
            self.processes[index].join()
            if self.processes[index].exitcode != 0:
                error_index = index
                break
        if error_index is None:
            return not self.sentinels
        self._stop_others(grace_period)
        raise self._failure(error_index)

    def _stop_others(self, grace_period: float | None) -> None:
        if grace_period is not None:
            self._join_all(grace_period)
        for process in self.processes:
            if process.is_alive():
                process.terminate()
        self._join_all(30 if grace_period is None else grace_period)
        for process in self.processes:
            if process.is_alive():
                process.kill()
            process.join()

    def _join_all(self, timeout: float) -> None:
        end = time.monotonic() + timeout
        for process in self.processes:
            process.join(max(0.0, end - time.monotonic()))

    def _failure(self, index: int) -> ProcessException:
        process = self.processes[index]
        if not os.access(self.error_files[index], os.R_OK):
            code = process.exitcode
            if code < 0:
                try:
                    name = signal.Signals(-code).name
                except ValueError:
                    name = f"<Unknown signal {-code}>"
                return ProcessExitedException(f"process {index:d} terminated with signal {name}", index,
                                              process.pid, code, name)
            return ProcessExitedException(f"process {index:d} terminated with exit code {code:d}", index,
                                          process.pid, code)
        with open(self.error_files[index], "rb") as fh:
            trace = pickle.load(fh)
        os.unlink(self.error_files[index])
        message = f"\n\n-- Process {index:d} terminated with the following error:\n{trace}"
        return ProcessRaisedException(message, index, process.pid)


class SpawnContext(ProcessContext):
    """torch's name before 1.4 for ``ProcessContext``."""

    def __init__(self, processes, error_files):
        warnings.warn("SpawnContext is renamed to ProcessContext since 1.4 release.", stacklevel=2)
        super().__init__(processes, error_files)


def start_processes(fn, args=(), nprocs: int = 1, join: bool = True, daemon: bool = False,
                    start_method: str = "spawn"):
    """Starts ``nprocs`` processes running ``fn(i, *args)`` (``i`` = 0 .. nprocs-1) with ``start_method``.

    Returns None once all have ended well (``join=True``), else a ``ProcessContext``.
    """
    context = multiprocessing.get_context(start_method)
    processes, error_files = [], []
    for i in range(nprocs):
        with tempfile.NamedTemporaryFile(prefix="ember-errorfile-", suffix=".pickle", delete=False) as tf:
            pass
        os.unlink(tf.name)  # the child creates it only if it fails
        process = context.Process(target=_wrap, args=(fn, i, args, tf.name), daemon=daemon)
        process.start()
        processes.append(process)
        error_files.append(tf.name)
    processes_context = ProcessContext(processes, error_files)
    if not join:
        return processes_context
    while not processes_context.join():
        pass
    return None


def spawn(fn, args=(), nprocs: int = 1, join: bool = True, daemon: bool = False, start_method: str = "spawn"):
    """``start_processes`` with the ``spawn`` start method (any other ``start_method`` warns, as in torch).

    Example:
        >>> import ember.multiprocessing as mp
        >>> def work(i, total): ...  # doctest: +SKIP
        >>> mp.spawn(work, args=(10,), nprocs=2)  # doctest: +SKIP
    """
    if start_method != "spawn":
        warnings.warn(f"This method only supports start_method=spawn (got: {start_method}).\nTo use a "
                      "different start_method use:\n\t\t ember.multiprocessing.start_processes(...)",
                      FutureWarning, stacklevel=2)
    return start_processes(fn, args, nprocs, join, daemon, start_method="spawn")
