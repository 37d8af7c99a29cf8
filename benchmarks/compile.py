"""``ember.compile`` against Ember eager, torch eager and ``torch.compile``: the suite's training workloads.

Run by hand: ``python benchmarks/compile.py [workload ...] [--quick] [--threads N] [--no-first-call]
[--first-call-only]``.
Each workload is the suite's step builder (``benchmarks/models.py``: the same weights and data in both
frameworks); the compiled variants are the same step with the model replaced by ``ember.compile(model)`` /
``torch.compile(model)``, so loss, backward and the optimizer's step run as a user writes them. The four
variants run interleaved (Ember eager, Ember compiled, torch eager, torch.compile, ...) after a warm-up; the
median CPU time per step (``time.process_time``: robust on a shared machine with ``--threads 1``) and the
ratios are printed. Then the first call of each compiled step (capture, code generation, numba) is timed
(CPU time) in fresh processes: once with an empty compile cache (cold) and once more on the cache the first left (from
disk), and the eager step's first call beside them.

Workloads whose model has BatchNorm or dropout in training mode run eagerly under ``ember.compile`` until
training-mode capture lands (the compiled column then measures the fallback).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

if "--threads" in sys.argv:  # before numpy / numba / torch start their thread pools
    _threads = sys.argv[sys.argv.index("--threads") + 1]
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[_var] = _threads


# the repository instead of benchmarks/ on the path, so that `benchmarks` imports as a package
sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
from benchmarks import models
from benchmarks.suite import _model_step


def chain(lib, y, n_ops: int = 200):
    """``n_ops`` small elementwise ops (ops.py's op_chain: multiply, add, tanh, subtract, repeated)."""
    for _ in range(n_ops // 4):
        y = y * 1.001
        y = y + 0.01
        y = y.tanh()
        y = y - 0.001
    return y


def chain_step(lib):
    """The chain on a (16,) tensor as a function (the one "module" of the step), summed, backward."""
    x = lib.ones(16, requires_grad=True)
    fn = _Chain(lambda y: chain(lib, y))

    def step():
        fn(x).sum().backward()
        x.grad = None

    return step


class _Chain:
    """A function the compiled variant swaps for its compiled form (as it swaps a step's model)."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, *args):
        return self.fn(*args)


# name: (label, step builder(lib) -> step)
WORKLOADS = {
    "chain": ("200 small elementwise ops, fwd+bwd", chain_step),
    "mlp": ("MLP 784-512-256-10, b128, SGD mom.", lambda lib: models.overhead_step(lib, "mlp128")),
    "lenet": ("LeNet-5, b64, Adam", lambda lib: _model_step(lib, "lenet")),
    "resnet8": ("ResNet-8 + BN, b64, SGD", lambda lib: _model_step(lib, "resnet8")),
    "resnet18_cifar": ("ResNet-18 CIFAR, b8, SGD mom.", lambda lib: models.real_step(lib, "resnet18_cifar")),
    "lstm": ("char-LSTM V65 E64 H256, L64 b32", lambda lib: _model_step(lib, "lstm")),
    "lstmcell_loop": ("2 LSTMCells H51, loop of 100, b97", lambda lib: models.overhead_step(lib, "lstmcell_loop")),
    "grucell_loop": ("2 GRUCells H51, loop of 100, b97", lambda lib: models.overhead_step(lib, "grucell_loop")),
    "gpt": ("GPT 2 layers d128 h4, L64 b16, AdamW", lambda lib: _model_step(lib, "gpt")),
    "vit_tiny": ("ViT-Tiny 12x d192, b8, AdamW", lambda lib: models.real_step(lib, "vit_tiny")),
}


def compiled_step(lib, name: str):
    """The workload's step with every module (or ``_Chain``) its closures call replaced by its compiled form:
    the step a user writes after ``model = lib.compile(model)``."""
    step = WORKLOADS[name][1](lib)
    nn = lib.nn
    seen = set()

    def swap(fn):
        if id(fn) in seen or not hasattr(fn, "__closure__"):
            return
        seen.add(id(fn))
        for cell in fn.__closure__ or ():
            try:
                value = cell.cell_contents
            except ValueError:
                continue
            if isinstance(value, nn.Module):
                cell.cell_contents = lib.compile(value)
            elif isinstance(value, _Chain):
                value.fn = lib.compile(value.fn)
            elif callable(value) and hasattr(value, "__code__"):
                swap(value)

    swap(step)
    return step


def interleaved(workloads: dict, repeats: int, rounds: int) -> dict:
    """Each workload's CPU seconds per step, one sample per round, the workloads taking turns."""
    for fn in workloads.values():  # warm-up (also the compiles)
        for _ in range(2):
            fn()
    samples = {name: [] for name in workloads}
    for _ in range(rounds):
        for name, fn in workloads.items():
            start = time.process_time()
            for _ in range(repeats):
                fn()
            samples[name].append((time.process_time() - start) / repeats)
    return samples


def _first_call(name: str, eager: bool = False) -> None:
    """In a fresh process: the CPU time of the first step of the compiled workload (capture, code generation,
    numba, the step itself) minus a step after it: what compiling costs. (CPU time: numba's compiles are
    CPU-bound, and wall time on a shared machine measures the other jobs.) ``eager``: the same for the eager
    step (numba's start-up and its kernels' loading, which the compiled first call pays too)."""
    import ember

    step = WORKLOADS[name][1](ember) if eager else compiled_step(ember, name)
    start = time.process_time()
    step()
    first = time.process_time() - start
    start = time.process_time()
    step()
    print(first - (time.process_time() - start))


def first_compile(name: str) -> tuple:
    """(cold, from disk, eager) seconds of the first call, each in a fresh process: the compiled step on an
    empty cache folder, again on the cache it left, then the eager step."""
    with tempfile.TemporaryDirectory() as folder:
        env = dict(os.environ, EMBER_COMPILE_CACHE_DIR=folder)
        times = []
        for extra in ([], [], ["--eager"]):
            out = subprocess.run([sys.executable, __file__, "--first-call", name, *extra], env=env, check=True,
                                 capture_output=True, text=True)
            times.append(float(out.stdout.split()[-1]))
        return tuple(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workloads", nargs="*", default=list(WORKLOADS), help=f"some of {list(WORKLOADS)}")
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a rough look)")
    parser.add_argument("--threads", type=int, default=None, help="BLAS/numba/torch threads (set before imports)")
    parser.add_argument("--no-first-call", action="store_true", help="skip the first-compile timings")
    parser.add_argument("--no-torch-compile", action="store_true", help="skip torch.compile (its compiles are slow)")
    parser.add_argument("--first-call-only", action="store_true", help="only the first-compile timings")
    args = parser.parse_args()
    unknown = set(args.workloads) - set(WORKLOADS)
    if unknown:
        parser.error(f"unknown workloads {sorted(unknown)}; choose from {list(WORKLOADS)}")
    import warnings

    import ember
    import torch

    warnings.simplefilter("ignore")
    if args.threads:
        torch.set_num_threads(args.threads)
    rounds, repeats = (3, 2) if args.quick else (7, 3)
    print(f"torch {torch.__version__} threads={torch.get_num_threads()}  load={os.getloadavg()[0]:.1f}  "
          f"CPU ms per step, median of {rounds} rounds of {repeats} steps")
    if not args.first_call_only:
        print(f"{'workload':<38}{'ember':>9}{'compiled':>10}{'torch':>9}{'t.compile':>10}"
              f"{'cmp/torch':>10}{'cmp/t.cmp':>10}{'cmp/eager':>10}")
    for name in [] if args.first_call_only else args.workloads:
        variants = {"ember": WORKLOADS[name][1](ember), "ember.compile": compiled_step(ember, name),
                    "torch": WORKLOADS[name][1](torch)}
        if not args.no_torch_compile:
            try:
                compiled = compiled_step(torch, name)
                compiled()
                variants["torch.compile"] = compiled
            except Exception as error:  # noqa: BLE001 (no C++ toolchain, or inductor refuses)
                print(f"torch.compile does not run {name}: {type(error).__name__}: {error}"[:200])
        samples = interleaved(variants, repeats, rounds)
        ms = {k: statistics.median(v) * 1e3 for k, v in samples.items()}
        nan = float("nan")
        torch_ms, tc_ms = ms["torch"], ms.get("torch.compile", nan)
        print(f"{WORKLOADS[name][0]:<38}{ms['ember']:>9.2f}{ms['ember.compile']:>10.2f}{torch_ms:>9.2f}"
              f"{tc_ms:>10.2f}{ms['ember.compile'] / torch_ms:>10.2f}{ms['ember.compile'] / tc_ms:>10.2f}"
              f"{ms['ember.compile'] / ms['ember']:>10.2f}", flush=True)
    if not args.no_first_call:
        for name in args.workloads:
            cold, warm, eager = first_compile(name)
            print(f"first call of compiled {name}: cold cache {cold:.2f} s, from disk {warm:.2f} s "
                  f"(eager first step {eager:.2f} s)", flush=True)


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--first-call":
        _first_call(sys.argv[2], eager="--eager" in sys.argv[3:])
    else:
        main()
