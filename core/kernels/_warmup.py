"""Compiles kernels a run will need soon in a helper process, on the core this one leaves idle.

numba compiles a kernel on its first call, in the calling thread and holding its compiler lock, so the
first training step of a fresh install compiles its forward kernels and then its backward ones one
after the other on one core (benchmarks/README.md, 2026-12-07). ``start(jobs)`` launches
``python -m ember.kernels._warmup JOB ...``, which calls the named kernels' wrappers on tiny arrays of
the types the ops pass (``JOBS``) and so writes numba's on-disk cache (every kernel is
``cache=True``). numba looks a signature up in that cache before compiling it, so when this process
first calls a kernel the helper has finished, it loads the machine code instead of compiling; a kernel
the helper has not finished by then is compiled here as before (the helper's work is then wasted,
nothing else).

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


def _kernels(*names):
    """The numba dispatchers of kernels named ``"module.attr"``; ``"module.a|module.b"`` takes the first
    of several names that exists (a kernel that moved behind a wrapper keeps its job working)."""
    def dispatchers():
        import importlib

        found = []
        for choices in names:
            for name in choices.split("|"):
                module, attr = name.rsplit(".", 1)
                kernel = getattr(importlib.import_module(f"{__package__}.{module}"), attr, None)
                kernel = getattr(kernel, "serial", kernel)  # an Adaptive / Split kernel's own compilation
                if hasattr(kernel, "signatures"):
                    found.append(kernel)
                    break
            else:
                raise LookupError(f"no kernel {choices!r}")
        return found
    return dispatchers


# job name -> (function of the dtype that compiles it, the numba dispatchers it compiles)
JOBS = {
    "conv5x5_weight_grad": (_conv5x5_weight_grad, _kernels("conv5x5._weight_grad")),
    "col2im": (_col2im, _kernels("conv._col2im|conv.col2im")),
    "max_pool_backward": (_max_pool_backward, _kernels("pooling.scatter_add_planes")),
}

_started = None  # (pid of the process that started it, Popen)


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
            cached = all(_cached(d) for d in JOBS[name][1]())
        except (LookupError, ImportError):  # (the job itself calls the kernels' wrappers: let it run)
            cached = False
        if not cached:
            todo.append(job)
    return todo


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
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, close_fds=True)
    except OSError:
        return None
    _started = (os.getpid(), process)
    return process


@atexit.register
def _stop() -> None:
    """Ends the helper (its remaining jobs are of no use to a process that is ending) and reaps it."""
    if _started is None or _started[0] != os.getpid():
        return
    process = _started[1]
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
    """The helper: runs each job, ignoring one that fails (the run then compiles that kernel itself)."""
    for job in argv:
        name, _, dtype = job.partition(":")
        try:
            JOBS[name][0](np.dtype(dtype or "float32"))
        except Exception:  # noqa: BLE001 - an optimisation only; the run compiles what is missing
            continue
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
