"""DataLoader throughput: worker speed-up, and Ember vs ``torch.utils.data.DataLoader`` on the same dataset.

Run by hand:  python benchmarks/data_loader.py [--samples 256] [--repeats 3]

1. A dataset doing ~5 ms of (single-threaded) numpy work per sample, the shape of a real augmentation
   pipeline: Ember with num_workers=0 vs 2 (target: >= 1.7x on 2 cores), and Ember vs PyTorch with the
   same arguments (target: Ember's time within 1.1x of PyTorch's).
2. Per-sample overhead on a cheap dataset (small arrays, no work), where the loader itself is the cost.

Times include starting the workers (a fresh, non-persistent iterator per epoch, as by default).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import time

import ember
import numpy as np
from ember.data import DataLoader, Dataset


class NumpyWork(Dataset):
    """~5 ms of elementwise numpy per sample (elementwise ops stay on one core: no BLAS threads)."""

    def __init__(self, n: int, rounds: int):
        self.n, self.rounds = n, rounds

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        rng = np.random.default_rng(i)
        image = rng.random((3, 64, 64), dtype=np.float32)
        for _ in range(self.rounds):
            image = np.tanh(image * 1.01 + 0.1) + np.sin(image) * 0.01
        flip = random.random() < 0.5  # an augmentation drawing from the (seeded) global generator
        return (image[:, :, ::-1] if flip else image)[:, ::2, ::2].copy(), i % 10


class Cheap(Dataset):
    def __init__(self, n: int):
        self.n = n
        self.data = np.random.default_rng(0).random((n, 16), dtype=np.float32)

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return self.data[i], i % 10


def calibrate(target_ms: float = 5.0) -> int:
    """Rounds of work for ~``target_ms`` per sample (fastest of several probes: robust to a busy machine)."""
    rounds = 10
    probe = NumpyWork(1, rounds)
    probe[0]
    fastest = float("inf")
    for _ in range(10):
        start = time.perf_counter()
        probe[0]
        fastest = min(fastest, time.perf_counter() - start)
    return max(1, round(target_ms / 1000 / (fastest / rounds)))


def _spin(rounds: int) -> None:
    image = np.random.default_rng(0).random((3, 64, 64), dtype=np.float32)
    for _ in range(rounds):
        image = np.tanh(image * 1.01 + 0.1)


def available_parallelism(rounds: int = 20_000) -> float:
    """Speed-up two plain processes get on this machine right now (2.0 on an idle 2-core machine): the
    ceiling for any loader, shown so that numbers from a busy machine can be read."""
    import multiprocessing

    start = time.perf_counter()
    _spin(2 * rounds)
    serial = time.perf_counter() - start
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=_spin, args=(rounds,)) for _ in range(2)]
    start = time.perf_counter()
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    return serial / (time.perf_counter() - start)


def time_epochs(makers: dict, repeats: int) -> dict:
    """Best-of-``repeats`` seconds for one full epoch of each loader (workers started inside the timing).

    The loaders take turns, repeat after repeat, so a load change on the machine hits all of them alike.
    Also records CPU seconds per epoch (main process, and worker processes together) of the best run.
    """
    loaders = {name: make() for name, make in makers.items()}
    for loader in loaders.values():  # warm-up: page cache, lazy imports
        for _ in loader:
            pass
    best = dict.fromkeys(loaders, float("inf"))
    cpu = {}
    for _ in range(repeats):
        for name, loader in loaders.items():
            children = resource.getrusage(resource.RUSAGE_CHILDREN)
            main_cpu = time.process_time()
            start = time.perf_counter()
            for _ in loader:
                pass
            seconds = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if seconds < best[name]:
                best[name] = seconds
                cpu[name] = (time.process_time() - main_cpu,
                             after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime)
    time_epochs.cpu = cpu
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    try:
        import torch
        import torch.utils.data as torch_data
    except ImportError:
        torch = torch_data = None

    print(f"machine: 2 plain numpy processes run {available_parallelism():.2f}x faster than 1 right now "
          f"(2.0 = idle 2-core machine; load average {os.getloadavg()[0]:.1f})")
    rounds = calibrate()
    dataset = NumpyWork(args.samples, rounds)
    per_sample = float("inf")
    for i in range(10):
        start = time.perf_counter()
        dataset[i]
        per_sample = min(per_sample, (time.perf_counter() - start) * 1000)
    print(f"dataset: {args.samples} samples, {per_sample:.2f} ms of numpy work each, batch_size={args.batch_size}")

    def ember_loader(workers, ds=dataset, batch_size=args.batch_size):
        ember.manual_seed(0)
        extra = dict(multiprocessing_context="fork") if workers else {}
        return lambda: DataLoader(ds, batch_size=batch_size, shuffle=True, num_workers=workers, **extra)

    def torch_loader(workers, ds=dataset, batch_size=args.batch_size):
        torch.manual_seed(0)
        extra = dict(multiprocessing_context="fork") if workers else {}
        return lambda: torch_data.DataLoader(ds, batch_size=batch_size, shuffle=True, num_workers=workers, **extra)

    makers = {"ember num_workers=0": ember_loader(0), "ember num_workers=2": ember_loader(2)}
    if torch is not None:
        makers.update({"torch num_workers=0": torch_loader(0), "torch num_workers=2": torch_loader(2)})
    best = time_epochs(makers, args.repeats)
    for name, seconds in best.items():
        main_cpu, worker_cpu = time_epochs.cpu[name]
        print(f"  {name:22s} {seconds * 1000:8.1f} ms/epoch  {args.samples / seconds:8.1f} samples/s   "
              f"cpu: main {main_cpu * 1000:7.1f} ms, workers {worker_cpu * 1000:7.1f} ms")
    ember0, ember2 = best["ember num_workers=0"], best["ember num_workers=2"]
    print(f"speed-up ember num_workers=2 vs 0: {ember0 / ember2:.2f}x   (target >= 1.7x)")
    serial_cpu = time_epochs.cpu["ember num_workers=0"][0]
    main_cpu, worker_cpu = time_epochs.cpu["ember num_workers=2"]
    # What the CPU accounting predicts for an idle machine (wall time depends on what else is running).
    print(f"  cpu-time bound on an idle 2-core machine: {serial_cpu / max(main_cpu, worker_cpu / 2):.2f}x "
          f"(serial cpu {serial_cpu * 1000:.0f} ms / max(main cpu, workers cpu / 2); "
          f"load average now {os.getloadavg()[0]:.1f})")
    if torch is not None:
        torch0, torch2 = best["torch num_workers=0"], best["torch num_workers=2"]
        print(f"speed-up torch num_workers=2 vs 0: {torch0 / torch2:.2f}x")
        print(f"ember / torch, num_workers=2:      {ember2 / torch2:.3f}   (target <= 1.1)")
        print(f"ember / torch, num_workers=0:      {ember0 / torch0:.3f}")

    cheap = Cheap(20_000)
    print(f"\nper-sample overhead: {len(cheap)} cheap samples (16 floats), batch_size=64")
    for workers in (0, 2):
        makers = {"ember": ember_loader(workers, cheap, 64)}
        if torch is not None:
            makers["torch"] = torch_loader(workers, cheap, 64)
        best = time_epochs(makers, args.repeats)
        line = f"  num_workers={workers}: ember {best['ember'] / len(cheap) * 1e6:6.1f} us/sample"
        if torch is not None:
            line += (f"   torch {best['torch'] / len(cheap) * 1e6:6.1f} us/sample"
                     f"   ember/torch {best['ember'] / best['torch']:.2f}")
        print(line)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
