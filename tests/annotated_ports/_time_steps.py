"""CPU time of one training step of each tests/annotated_ports program, Ember against torch (not a test).

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 nice -n 19 \
        python -m tests.annotated_ports._time_steps [--rounds 5] [--steps 10]

One thread each, the same weights (torch's, through a file), warm-up steps first, then rounds that alternate
torch and Ember; prints each round's milliseconds per step and the ratio of the medians.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import ember
import numpy as np
import torch

from tests.test_ports import load_program

FOLDER = Path(__file__).resolve().parent


def transformer_step(lib, program, sizes, batch_size, seed=0):
    """(step function) for the copy task: run_epoch's body on one batch (forward, loss, backward, Adam, LambdaLR)."""
    lib.manual_seed(0)
    model = program["make_model"](11, 11, **sizes)
    criterion = program["LabelSmoothing"](size=11, padding_idx=0, smoothing=0.1)
    optimizer = lib.optim.Adam(model.parameters(), lr=0.5, betas=(0.9, 0.98), eps=1e-9)
    scheduler = lib.optim.lr_scheduler.LambdaLR(
        optimizer=optimizer, lr_lambda=lambda step: program["rate"](step, sizes["d_model"], 1.0, 400))
    data = np.random.default_rng(seed).integers(1, 11, (batch_size, 10))
    data[:, 0] = 1
    batch = program["Batch"](lib.from_numpy(data), lib.from_numpy(data), 0)
    loss_compute = program["SimpleLossCompute"](model.generator, criterion)
    model.train()

    def step():
        out = model.forward(batch.src, batch.tgt, batch.src_mask, batch.tgt_mask)
        _, loss_node = loss_compute(out, batch.tgt_y, batch.ntokens)
        loss_node.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        scheduler.step()

    return model, step


def pinn_step(lib, program, problem, layers, n_u, n_f, path):
    np.random.seed(0)
    lib.manual_seed(0)
    if problem == "inference":
        X_u, u, X_f, *_, lb, ub = program["inference_data"](path, n_u, n_f)
        model = program["PhysicsInformedNN"](X_u, u, X_f, layers, lb, ub, 0.01 / np.pi, max_iter=1)

        def step():  # one closure evaluation: the forward, three autograd.grad calls, backward
            model.loss_func()
    else:
        X_u, u, *_, lb, ub = program["identification_data"](path, n_u)
        model = program["PhysicsInformedNNIdentification"](X_u, u, layers, lb, ub, max_iter=1)

        def step():  # one Adam step of train(nIter)'s loop
            u_pred = model.net_u(model.x, model.t)
            f_pred = model.net_f(model.x, model.t)
            loss = lib.mean((model.u - u_pred) ** 2) + lib.mean(f_pred ** 2)
            model.optimizer_Adam.zero_grad()
            loss.backward()
            model.optimizer_Adam.step()

    return model.dnn, step


CASES = {
    "transformer copy, d_model 32, N 2, batch 16x10 (the test's size)":
        lambda lib, p, d: transformer_step(lib, p, {"N": 2, "d_model": 32, "d_ff": 64, "h": 4, "dropout": 0.0}, 16),
    "transformer copy, d_model 128, N 2, h 8, d_ff 512, batch 64x10":
        lambda lib, p, d: transformer_step(lib, p, {"N": 2, "d_model": 128, "d_ff": 512, "h": 8, "dropout": 0.0}, 64),
    "PINN inference closure, 4x20 tanh, N_f 300 (the test's size)":
        lambda lib, p, d: pinn_step(lib, p, "inference", [2, 20, 20, 20, 20, 1], 40, 300, d),
    "PINN inference closure, 8x20 tanh, N_f 10000 (the notebook's size)":
        lambda lib, p, d: pinn_step(lib, p, "inference", [2] + [20] * 8 + [1], 100, 10000, d),
    "PINN identification Adam step, 8x20 tanh, N_u 1000":
        lambda lib, p, d: pinn_step(lib, p, "identification", [2] + [20] * 8 + [1], 1000, 0, d),
}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("-k", default="", help="only the cases whose name contains this")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    programs = {name: {torch: load_program(name, False, FOLDER), ember: load_program(name, True, FOLDER)}
                for name in ("annotated_transformer", "pinn_burgers")}
    folder = Path(tempfile.mkdtemp())
    for case, build in CASES.items():
        if args.k not in case:
            continue
        program_name = "annotated_transformer" if case.startswith("transformer") else "pinn_burgers"
        steps = {}
        models = {}
        for lib in (torch, ember):
            models[lib], steps[lib] = build(lib, programs[program_name][lib], str(folder / "burgers.mat"))
        torch.save(models[torch].state_dict(), folder / "init.pt")
        models[ember].load_state_dict(ember.load(folder / "init.pt", weights_only=True))
        for lib in (torch, ember):
            for _ in range(args.warmup):
                steps[lib]()
        times = {torch: [], ember: []}
        for _ in range(args.rounds):
            for lib in (torch, ember):
                start = time.process_time()
                for _ in range(args.steps):
                    steps[lib]()
                times[lib].append(1000 * (time.process_time() - start) / args.steps)
        ratio = statistics.median(times[ember]) / statistics.median(times[torch])
        print(f"{case}\n  torch ms/step: {' '.join(f'{v:.2f}' for v in times[torch])}\n"
              f"  ember ms/step: {' '.join(f'{v:.2f}' for v in times[ember])}\n  ember / torch (medians): {ratio:.2f}")


if __name__ == "__main__":
    main()
