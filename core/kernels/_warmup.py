"""Compiles kernels a run will need soon in a helper process, on the core this one leaves idle.

numba compiles a kernel on its first call, in the calling thread and holding its compiler lock, so the
first training step of a fresh install compiles its forward kernels and then its backward ones one
after the other on one core (benchmarks/README.md, 2026-12-07). ``start(jobs)`` launches
``python -m ember.kernels._warmup JOB ...``, which calls the named kernels' wrappers on tiny arrays of
the types the ops pass (``JOBS``) and so writes numba's on-disk cache (every kernel is
``cache=True``). numba looks a signature up in that cache before compiling it, so when this process
first calls a kernel the helper has finished, it loads the machine code instead of compiling. The helper
reports each job it starts and finishes on its stdout; a first call of a kernel the helper is compiling
at that moment waits for it (the helper is ahead on it), and one whose job has not started yet is
compiled here as before (the helper's work on it is then wasted, nothing else).

Nothing is started when every job's kernels are already in the cache (a warm start), when
``EMBER_KERNEL_WARMUP=0``, or a second time in one process. The helper writes where this process's
kernels read (same environment, so the same ``NUMBA_CACHE_DIR`` or the writable fallback numba chose);
numba writes each cache file under a temporary name and renames it, so two processes compiling one
kernel at once leave a whole file either way. The helper is ended and reaped when this process exits,
by the process that started it only (a forked DataLoader worker leaves it alone).

Nothing here imports numba until ``start`` is called.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import threading

import numpy as np


def _zeros(shape, dtype):
    return np.zeros(shape, dtype=dtype)


def _conv5x5_weight_grad(dtype):
    from . import conv5x5

    return conv5x5.conv5x5_weight_grad(_zeros((1, 1, 6, 6), dtype), _zeros((1, 1, 2, 2), dtype), 0, 0)


def _col2im(dtype):
    from . import conv

    cols = _zeros((1, 1, 2, 2, 2, 4), dtype)[..., ::2]  # a strided view, as the input gradient's columns are
    return conv.col2im(cols, 3, 3, 1, 1, 0, 0, 1, 1)


def _max_pool_backward(dtype):
    from . import pooling

    return pooling.scatter_add_planes(_zeros((1, 1, 4), dtype), np.zeros((1, 1, 4), np.int64), 16)


def _adam_update(dtype):
    from . import optim

    one = dtype.type(0.5)
    return optim.adam_update(4, *(_zeros(4, dtype) for _ in range(5)), *(one,) * 9, False)  # (5 arrays, 9 scalars, amsgrad)


def _kernels(*names):
    """The kernels named ``"module.attr"`` as (Adaptive / Split object or None, numba dispatcher) pairs;
    ``"module.a|module.b"`` takes the first of several names that exists (a kernel that moved behind a
    wrapper keeps its job working)."""
    def dispatchers():
        import importlib

        found = []
        for choices in names:
            for name in choices.split("|"):
                module, attr = name.rsplit(".", 1)
                owner = getattr(importlib.import_module(f"{__package__}.{module}"), attr, None)
                kernel = getattr(owner, "serial", owner)  # an Adaptive / Split kernel's own compilation
                kernel = getattr(kernel, "_dispatcher", kernel)  # (behind a _FirstCallWaits)
                if hasattr(kernel, "signatures"):
                    found.append((owner if owner is not kernel else None, kernel))
                    break
            else:
                raise LookupError(f"no kernel {choices!r}")
        return found
    return dispatchers


# job name -> (function of the dtype that compiles it, the kernels it compiles)
JOBS = {
    "conv5x5_weight_grad": (_conv5x5_weight_grad, _kernels("conv5x5._weight_grad")),
    "col2im": (_col2im, _kernels("conv._col2im|conv.col2im")),
    "max_pool_backward": (_max_pool_backward, _kernels("pooling.scatter_add_planes")),
    "adam_update": (_adam_update, _kernels("optim.adam_update")),
}

_started = None  # the _Helper this process started
_WAIT_S = 2.0  # longest wait for the helper to finish a kernel (about what compiling it here costs): a
# helper starved of CPU on a busy machine must not hold the run up for longer than that


def _cached(dispatcher) -> bool:
    """Whether numba's cache holds machine code of ``dispatcher``'s current source (any signature).
    Without an on-disk cache, or where numba's cache internals are not as expected, True: there is then
    nothing a helper could hand over."""
    try:
        return bool(dispatcher._cache._cache_file._load_index())  # {} when missing or stale (source changed)
    except Exception:  # noqa: BLE001 - see the docstring
        return True


def pending(jobs) -> list[str]:
    """The jobs (``"name:dtype"``) some of whose kernels have nothing in numba's cache yet."""
    todo = []
    for job in jobs:
        name = job.split(":", 1)[0]
        if name not in JOBS:
            continue
        try:
            cached = all(_cached(d) for _, d in JOBS[name][1]())
        except (LookupError, ImportError):  # (the job itself calls the kernels' wrappers: let it run)
            cached = False
        if not cached:
            todo.append(job)
    return todo


class _Helper:
    """The helper process and what it reported on its stdout: ``started JOB`` / ``done JOB`` lines, read by
    a daemon thread of this process."""

    def __init__(self, process, jobs):
        self.process = process
        self.pid = os.getpid()
        self.state = {}  # job -> "started" / "done"
        self.ended = False
        self.changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True, name="ember-kernel-warmup").start()

    def _read(self):
        try:
            for line in self.process.stdout:
                what, _, job = line.decode("ascii", "replace").strip().partition(" ")
                with self.changed:
                    self.state[job] = what
                    self.changed.notify_all()
        except (OSError, ValueError):
            pass
        with self.changed:
            self.ended = True
            self.changed.notify_all()

    def wait_if_compiling(self, job, timeout=_WAIT_S):
        """Returns once the helper is not compiling ``job`` (at once unless it is compiling it now: it is
        then ahead of this process on that kernel)."""
        if os.getpid() != self.pid:  # (a forked child: no reader thread here)
            return
        with self.changed:
            self.changed.wait_for(lambda: self.ended or self.state.get(job) != "started", timeout)


class _FirstCallWaits:
    """Stands in for an Adaptive / Split kernel's ``serial`` dispatcher until its first call, which waits
    for the helper if the helper is compiling that kernel, puts the dispatcher back and calls it (numba
    then loads the helper's machine code from the cache)."""

    def __init__(self, owner, dispatcher, job, helper):
        self._owner, self._dispatcher, self._job, self._helper = owner, dispatcher, job, helper

    def __call__(self, *args):
        self._helper.wait_if_compiling(self._job)
        if self._owner.serial is self:
            self._owner.serial = self._dispatcher
        return self._dispatcher(*args)

    def __getattr__(self, name):
        return getattr(self._dispatcher, name)


def start(jobs) -> subprocess.Popen | None:
    """Starts compiling ``jobs`` (``"name:dtype"`` strings, names from ``JOBS``, in the order given) in a
    helper process; returns it, or None when nothing was started (see the module's docstring)."""
    global _started
    if _started is not None or os.environ.get("EMBER_KERNEL_WARMUP", "1") == "0":
        return None
    jobs = pending(jobs)
    if not jobs:
        return None
    try:
        process = subprocess.Popen([sys.executable, "-m", f"{__package__}._warmup", *jobs],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, close_fds=True)
    except OSError:
        return None
    _started = helper = _Helper(process, jobs)
    for job in jobs:
        try:
            kernels = JOBS[job.split(":", 1)[0]][1]()
        except (LookupError, ImportError):
            continue
        for owner, dispatcher in kernels:
            if owner is not None and owner.serial is dispatcher:
                owner.serial = _FirstCallWaits(owner, dispatcher, job, helper)
    return process


@atexit.register
def _stop() -> None:
    """Ends the helper (its remaining jobs are of no use to a process that is ending) and reaps it."""
    if _started is None or _started.pid != os.getpid():
        return
    process = _started.process
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()


def _forget_after_fork() -> None:  # a forked child did not start the helper and may start its own
    global _started
    _started = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


def main(argv) -> int:
    """The helper: runs each job, ignoring one that fails (the run then compiles that kernel itself).

    It runs at the lowest priority: on a quiet machine it has a core of its own and runs at full speed,
    but where the other cores are busy it must not take CPU from the training process (at normal
    priority it made the cold first step slower there: benchmarks/README.md, 2026-12-07)."""
    try:
        os.nice(19)
    except (AttributeError, OSError):
        pass
    for job in argv:
        name, _, dtype = job.partition(":")
        print("started", job, flush=True)
        try:
            JOBS[name][0](np.dtype(dtype or "float32"))
        except Exception:  # noqa: BLE001, S110 - an optimisation only; the run compiles what is missing
            pass
        print("done", job, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
