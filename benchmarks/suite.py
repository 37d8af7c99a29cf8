"""Workload definitions and the runner behind ``python -m benchmarks``."""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from . import models, ops

# name: (label, make(lib) -> step, samples per step, target ratio)
STEP_WORKLOADS = {
    "ops": ("per-op overhead (200 small ops, fwd+bwd)", lambda lib: ops.op_chain(lib), 1, 2.5),
    "mlp": ("MLP 784-512-256-10, b128, SGD momentum", lambda lib: ops.mlp_step(lib), 128, 1.1),
    "lenet": ("LeNet-5, b64", lambda lib: _model_step(lib, "lenet"), 64, 1.3),
    "resnet8": ("ResNet-8 + BN, b64, 3x32x32", lambda lib: _model_step(lib, "resnet8"), 64, 1.5),
    "lstm": ("char-LSTM V65 E64 H256, L64 b32", lambda lib: _model_step(lib, "lstm"), 32, 1.3),
    "gpt": ("GPT 2 layers d128 h4, L64 b16", lambda lib: _model_step(lib, "gpt"), 16, 1.3),
    # real programs' shapes (issue 23): models.real_step builds each
    "resnet18_cifar": ("ResNet-18 CIFAR, b8, 3x32x32, SGD", lambda lib: models.real_step(lib, "resnet18_cifar"), 8, 1.3),
    "resnet18_28": ("siamese ResNet-18, b16 pairs 1x28x28", lambda lib: models.real_step(lib, "resnet18_28"), 16, 1.3),
    "dcgan": ("DCGAN 64x64 G+D step, b8", lambda lib: models.real_step(lib, "dcgan"), 8, 1.3),
    "vae": ("VAE 784-400-20, b128, Adam", lambda lib: models.real_step(lib, "vae"), 128, 1.3),
    "vit_tiny": ("ViT-Tiny 12x d192, 32x32/4, b8", lambda lib: models.real_step(lib, "vit_tiny"), 8, 1.1),
    "transformer_lm": ("Transformer LM d200 L2, 35x20, V10k", lambda lib: models.real_step(lib, "transformer_lm"),
                       20, 1.3),
    "word_lstm": ("word LSTM 2x650, 35x20, V10k", lambda lib: models.real_step(lib, "word_lstm"), 20, 1.3),
    # per-step overhead (issue 23): models.overhead_step builds each
    "mlp32": ("MLP nn.Linear 784-512-256-10, b32, SGD mom.", lambda lib: models.overhead_step(lib, "mlp32"),
              32, 1.1),
    "mlp512": ("MLP nn.Linear 784-512-256-10, b512, SGD mom.", lambda lib: models.overhead_step(lib, "mlp512"),
               512, 1.1),
    "lstmcell_loop": ("2 LSTMCells H51, loop of 100, b97, Adam",
                      lambda lib: models.overhead_step(lib, "lstmcell_loop"), 97, 1.3),
    "grucell_loop": ("2 GRUCells H51, loop of 100, b97, Adam",
                     lambda lib: models.overhead_step(lib, "grucell_loop"), 97, 1.3),
}
OTHER = ["pipeline", "trainer", "import", "help", "first_step"]


def _model_step(lib, name):
    rng = np.random.default_rng(0)
    x, y, classes = models._data(name, rng)
    lib.manual_seed(0)
    model = models.MODELS[name](lib.nn)
    model.train()
    framework = "torch" if lib.__name__ == "torch" else "ember"
    return models.make_step(framework, model, name, x, y, classes)


def _library(framework: str):
    """Imports ``ember`` or ``torch`` (with its threads pinned to the run's count)."""
    if framework == "ember":
        import ember

        return ember
    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", os.cpu_count() or 1)))
    return torch


def _frameworks() -> list[str]:
    import importlib.util

    return ["ember"] + (["torch"] if importlib.util.find_spec("torch") else [])


def _time(fn, repeats: int) -> float:
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def serve(framework: str, name: str) -> None:
    """A benchmark worker: builds one workload in one framework, then for every number N read from
    stdin runs N steps and writes their mean time in seconds."""
    step = STEP_WORKLOADS[name][1](_library(framework))
    for line in sys.stdin:
        print(_time(step, int(line)), flush=True)


# Pause before each sample: the other framework's idle threads must be asleep, not spinning on the
# cores this sample needs. OpenBLAS's workers spin ~0.1 s after their last call by default; in the
# previous version of the suite Ember's did so into every torch sample (torch's MLP step read 5.5-7.4 ms
# instead of 2.7 ms), which flattered Ember's ratio on the BLAS-bound workloads.
_SETTLE = 0.3


def run_step_workload(name: str, rounds: int, repeats: int) -> dict:
    """Times one workload in each framework, interleaved (A B A B ...), median over ``rounds``.

    Each framework runs in a process of its own: in one process torch's OpenMP threads keep spinning
    after its step and took the cores from Ember's next one (ResNet-8: 95 ms alone, 135 ms beside torch)."""
    label, _, samples, target = STEP_WORKLOADS[name]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    workers = {
        framework: subprocess.Popen(
            [sys.executable, "-c", f"from benchmarks import suite; suite.serve({framework!r}, {name!r})"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=root)
        for framework in _frameworks()
    }

    def run(framework: str, steps: int) -> float:
        worker = workers[framework]
        worker.stdin.write(f"{steps}\n")
        worker.stdin.flush()
        answer = worker.stdout.readline()
        if not answer:
            raise RuntimeError(f"the {framework} worker for {name} stopped (its error is printed above)")
        return float(answer)

    try:
        # warm-up (numba compilation and kernel loading, caches) for at least a second; then each sample
        # lasts at least 0.25 s, as a process that has just woken up runs its first steps slower
        # (per-op overhead: 2.0 ms/step over 300 steps, 2.3-3.8 ms/step over 5). The step's time is the
        # warm-up calls' fastest: taken from the first call (kernels loading) or from one slow call, Ember's
        # LeNet-5 samples were 3-8 steps long and read 11-17 ms a step instead of 7, most of it the first
        # step after each pause.
        counts = {}
        for framework in workers:
            start, step_time = time.perf_counter(), run(framework, max(2, repeats // 2))
            while time.perf_counter() - start < 1.0:
                step_time = min(step_time, run(framework, max(2, repeats // 2, math.ceil(0.1 / step_time))))
            counts[framework] = max(repeats, math.ceil(0.25 / step_time))
        samples_by = {framework: [] for framework in workers}
        for _ in range(rounds):
            for framework in workers:
                time.sleep(_SETTLE)
                step_time = run(framework, counts[framework])
                samples_by[framework].append(step_time)
                # still too short (the warm-up's steps were slow, e.g. while kernels loaded): longer from now on
                counts[framework] = max(counts[framework], math.ceil(0.25 / step_time))
    finally:
        for worker in workers.values():
            worker.stdin.close()
            worker.wait()
    row = {"workload": name, "label": label, "target": target}
    for framework, values in samples_by.items():
        median = statistics.median(values)
        row[f"{framework}_ms"] = median * 1e3
        row[f"{framework}_samples_per_s"] = samples / median
        row[f"{framework}_peak_mb"], row[f"{framework}_growth_mb"] = peak_memory(name, framework)
    if "torch_ms" in row:
        row["ratio"] = row["ember_ms"] / row["torch_ms"]
    return row


def peak_memory(name: str, framework: str) -> tuple[float, float] | tuple[None, None]:
    """(peak resident set of the whole process, growth over the process after its imports), in MB, of a
    fresh process that imports only ``framework`` and runs the workload five steps.

    The whole-process peak is what a user sees and what the target compares: torch loads its libraries
    at import, Ember loads numba's compiler runtime (~120 MB) on the first kernel call, so the growth
    alone would count Ember's runtime as workload memory and torch's not."""
    code = (
        "from benchmarks import suite\n"
        "def status(key):\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith(key): return int(line.split()[1]) / 1024\n"
        f"lib = suite._library({framework!r})\n"
        "base = status('VmRSS')\n"
        f"step = suite.STEP_WORKLOADS[{name!r}][1](lib)\n"
        "for _ in range(5): step()\n"
        "peak = status('VmHWM')\n"
        "print(peak, peak - base)\n"
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root)
    try:
        peak, growth = result.stdout.strip().splitlines()[-1].split()
        return float(peak), float(growth)
    except (ValueError, IndexError):
        print(f"peak memory of {name}/{framework} failed:\n{result.stderr[-1500:]}", file=sys.stderr)
        return None, None


def _median_seconds(command: list[str], runs: int, env=None) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run_import(runs: int) -> dict:
    seconds = _median_seconds([sys.executable, "-c", "import ember"], runs)
    return {"workload": "import", "label": "import ember", "ember_s": seconds, "target_s": 0.3}


def run_help(runs: int) -> dict:
    ember_cli = shutil.which("ember") or ""
    command = [ember_cli, "--help"] if ember_cli else [sys.executable, "-m", "ember.cli.main", "--help"]
    seconds = _median_seconds(command, runs)
    return {"workload": "help", "label": "ember --help", "ember_s": seconds, "target_s": 0.5}


def _timed_run(command: list[str], env: dict, cwd: str) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env, cwd=cwd)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


# `ember fit ...` that also writes its own CPU seconds (not its children's) to $EMBER_BENCH_SELF_CPU at exit
_SELF_CPU_CLI = """
import atexit, os, resource, runpy, sys
def _report():
    r = resource.getrusage(resource.RUSAGE_SELF)
    with open(os.environ["EMBER_BENCH_SELF_CPU"], "w") as f:
        f.write(repr(r.ru_utime + r.ru_stime))
atexit.register(_report)
sys.argv = ["ember"] + sys.argv[1:]
runpy.run_module("ember.cli.main", run_name="__main__")
"""


def run_first_step(runs: int = 3) -> dict:
    """Wall time of `ember fit digits-lenet` stopped after one training step, with an empty numba cache
    (cold) and then with the cache it left (warm), ``runs`` times each (a new cache directory for each
    cold run); medians, and each run's wall and CPU seconds (CPU time reads less of a busy machine's
    load). CPU seconds are given twice: ``*_cpu_runs_s`` counts every process (the training process and
    the kernel warm-up helper ``Trainer.fit`` starts on a cold cache, ``ember.kernels._warmup``),
    ``*_self_cpu_runs_s`` the training process alone: the work on the path to the first step when the
    helper has a core of its own. The data set is generated once beforehand.

    Python's own bytecode is cached (in the work directory) as a pip install's would be, even where
    ``PYTHONDONTWRITEBYTECODE`` is set: recompiling Ember's ~560 modules' source costs ~0.6 s in every
    run, which is not what this measures."""
    row = {"workload": "first_step", "label": "ember fit digits-lenet: to first step"}
    with tempfile.TemporaryDirectory() as work:
        base = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        base["PYTHONPYCACHEPREFIX"] = os.path.join(work, "pycache")
        base["EMBER_BENCH_SELF_CPU"] = os.path.join(work, "self_cpu")
        command = [sys.executable, "-c", _SELF_CPU_CLI, "fit", "digits-lenet", "trainer.max_steps=1",
                   "trainer.limit_val_batches=0", "trainer.num_sanity_val_steps=0",
                   "trainer.enable_progress_bar=false", "trainer.enable_model_summary=false"]
        warm_data = dict(base, NUMBA_CACHE_DIR=os.path.join(work, "numba-data"))
        subprocess.run(command + ["--run-dir", os.path.join(work, "r0")], check=True, capture_output=True,
                       env=warm_data, cwd=work)  # generates and caches the data set
        for run in range(runs):
            env = dict(base, NUMBA_CACHE_DIR=os.path.join(work, f"numba{run}"))
            for name in ("cold", "warm"):
                wall, cpu = _timed_run(command + ["--run-dir", os.path.join(work, f"{name}{run}")], env, work)
                with open(base["EMBER_BENCH_SELF_CPU"]) as f:
                    own = float(f.read())
                row.setdefault(f"{name}_runs_s", []).append(round(wall, 2))
                row.setdefault(f"{name}_cpu_runs_s", []).append(round(cpu, 2))
                row.setdefault(f"{name}_self_cpu_runs_s", []).append(round(own, 2))
    row["cold_s"] = statistics.median(row["cold_runs_s"])
    row["warm_s"] = statistics.median(row["warm_runs_s"])
    row["target"] = "cold <= 5 s, warm <= 2 s"
    return row


def run_pipeline(images: int) -> dict:
    from . import vision_pipeline as vp

    row = {"workload": "pipeline", "label": f"CIFAR-style image pipeline ({images} PNGs)"}
    with tempfile.TemporaryDirectory() as root:
        vp.make_folder(root, images)
        for workers in (0, 2):
            loaders = {"ember": lambda: vp.ember_loader(root, workers)}
            try:
                import torch  # noqa: F401

                loaders["torch"] = lambda: vp.torch_loader(root, workers)
            except ImportError:
                pass
            for framework, make in loaders.items():
                row[f"{framework}_images_per_s_w{workers}"] = vp.images_per_second(make(), 2)
            if "torch_images_per_s_w0" in row:
                row[f"ratio_w{workers}"] = row[f"torch_images_per_s_w{workers}"] / row[f"ember_images_per_s_w{workers}"]
    row["target"] = 1.1
    return row


def run_trainer(steps: int, repeats: int) -> dict:
    from . import trainer as tb

    raw, trained = tb.ember_side(steps, repeats)
    row = {"workload": "trainer", "label": f"Trainer overhead over a raw loop (MLP b32, {steps} steps)",
           "ember_ratio": trained / raw, "target": 1.10}
    torch_pair = tb.torch_side(steps, repeats)
    if torch_pair is not None:
        row["lightning_ratio"] = torch_pair[1] / torch_pair[0]
    return row


def machine() -> dict:
    return {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
            "threads": os.environ.get("OMP_NUM_THREADS", "default"), "numpy": np.__version__,
            "load_average": os.getloadavg()[0]}


def _number(value) -> float:
    return float("nan") if value is None else value


def format_table(rows: list[dict]) -> str:
    lines = [f"{'workload':44s} {'ember':>10s} {'torch':>10s} {'ratio':>7s} {'target':>7s} "
             f"{'ember MB':>9s} {'torch MB':>9s} {'ember +MB':>9s} {'torch +MB':>9s}"]
    for r in rows:
        if "ember_ms" in r:
            lines.append(
                f"{r['label']:44s} {r['ember_ms']:8.2f}ms {r.get('torch_ms', float('nan')):8.2f}ms "
                f"{r.get('ratio', float('nan')):7.2f} {r['target']:7.2f} "
                f"{_number(r.get('ember_peak_mb')):9.1f} {_number(r.get('torch_peak_mb')):9.1f} "
                f"{_number(r.get('ember_growth_mb')):9.1f} {_number(r.get('torch_growth_mb')):9.1f}")
        elif r["workload"] == "pipeline":
            for w in (0, 2):
                lines.append(f"{r['label'] + f', workers={w}':44s} {r[f'ember_images_per_s_w{w}']:7.0f}i/s "
                             f"{r.get(f'torch_images_per_s_w{w}', float('nan')):7.0f}i/s "
                             f"{r.get(f'ratio_w{w}', float('nan')):7.2f} {r['target']:7.2f}")
        elif r["workload"] == "trainer":
            lines.append(f"{r['label']:44s} {'':>10s} {'':>10s} {r['ember_ratio']:7.3f} {r['target']:7.2f}"
                         f"   (Lightning over raw torch: {r.get('lightning_ratio', float('nan')):.2f})")
        elif r["workload"] == "first_step":
            lines.append(f"{r['label']:44s} cold {r['cold_s']:.1f} s, warm {r['warm_s']:.1f} s   ({r['target']})")
            for name in ("cold", "warm"):
                lines.append(f"{'':4s}{name} runs: wall {r[f'{name}_runs_s']} s, CPU {r[f'{name}_cpu_runs_s']} s, "
                             f"training process's own CPU {r[f'{name}_self_cpu_runs_s']} s")
        else:
            lines.append(f"{r['label']:44s} {r['ember_s']:8.3f} s {'':>10s} {'':>7s} {r['target_s']:6.2f}s")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"some of {list(STEP_WORKLOADS) + OTHER} (default: all)")
    parser.add_argument("--threads", type=int, default=None, help="BLAS/numba/torch threads (set before imports)")
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a rough look)")
    parser.add_argument("--json", default="benchmarks/results.json", help="where to write the results")
    args = parser.parse_args()
    names = args.names or list(STEP_WORKLOADS) + OTHER
    unknown = set(names) - set(STEP_WORKLOADS) - set(OTHER)
    if unknown:
        parser.error(f"unknown workloads {sorted(unknown)}")
    rounds, repeats = (3, 3) if args.quick else (15, 5)
    rows = []
    for name in names:
        if name in STEP_WORKLOADS:
            rows.append(run_step_workload(name, rounds, repeats))
        elif name == "pipeline":
            rows.append(run_pipeline(1000 if args.quick else 3000))
        elif name == "trainer":
            rows.append(run_trainer(500 if args.quick else 2000, 3 if args.quick else 5))
        elif name == "import":
            rows.append(run_import(5))
        elif name == "help":
            rows.append(run_help(5))
        elif name == "first_step":
            rows.append(run_first_step())
        print(format_table(rows[-1:]).splitlines()[-1], flush=True)
    print()
    print(format_table(rows))
    with open(args.json, "w") as f:
        json.dump({"machine": machine(), "rows": rows}, f, indent=2)
    print(f"\nwrote {args.json}")
