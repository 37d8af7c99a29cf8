"""Data-parallel training throughput: ResNet-8 (benchmarks/models.py) through the Ember Trainer, one
process against `mpiexec -n 2` ranks with DDPStrategy, and PyTorch's DDP (gloo) on the same model.

The global batch is fixed (strong scaling): with 2 ranks each rank computes half of it, and the
gradients (all 78k ResNet-8 parameters, one 25 MB bucket) are averaged with one Allreduce per step.

Usage:
    python benchmarks/ddp.py                      # 1 process x 1 thread vs 2 ranks x 1 thread, Ember and torch
    python benchmarks/ddp.py --steps 30 --batch 64 --repeat 5
    python benchmarks/ddp.py --no-torch --two-threads

Prints samples/s, ms per step, the time spent in the gradient Allreduce, and the load average of
the machine (other jobs on the same cores make every number here slower and noisier).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def _threads(n: int) -> dict:
    env = dict(os.environ)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        env[var] = str(n)
    return env


# --- the worker: one Ember training run, timed ----------------------------------------------------
def ember_worker(steps: int, warmup: int, global_batch: int) -> None:
    import numpy as np

    sys.path.insert(0, HERE)
    import ember
    from ember.data import DataLoader, TensorDataset
    from ember.trainer import Trainer, TrainingModule
    from ember.trainer.callbacks import Callback
    from ember.trainer.strategies import launched_world_size
    from models import resnet8

    world = launched_world_size()
    ember.manual_seed(0)
    rng = np.random.default_rng(0)
    n = global_batch * (steps + warmup)
    x = rng.standard_normal((n, 3, 32, 32)).astype(np.float32)
    y = rng.integers(0, 10, n)

    class Model(TrainingModule):
        def __init__(self):
            super().__init__()
            self.net = resnet8(ember.nn)

        def training_step(self, batch, batch_idx):
            images, labels = batch
            return ember.nn.functional.cross_entropy(self.net(images), labels)

        def configure_optimizers(self):
            return ember.optim.SGD(self.parameters(), lr=0.01, momentum=0.9)

    class Clock(Callback):
        def __init__(self):
            self.start = self.stop = 0.0

        def on_train_batch_start(self, trainer, module, batch, batch_idx):
            if batch_idx == warmup:
                self.start = time.perf_counter()

        def on_train_end(self, trainer, module):
            self.stop = time.perf_counter()

    clock = Clock()
    loader = DataLoader(TensorDataset(ember.tensor(x), ember.tensor(y)), batch_size=global_batch // world, shuffle=True)
    trainer = Trainer(max_steps=steps + warmup, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                      enable_model_summary=False, callbacks=[clock])
    allreduce = [0.0]
    reduce = trainer.strategy.reduce_gradients

    def timed_reduce():
        started = time.perf_counter()
        reduce()
        if trainer.global_step >= warmup:
            allreduce[0] += time.perf_counter() - started

    trainer.strategy.reduce_gradients = timed_reduce
    trainer.fit(Model(), loader)
    if trainer.is_global_zero:
        elapsed = clock.stop - clock.start
        params = sum(p.numel() for p in trainer.module.parameters())
        print("RESULT " + json.dumps({
            "world": world, "samples_per_s": steps * global_batch / elapsed, "ms_per_step": 1000 * elapsed / steps,
            "allreduce_ms_per_step": 1000 * allreduce[0] / steps, "params": params,
            "buckets": len(getattr(trainer.strategy, "_buckets", [])),
        }), flush=True)


def torch_worker(rank: int, world: int, steps: int, warmup: int, global_batch: int, port: int, queue) -> None:
    import numpy as np
    import torch
    import torch.distributed as dist

    sys.path.insert(0, HERE)
    from models import resnet8

    torch.set_num_threads(1)
    if world > 1:
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    torch.manual_seed(0)
    model = resnet8(torch.nn)
    if world > 1:
        model = torch.nn.parallel.DistributedDataParallel(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    rng = np.random.default_rng(rank)
    per_rank = global_batch // world
    x = torch.tensor(rng.standard_normal((per_rank, 3, 32, 32)).astype(np.float32))
    y = torch.tensor(rng.integers(0, 10, per_rank))
    for i in range(steps + warmup):
        if i == warmup:
            start = time.perf_counter()
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    elapsed = time.perf_counter() - start
    if rank == 0:
        queue.put({"world": world, "samples_per_s": steps * global_batch / elapsed, "ms_per_step": 1000 * elapsed / steps})
    if world > 1:
        dist.destroy_process_group()


# --- the driver -------------------------------------------------------------------------------------
def run_ember(processes: int, threads: int, args) -> dict:
    command = [sys.executable, os.path.abspath(__file__), "--worker", "--steps", str(args.steps),
               "--warmup", str(args.warmup), "--batch", str(args.batch)]
    if processes > 1:
        command = [shutil.which("mpiexec"), "-n", str(processes), *command]
    done = subprocess.run(command, capture_output=True, text=True, env=_threads(threads), check=False)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"benchmark run failed:\n{done.stdout}\n{done.stderr}")


def run_torch(processes: int, args) -> dict:
    import torch.multiprocessing as mp

    context = mp.get_context("spawn")
    queue = context.SimpleQueue()
    port = 29500 + os.getpid() % 1000
    workers = [context.Process(target=torch_worker, args=(r, processes, args.steps, args.warmup, args.batch, port, queue))
               for r in range(processes)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return queue.get()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--batch", type=int, default=64, help="global batch (split between the ranks)")
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="alternated runs of each configuration (best kept)")
    parser.add_argument("--two-threads", action="store_true", help="also one process with 2 threads")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        ember_worker(args.steps, args.warmup, args.batch)
        return
    print(f"ResNet-8, global batch {args.batch}, {args.steps} timed steps, best of {args.repeat} alternated runs; "
          f"{os.cpu_count()} cores; load average before: {os.getloadavg()[0]:.1f}")
    configs = [("ember 1 process, 1 thread", lambda: run_ember(1, 1, args)),
               ("ember DDP 2 ranks x 1 thread", lambda: run_ember(2, 1, args))]
    if args.two_threads:
        configs.insert(1, ("ember 1 process, 2 threads", lambda: run_ember(1, 2, args)))
    if not args.no_torch:
        configs += [("torch 1 process, 1 thread", lambda: run_torch(1, args)),
                    ("torch DDP gloo 2 ranks x 1 thread", lambda: run_torch(2, args))]
    runs: dict[str, list[dict]] = {name: [] for name, _ in configs}
    for _ in range(args.repeat):  # alternated, so that a change of load hits every configuration alike
        for name, run in configs:
            runs[name].append(run())
    rows = [(name, max(results, key=lambda r: r["samples_per_s"])) for name, results in runs.items()]
    base = {name.split()[0]: result["samples_per_s"] for name, result in rows if "1 thread" in name and "1 process" in name}
    for name, result in rows:
        framework = name.split()[0]
        extra = ""
        if "allreduce_ms_per_step" in result and result["world"] > 1:
            mb = result["params"] * 4 / 2**20
            extra = f"  allreduce {result['allreduce_ms_per_step']:.1f} ms/step ({mb:.2f} MB, {result['buckets']} bucket)"
        print(f"{name:36s} {result['samples_per_s']:8.1f} samples/s {result['ms_per_step']:8.1f} ms/step "
              f"x{result['samples_per_s'] / base[framework]:.2f} vs 1 process{extra}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
