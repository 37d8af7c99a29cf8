"""Times one training step of each kuangliu/pytorch-cifar model in Ember and in torch (run by hand; not a test).

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 nice -n 19 \
        python -m tests.cifar_ports._time_steps [MODEL ...] [--rounds N] [--batch B] [--profile] [--ops]

The step is main.py's loop body on a batch of B (16 by default) 3x32x32 images in train mode: ``zero_grad``, the
forward, ``CrossEntropyLoss``, ``backward`` and SGD (``momentum=0.9``, ``weight_decay=5e-4``), from the same
weights (torch's, through a state dict) in both frameworks. CPU time (``time.process_time``), one thread, one
process, a warm-up step each, then N rounds (3 by default) interleaved; prints each round's seconds and the ratio.
``--profile``: cProfile of one Ember step (by ``tottime``). ``--ops``: each framework's profiler grouped by op and
input shape, self time of the top rows, Ember's rows beside torch's.
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):  # (before numpy / numba load)
    os.environ.setdefault(_name, "1")

import cProfile
import io
import itertools
import pstats
import sys
import tempfile
import time
from pathlib import Path

import ember
import numpy as np

from tests.test_cifar_ports import MODELS, _torch_or_skip, build, libraries


def setups_for(name: str, batch: int, torch) -> dict:
    rng = np.random.default_rng(0)
    inputs = rng.standard_normal((batch, 3, 32, 32)).astype(np.float32)
    targets = rng.integers(0, 10, batch)
    setups = {}
    with tempfile.TemporaryDirectory() as folder:
        weights = Path(folder) / "init.pth"
        for lib in (torch, ember):
            with libraries(ported=lib is ember) as namespace:
                torch.manual_seed(0)
                net = build(name, namespace)
            if lib is torch:
                torch.save(net.state_dict(), weights)
            net.load_state_dict(lib.load(weights))
            net.train()
            optimizer = lib.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
            setups[lib] = (net, optimizer, lib.nn.CrossEntropyLoss(), lib.from_numpy(inputs), lib.from_numpy(targets))
    return setups


def step(setup) -> None:
    net, optimizer, criterion, x, y = setup
    optimizer.zero_grad()
    loss = criterion(net(x), y)
    loss.backward()
    optimizer.step()


def op_table(lib, setup, rows: int = 14) -> list[tuple[str, str, float, int]]:
    """(op, input shapes, self CPU ms, calls) of one step, by self time."""
    with lib.profiler.profile(activities=[lib.profiler.ProfilerActivity.CPU], record_shapes=True) as prof:
        step(setup)
    events = prof.key_averages(group_by_input_shape=True)
    table = [(e.key, str(e.input_shapes), e.self_cpu_time_total / 1e3, e.count) for e in events]
    return sorted(table, key=lambda row: -row[2])[:rows]


def main(argv: list[str]) -> None:
    torch = _torch_or_skip()
    torch.set_num_threads(1)
    flags = {a for a in argv if a.startswith("--")}
    values = dict(itertools.pairwise(argv))
    rounds, batch = int(values.get("--rounds", 3)), int(values.get("--batch", 16))
    names = [a for a in argv if a in MODELS] or [m for m in MODELS if m != "LeNet"]
    for name in names:
        setups = setups_for(name, batch, torch)
        for lib in (torch, ember):
            step(setups[lib])
        ratios = []
        for _ in range(rounds):
            times = {}
            for lib in (torch, ember):
                start = time.process_time()
                step(setups[lib])
                times[lib] = time.process_time() - start
            ratios.append(times[ember] / times[torch])
            print(f"{name}: torch {times[torch]:.3f} s, Ember {times[ember]:.3f} s, ratio {ratios[-1]:.2f}",
                  flush=True)
        print(f"{name}: median ratio {np.median(ratios):.2f}", flush=True)
        if "--profile" in flags:
            profile = cProfile.Profile(time.process_time)
            profile.enable()
            step(setups[ember])
            profile.disable()
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(22)
            print(out.getvalue())
        if "--ops" in flags:
            for lib in (ember, torch):
                print(f"-- {name}, {lib.__name__}: op, input shapes, self ms, calls")
                for key, shapes, ms, count in op_table(lib, setups[lib]):
                    print(f"{ms:9.1f} {count:4d}  {key:40s} {shapes[:150]}")


if __name__ == "__main__":
    main(sys.argv[1:])
