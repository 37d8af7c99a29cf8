"""Worker processes: order, shared-memory transport, errors, dead workers, timeouts, clean shutdown."""

from __future__ import annotations

import gc
import mmap
import multiprocessing
import os
import signal
import sys
import time

import ember
import numpy as np
import pytest
from ember.data import DataLoader, Dataset, get_worker_info
from ember.data.shared_memory import SHM_DIR

FORK = multiprocessing.get_context("fork")


def child_processes() -> list[int]:
    """Live (non-zombie) children of this process, read from the process table in /proc (except
    multiprocessing's own resource tracker, which the spawn start method starts once per program)."""
    me, children = os.getpid(), []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        state, parent = fields[0], int(fields[1])
        if parent == me and state != "Z":
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if b"resource_tracker" in f.read():
                        continue
            except OSError:
                continue
            children.append(int(entry))
    return children


def shared_memory_files() -> list[str]:
    return [name for name in os.listdir(SHM_DIR) if name.startswith(f"ember_dl_{os.getpid()}_")]


def wait_until_no_children(limit: float = 10.0) -> list[int]:
    end = time.monotonic() + limit
    while child_processes() and time.monotonic() < end:
        time.sleep(0.02)
    return child_processes()


@pytest.fixture(autouse=True)
def _no_leftovers():
    assert child_processes() == []
    yield
    gc.collect()
    assert wait_until_no_children() == []
    assert shared_memory_files() == []


class Slow(Dataset):
    def __init__(self, n=16, delay=0.0, slow_even=False):
        self.n, self.delay, self.slow_even = n, delay, slow_even

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        time.sleep(self.delay * (3 if self.slow_even and i % 4 < 2 else 1))
        return np.full((2, 3), i, dtype=np.float32), i


def loader_for(dataset, **kwargs):
    kwargs.setdefault("num_workers", 2)
    return DataLoader(dataset, batch_size=2, multiprocessing_context=FORK, **kwargs)


def test_order_is_the_samplers_whatever_the_workers_speed():
    batches = list(loader_for(Slow(16, delay=0.005, slow_even=True)))
    assert [b[1].tolist() for b in batches] == [[i, i + 1] for i in range(0, 16, 2)]
    assert batches[3][0].shape == (2, 2, 3) and float(batches[3][0][1, 0, 0]) == 7.0


def test_batches_arrive_in_shared_memory_not_through_the_pipe():
    class Big(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return {"image": np.full((256, 256), i, dtype=np.float64), "label": i}

    batch = next(iter(loader_for(Big())))
    image = batch["image"]
    assert isinstance(image, ember.Tensor) and image.shape == (2, 256, 256)
    assert isinstance(image._data.base, mmap.mmap)  # a view of the worker's shared-memory file
    assert isinstance(batch["label"]._data.base, mmap.mmap)
    image._data[0, 0, 0] = 5.0  # writable, like any batch
    assert float(image[1].mean()) == 1.0


def test_worker_exception_is_reraised_with_type_traceback_and_sample_index():
    class Faulty(Dataset):
        def __len__(self):
            return 10

        def __getitem__(self, i):
            if i == 5:
                raise ValueError(f"corrupt record {i}")
            return i

    loader = loader_for(Faulty())
    iterator = iter(loader)
    assert next(iterator).tolist() == [0, 1]
    assert next(iterator).tolist() == [2, 3]
    with pytest.raises(ValueError) as info:
        next(iterator)
    message = str(info.value)
    assert "sample index 5" in message and "worker process" in message
    assert "corrupt record 5" in message and "__getitem__" in message  # the worker's traceback
    assert info.value.sample_index == 5
    assert next(iterator).tolist() == [6, 7]  # the loader carries on, as PyTorch's does
    del iterator


@pytest.mark.skipif(sys.version_info < (3, 11), reason="exception notes need Python 3.11")
def test_single_process_exception_names_the_sample_index():
    class Faulty(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return {"a": 1}[i]

    with pytest.raises(KeyError) as info:
        list(DataLoader(Faulty(), batch_size=2))
    assert "sample index 0" in " ".join(info.value.__notes__)


def test_worker_killed_with_sigkill_gives_a_clear_error_not_a_hang():
    loader = loader_for(Slow(40, delay=0.01))
    iterator = iter(loader)
    next(iterator)
    victim = child_processes()[0]
    os.kill(victim, signal.SIGKILL)
    start = time.monotonic()
    with pytest.raises(RuntimeError, match=r"DataLoader worker \d \(pid \d+\) was killed by signal SIGKILL"):
        for _ in iterator:
            pass
    assert time.monotonic() - start < 10.0  # not a hang
    assert child_processes() == []  # the other worker was stopped too


@pytest.mark.parametrize(
    "die, message",
    [
        (lambda: os._exit(3), "exited unexpectedly with exit code 3"),
        (lambda: os.kill(os.getpid(), signal.SIGSEGV), "was killed by signal SIGSEGV"),
    ],
    ids=["exit", "segfault"],
)
def test_worker_that_exits_or_segfaults_is_reported(die, message):
    class Dies(Dataset):
        def __len__(self):
            return 8

        def __getitem__(self, i):
            if i == 4:
                die()
            return i

    with pytest.raises(RuntimeError, match=message):
        list(loader_for(Dies()))


def test_timeout_raises_instead_of_waiting_forever():
    class Stuck(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            time.sleep(30 if i == 2 else 0)
            return i

    start = time.monotonic()
    iterator = iter(loader_for(Stuck(), timeout=0.3))
    assert next(iterator).tolist() == [0, 1]
    with pytest.raises(RuntimeError, match=r"DataLoader timed out after 0.3 seconds"):
        next(iterator)
    assert time.monotonic() - start < 10.0  # the stuck worker sleeps 30 s
    assert child_processes() == []


def test_break_leaves_no_child_process():
    for _ in loader_for(Slow(40, delay=0.005)):
        assert len(child_processes()) == 2
        break
    assert wait_until_no_children() == []


def test_abandoned_iterator_is_cleaned_up_by_garbage_collection():
    iterator = iter(loader_for(Slow(40, delay=0.005)))
    next(iterator)
    del iterator
    assert wait_until_no_children() == []


def test_exception_in_the_loop_body_leaves_no_child_process():
    def train():
        for _ in loader_for(Slow(40, delay=0.005)):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train()
    assert wait_until_no_children() == []


def test_keyboard_interrupt_while_waiting_for_a_batch_stops_the_workers():
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        iterator = iter(loader_for(Slow(8, delay=5.0)))
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        with pytest.raises(KeyboardInterrupt):
            next(iterator)
        assert child_processes() == []  # stopped before the exception left __next__
        with pytest.raises(StopIteration):
            next(iterator)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_persistent_workers_survive_epochs_and_go_with_the_loader():
    loader = loader_for(Slow(8), persistent_workers=True)
    first = [b[1].tolist() for b in loader]
    workers = sorted(child_processes())
    assert len(workers) == 2
    for i, _ in enumerate(loader):  # an abandoned epoch: its in-flight answers must not leak into the next
        if i == 1:
            break
    assert [b[1].tolist() for b in loader] == first
    assert sorted(child_processes()) == workers
    del loader
    assert wait_until_no_children() == []


def test_worker_init_fn_and_get_worker_info():
    class WhoAmI(Dataset):
        def __len__(self):
            return 8

        def __getitem__(self, i):
            info = get_worker_info()
            return info.id, info.num_workers, self.tag

    def init(worker_id):
        get_worker_info().dataset.tag = 100 + worker_id

    batches = list(DataLoader(WhoAmI(), batch_size=None, num_workers=2, worker_init_fn=init,
                              multiprocessing_context=FORK))
    for worker_id, num_workers, tag in batches:
        assert num_workers == 2 and tag == 100 + worker_id
    assert {b[0] for b in batches} == {0, 1}
    assert get_worker_info() is None
    with pytest.raises(RuntimeError, match="Cannot assign attributes"):
        ember.data.WorkerInfo(id=0).id = 1


def test_worker_init_fn_error_is_reported():
    def init(worker_id):
        raise OSError("cannot open database")

    with pytest.raises(OSError, match="cannot open database"):
        list(DataLoader(Slow(4), batch_size=2, num_workers=1, worker_init_fn=init, multiprocessing_context=FORK))


class Plain(Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        return ember.tensor([float(i)]) * 2


def test_spawn_context_is_honoured():
    loader = DataLoader(Plain(), batch_size=3, num_workers=1, multiprocessing_context="spawn")
    assert loader.multiprocessing_context.get_start_method() == "spawn"
    assert [b.flatten().tolist() for b in loader] == [[0.0, 2.0, 4.0], [6.0, 8.0, 10.0]]


class Counting(Dataset):
    def __init__(self, counter):
        self.counter = counter

    def __len__(self):
        return 40

    def __getitem__(self, i):
        with self.counter.get_lock():
            self.counter.value += 1
        return i


@pytest.mark.parametrize("prefetch_factor", [1, 3])
def test_prefetch_factor_bounds_the_batches_in_flight(prefetch_factor):
    counter = FORK.Value("i", 0)
    iterator = iter(loader_for(Counting(counter), prefetch_factor=prefetch_factor))
    next(iterator)
    expected = (prefetch_factor * 2 + 1) * 2  # the yielded batch, its replacement and the rest in flight
    end = time.monotonic() + 10
    while counter.value < expected and time.monotonic() < end:  # let the workers run ahead
        time.sleep(0.01)
    time.sleep(0.2)  # ... and give them the chance to run further than allowed
    assert counter.value == expected
    del iterator
