"""MPI plumbing for ``DDPStrategy``: finding out whether we run under ``mpiexec``, the communicator,
and the watchdog that turns a stuck collective into an error on every rank.

Failure handling (why it looks like this): MPI has no portable way to survive the death of a rank,
and a rank left waiting in a collective for a peer that will never come waits forever. So:

* a Python exception on one rank is printed with the rank's number and ends the whole job with
  ``MPI_Abort`` (``mpiexec`` then stops every other rank);
* a rank killed outright (SIGKILL, out-of-memory killer) is noticed by ``mpiexec`` itself, which
  stops the others at once; rank 0 prints a table of (rank, host, pid) at start so that the pid in
  ``mpiexec``'s message names the rank, and ``ember fit ... trainer.devices=N`` translates it;
* anything else that leaves a collective waiting (a rank stuck in user code, a launcher that does
  not clean up) is caught by the watchdog: a collective that has waited longer than ``timeout``
  prints which rank waited where, for how long, and aborts the job.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import threading
import time

from ember.distributed import launched_rank, launched_world_size  # noqa: F401 (the strategies' names)

def mpi():
    """``mpi4py.MPI``, with an error that says how to install it."""
    try:
        from mpi4py import MPI  # (lazy: an optional extra, needed only under DDP)
    except ImportError as error:
        raise ImportError(
            "Trainer(strategy='ddp') runs on MPI through mpi4py, which is not installed: "
            "pip install 'ember[mpi]' (mpi4py and the mpich wheel; a system MPI works too)"
        ) from error
    return MPI


def rank_table(comm) -> list[tuple[str, int]]:
    """``[(host, pid)]`` of every rank, gathered on every rank."""
    return comm.allgather((socket.gethostname(), os.getpid()))


def abort(comm, message: str, code: int = 1) -> None:
    """Prints ``message`` and ends every rank of the job (never returns)."""
    with contextlib.suppress(OSError, ValueError):  # (stdout may be closed)
        sys.stdout.flush()
    sys.stderr.write(message if message.endswith("\n") else message + "\n")
    sys.stderr.flush()
    time.sleep(1.0)  # mpiexec stops forwarding output once it handles the abort: let the message through first
    comm.Abort(code)


def abort_on_uncaught_exception(comm, table: list[tuple[str, int]]) -> None:
    """An exception that ends this rank's program (outside ``Trainer.fit``, which aborts by itself) ends
    every rank too, instead of leaving them waiting (what ``python -m mpi4py`` does)."""
    previous = sys.excepthook

    def hook(kind, value, tb):
        previous(kind, value, tb)
        rank = comm.Get_rank()
        host, pid = table[rank]
        abort(comm, f"[ember] rank {rank}/{comm.Get_size()} (pid {pid} on {host}) ended with {kind.__name__}: {value}\n"
                    "[ember] aborting every rank of the job")

    if getattr(sys.excepthook, "__name__", "") != "hook":
        sys.excepthook = hook


class Watchdog:
    """Aborts the job when one collective waits longer than ``timeout`` seconds.

    The training thread marks the collective it enters (``with watchdog.waiting("gradient allreduce")``);
    a daemon thread looks once a second. mpi4py releases the GIL inside blocking MPI calls, so the
    thread runs while the training thread waits.
    """

    def __init__(self, comm, timeout: float):
        self.comm, self.timeout = comm, float(timeout)
        self._what: str | None = None
        self._since = 0.0
        self.describe = None  # () -> what the trainer is doing, for the message (e.g. "epoch 0, step 12")
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="ember-ddp-watchdog", daemon=True)
            self._thread.start()

    @contextlib.contextmanager
    def waiting(self, what: str):
        self._what, self._since = what, time.monotonic()
        try:
            yield
        finally:
            self._what = None

    def _run(self) -> None:
        period = max(0.05, min(1.0, self.timeout / 10))
        while True:
            time.sleep(period)
            what = self._what
            if what is None:
                continue
            waited = time.monotonic() - self._since
            if waited > self.timeout:
                rank, size = self.comm.Get_rank(), self.comm.Get_size()
                where = f" ({self.describe()})" if self.describe is not None else ""
                abort(self.comm, f"[ember] rank {rank}/{size}: {what}{where} waited {waited:.0f} s for the other "
                                 f"ranks (timeout {self.timeout:g} s): another rank has died, hangs or is running "
                                 "different code; aborting every rank")


class WatchedComm:
    """An mpi4py communicator whose blocking collectives are timed by a ``Watchdog`` (given to code that
    runs collectives of its own, such as ``SyncBatchNorm``); everything else is the communicator's."""

    _WATCHED = frozenset(("Allreduce", "Allgather", "Bcast", "Barrier", "Reduce", "Gather", "Scatter",
                          "allreduce", "allgather", "bcast", "barrier", "reduce", "gather", "scatter"))

    def __init__(self, comm, watchdog: Watchdog):
        self._comm, self._watchdog = comm, watchdog

    def __getattr__(self, name: str):
        attr = getattr(self._comm, name)
        if name not in self._WATCHED:
            return attr

        def watched(*args, **kwargs):
            with self._watchdog.waiting(f"{name} (SyncBatchNorm or user code)"):
                return attr(*args, **kwargs)

        return watched
