"""DataLoader workers and shared memory under hostile exits: a second Ctrl-C while the loader shuts down,
and a main process that is killed (SIGTERM, SIGKILL) while a worker hangs in the dataset.

Each test runs a real program in a subprocess and looks at what it leaves behind: worker processes
(``os.kill(pid, 0)``, zombies count as gone) and files of Ember's naming in ``/dev/shm``.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from ember.data.shared_memory import SHM_DIR

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="signals, fork and /proc")

# The program under test: two workers, batches 0-3 quick, batch 4 on hangs in the dataset. After the first
# batch, the prefetched ones that next() did not read sit in shared memory while the "training step" runs.
PROGRAM = textwrap.dedent("""
    import os, signal, sys, time
    import numpy as np
    from ember.data import DataLoader, Dataset
    from ember.data.shared_memory import SHM_DIR

    class HangsAfterFourBatches(Dataset):
        def __len__(self):
            return 64

        def __getitem__(self, i):
            if i >= 8:
                time.sleep(30)
            return np.full(1024, i, dtype=np.float32)

    def slow_to_die(worker_id):  # a worker that SIGTERM does not stop (as one stuck in I/O)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)

    stubborn = sys.argv[1] == "stubborn"
    loader = DataLoader(HangsAfterFourBatches(), batch_size=2, num_workers=2, multiprocessing_context="fork",
                        worker_init_fn=slow_to_die if stubborn else None)
    iterator = iter(loader)
    next(iterator)
    end = time.monotonic() + 20
    while not any(n.startswith(iterator._prefix) for n in os.listdir(SHM_DIR)) and time.monotonic() < end:
        time.sleep(0.02)  # until prefetched batches (those next() did not read yet) wait in shared memory
    time.sleep(0.2)
    print(iterator._prefix, *[process.pid for process in iterator._workers], flush=True)
    time.sleep(60)  # the training step the user interrupts
""")


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped by its new parent, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def segments(prefix: str) -> list[str]:
    return [name for name in os.listdir(SHM_DIR) if name.startswith(prefix)]


def start(mode: str) -> tuple[subprocess.Popen, str, list[int]]:
    process = subprocess.Popen([sys.executable, "-c", PROGRAM, mode], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    ready, _, _ = select.select([process.stdout], [], [], 60)  # (never hang the suite)
    line = process.stdout.readline().split() if ready else []
    if not line:
        process.kill()
        pytest.fail(f"the program did not start: {process.communicate(timeout=10)[1]}")
    prefix, workers = line[0], [int(pid) for pid in line[1:]]
    if not (len(workers) == 2 and all(alive(pid) for pid in workers) and segments(prefix)):
        clean_up(process, prefix, workers)
        pytest.fail("the program should run two workers and have prefetched batches in shared memory")
    return process, prefix, workers


def wait_until_gone(pids: list[int], limit: float) -> list[int]:
    end = time.monotonic() + limit
    while any(alive(pid) for pid in pids) and time.monotonic() < end:
        time.sleep(0.05)
    return [pid for pid in pids if alive(pid)]


def clean_up(process: subprocess.Popen, prefix: str, workers: list[int]) -> None:
    """Whatever a failing test left: no process and no shared memory survives it."""
    for pid in [process.pid, *workers]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait(timeout=10)
    for name in segments(prefix):
        os.unlink(os.path.join(SHM_DIR, name))


def test_second_ctrl_c_during_shutdown_leaves_no_worker_and_no_shared_memory():
    process, prefix, workers = start("stubborn")
    try:
        process.send_signal(signal.SIGINT)  # the user stops the run: the loader shuts down at exit ...
        time.sleep(0.3)
        process.send_signal(signal.SIGINT)  # ... and, impatient, presses Ctrl-C again while it does
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pytest.fail("the program did not exit within 10 s of the second Ctrl-C")
        assert wait_until_gone(workers, 2.0) == []
        assert segments(prefix) == []
    finally:
        clean_up(process, prefix, workers)


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_workers_die_with_a_killed_main_process_even_when_hanging_in_the_dataset(how):
    process, prefix, workers = start("plain")
    try:
        process.send_signal(how)  # the default action: the main process dies at once, running no cleanup
        process.wait(timeout=10)
        assert wait_until_gone(workers, 3.0) == [], "a worker outlived its main process"
        assert segments(prefix) == []
    finally:
        clean_up(process, prefix, workers)


def test_a_forked_child_dropping_the_iterator_leaves_the_parents_workers_alone():
    program = textwrap.dedent("""
        import gc, os
        from ember.data import DataLoader

        loader = DataLoader(list(range(64)), batch_size=2, num_workers=2, multiprocessing_context="fork")
        iterator = iter(loader)
        count = len(next(iterator))
        pid = os.fork()
        if pid == 0:  # a forked child (a launcher's, a library's) whose copy of the iterator is collected
            del iterator
            gc.collect()
            os._exit(0)
        os.waitpid(pid, 0)
        print(count + sum(len(batch) for batch in iterator))
    """)
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["64"]

