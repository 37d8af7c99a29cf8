"""Trainer overhead: time per training step of ``Trainer.fit`` over a hand-written loop, for Ember and
(when installed) for PyTorch Lightning over raw PyTorch.

The model is a tiny MLP (32 -> 64 -> 64 -> 10) on batches of 32, so the step itself is cheap and any
per-step cost of the trainer shows. The trainer runs with logging on (``self.log("train_loss", loss,
prog_bar=True)`` every step, CSV logger, ``log_every_n_steps=50``), the progress bar on (tqdm, writing
to a terminal-like sink), checkpointing at the end of each epoch and model summary off. Both loops read
the same pre-collated batches, so data loading does not dilute the overhead. Each ``fit`` writes into a
folder made before the timed runs and deleted after them.

Run: python -m benchmarks.trainer [--steps 3000] [--repeats 5] [--cpu-time] [--no-torch]

``--cpu-time`` times with ``time.process_time`` (CPU time of the process) instead of the wall clock: on a
machine shared with other jobs it is the steadier of the two. Every repeat's figures are printed, then the
best of each. For one thread everywhere set ``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS`` and
``NUMBA_NUM_THREADS`` to 1 in the environment (numpy reads them when it is imported).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tempfile
import time
import warnings

import numpy as np

IN, HIDDEN, OUT, BATCH = 32, 64, 10, 32


class _Terminal(io.StringIO):
    """A sink that says it is a terminal, so the progress bar takes its tqdm path."""

    def isatty(self):
        return True

    def write(self, s):
        return len(s)


class Batches:
    """Pre-collated batches as one iterable (a plain list would be read by Lightning as several loaders)."""

    def __init__(self, items):
        self.items = items

    def __iter__(self):
        return iter(self.items)

    def __len__(self):
        return len(self.items)


def _data(steps: int):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(steps, BATCH, IN)).astype(np.float32)
    y = rng.integers(0, OUT, size=(steps, BATCH)).astype(np.int64)
    return x, y


CLOCK = time.perf_counter  # (time.process_time with --cpu-time)
RUNS: list[tuple[float, float]] = []  # every repeat's (raw, trainer) times of the side being measured


def _best_pair(raw, trained, repeats: int) -> tuple[float, float]:
    """Best time of each, measured alternately so that load changes on the machine hit both alike."""
    times = {raw: [], trained: []}
    for _ in range(repeats):
        for fn in (raw, trained):
            start = CLOCK()
            fn()
            times[fn].append(CLOCK() - start)
    RUNS[:] = list(zip(times[raw], times[trained]))
    return min(times[raw]), min(times[trained])


@contextlib.contextmanager
def _run_folders(count: int):
    """An iterator of ``count`` empty folders, one per ``fit`` (each writes its metrics and checkpoint there),
    made before and deleted after the timed runs: making and deleting them is the harness's work, not the
    trainer's, and the raw loop has none."""
    with tempfile.TemporaryDirectory() as base:
        yield iter([tempfile.mkdtemp(dir=base) for _ in range(count)])


def ember_side(steps: int, repeats: int) -> tuple[float, float]:
    import ember
    import ember.nn.functional as F
    from ember import nn
    from ember.trainer import Trainer, TrainingModule
    from ember.trainer.callbacks import ProgressBar

    x, y = _data(steps)
    batches = Batches([(ember.tensor(a), ember.tensor(b)) for a, b in zip(x, y)])

    def mlp():
        ember.manual_seed(0)
        return nn.Sequential(nn.Linear(IN, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, OUT))

    def raw():
        model = mlp()
        opt = ember.optim.SGD(model.parameters(), lr=0.01)
        for xb, yb in batches:
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()

    class Module(TrainingModule):
        def __init__(self):
            super().__init__()
            self.net = mlp()

        def training_step(self, batch, batch_idx):
            xb, yb = batch
            loss = F.cross_entropy(self.net(xb), yb)
            self.log("train_loss", loss, prog_bar=True)
            return loss

        def configure_optimizers(self):
            return ember.optim.SGD(self.parameters(), lr=0.01)

    def trained():
        trainer = Trainer(max_epochs=1, default_root_dir=next(roots), enable_model_summary=False,
                          callbacks=[ProgressBar(file=_Terminal())])
        trainer.fit(Module(), batches)

    with _run_folders(repeats + 1) as roots:
        raw(), trained()  # warm up (numba kernels, imports)
        return _best_pair(raw, trained, repeats)


def torch_side(steps: int, repeats: int) -> tuple[float, float] | None:
    from .api_coverage import Unavailable, _import_reference

    try:
        L = _import_reference("lightning")  # (torchvision first, tolerantly: Lightning's torchmetrics imports it)
        import torch
    except (ImportError, Unavailable):
        return None
    from lightning.pytorch.callbacks import TQDMProgressBar

    torch.set_num_threads(1)
    x, y = _data(steps)
    batches = Batches([(torch.from_numpy(a), torch.from_numpy(b)) for a, b in zip(x, y)])

    def mlp():
        torch.manual_seed(0)
        return torch.nn.Sequential(torch.nn.Linear(IN, HIDDEN), torch.nn.ReLU(), torch.nn.Linear(HIDDEN, HIDDEN),
                                   torch.nn.ReLU(), torch.nn.Linear(HIDDEN, OUT))

    def raw():
        model = mlp()
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        for xb, yb in batches:
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()

    class Module(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = mlp()

        def training_step(self, batch, batch_idx):
            xb, yb = batch
            loss = torch.nn.functional.cross_entropy(self.net(xb), yb)
            self.log("train_loss", loss, prog_bar=True)
            return loss

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.01)

    def trained():
        root = next(roots)
        stdout, stderr = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = _Terminal()
        try:
            trainer = L.Trainer(max_epochs=1, default_root_dir=root, enable_model_summary=False,
                                logger=L.pytorch.loggers.CSVLogger(root), accelerator="cpu", devices=1,
                                callbacks=[TQDMProgressBar()])
            trainer.fit(Module(), batches)
        finally:
            sys.stdout, sys.stderr = stdout, stderr

    warnings.filterwarnings("ignore")
    import logging

    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    with _run_folders(repeats + 1) as roots:
        raw(), trained()
        return _best_pair(raw, trained, repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cpu-time", action="store_true", help="time CPU (time.process_time), not the wall clock")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch Lightning")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    global CLOCK
    CLOCK = time.process_time if args.cpu_time else time.perf_counter
    clock = "CPU time" if args.cpu_time else "wall time"
    print(f"tiny MLP {IN}-{HIDDEN}-{HIDDEN}-{OUT}, batch {BATCH}, {args.steps} steps, best of {args.repeats} ({clock})")
    print(f"{'':<28}{'raw loop':>12}{'trainer':>12}{'extra':>12}{'overhead':>10}   (per step)")
    raw, trained = ember_side(args.steps, args.repeats)
    per = 1e6 / args.steps
    print(f"{'Ember / ember.trainer':<28}{raw * per:>9.1f} us{trained * per:>9.1f} us"
          f"{(trained - raw) * per:>9.1f} us{trained / raw - 1:>10.1%}")
    print("  each repeat (trainer / raw): " + ", ".join(f"{t / r:.3f}" for r, t in RUNS))
    result = None if args.no_torch else torch_side(args.steps, args.repeats)
    if result is None and args.no_torch:
        print("PyTorch Lightning: skipped (--no-torch)")
    elif result is None:
        print("PyTorch Lightning: not installed (pip install lightning) - skipped")
    else:
        raw, trained = result
        print(f"{'PyTorch / Lightning':<28}{raw * per:>9.1f} us{trained * per:>9.1f} us"
              f"{(trained - raw) * per:>9.1f} us{trained / raw - 1:>10.1%}")
        print("  each repeat (trainer / raw): " + ", ".join(f"{t / r:.3f}" for r, t in RUNS))


if __name__ == "__main__":
    main()
