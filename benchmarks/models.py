"""Training-step time of small standard models, Ember vs PyTorch (CPU), run by hand.

Each model is written once against an ``nn`` namespace and built twice (``ember.nn`` and
``torch.nn``); PyTorch's initial weights are loaded into the Ember model by ``state_dict``,
so both frameworks run the same computation. A step is forward, loss, backward and the
optimizer's update (``OPTIMIZERS``: Adam for LeNet-5, AdamW for GPT, SGD otherwise). The median
of several timed steps is reported, after warm-up steps (which also compile Ember's numba kernels).

Usage:
    python benchmarks/models.py                 # all models
    python benchmarks/models.py lstm gpt        # some of them
    python benchmarks/models.py --steps 20
    python benchmarks/models.py --threads 1     # BLAS, numba and torch single-threaded (busy machines)
    python benchmarks/models.py --threads 1 --cpu-time   # CPU time instead of wall time

Targets (issue "ember.nn"): LeNet <= 1.5x, ResNet-8 <= 2x, char-LSTM <= 1.5x, GPT <= 1.5x PyTorch.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

if "--threads" in sys.argv:  # must be set before numpy / numba / torch start their thread pools
    _threads = sys.argv[sys.argv.index("--threads") + 1]
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[_var] = _threads

import numpy as np  # noqa: E402


# --- models, written once for either framework ------------------------------------------------
def lenet5(nn):
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120),
        nn.ReLU(),
        nn.Linear(120, 84),
        nn.ReLU(),
        nn.Linear(84, 10),
    )


def resnet8(nn):
    F = nn.functional

    class BasicBlock(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(
                    nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
                )

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return F.relu(out + (x if self.downsample is None else self.downsample(x)))

    class ResNet8(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(16)
            self.layers = nn.Sequential(BasicBlock(16, 16, 1), BasicBlock(16, 32, 2), BasicBlock(32, 64, 2))
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(64, 10)

        def forward(self, x):
            x = self.layers(F.relu(self.bn1(self.conv1(x))))
            return self.fc(self.pool(x).flatten(1))

    return ResNet8()


def char_lstm(nn):
    class CharLSTM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(65, 64)
            self.lstm = nn.LSTM(64, 256, batch_first=True)
            self.head = nn.Linear(256, 65)

        def forward(self, tokens):
            out, _ = self.lstm(self.embed(tokens))
            return self.head(out)

    return CharLSTM()


def gpt(nn):
    class GPT(nn.Module):
        def __init__(self, vocab=65, d_model=128, heads=4, layers=2, length=64):
            super().__init__()
            self.embed = nn.Embedding(vocab, d_model)
            self.position = nn.Embedding(length, d_model)
            block = nn.TransformerEncoderLayer(
                d_model, heads, 4 * d_model, dropout=0.0, activation="gelu", batch_first=True, norm_first=True
            )
            self.blocks = nn.TransformerEncoder(
                block, layers, norm=nn.LayerNorm(d_model), enable_nested_tensor=False
            )
            self.head = nn.Linear(d_model, vocab)

        def forward(self, tokens, mask, positions):
            x = self.embed(tokens) + self.position(positions)
            return self.head(self.blocks(x, mask=mask, is_causal=True))

    return GPT()


# --- one training step per framework ------------------------------------------------------------
def _data(name, rng):
    if name == "lenet":
        return rng.standard_normal((64, 1, 28, 28)).astype(np.float32), rng.integers(0, 10, 64), 10
    if name == "resnet8":
        return rng.standard_normal((64, 3, 32, 32)).astype(np.float32), rng.integers(0, 10, 64), 10
    if name == "lstm":
        return rng.integers(0, 65, (32, 64)), rng.integers(0, 65, (32, 64)), 65
    return rng.integers(0, 65, (16, 64)), rng.integers(0, 65, (16, 64)), 65


# the optimizer of each workload (the performance issue's list): the same class and settings in both frameworks
OPTIMIZERS = {
    "lenet": ("Adam", {"lr": 1e-3}),
    "resnet8": ("SGD", {"lr": 0.01}),
    "lstm": ("SGD", {"lr": 0.01}),
    "gpt": ("AdamW", {"lr": 1e-3}),
}


def make_step(framework, model, name, x, y, classes):
    if framework == "torch":
        import torch as lib

        F = lib.nn.functional
        as_tensor = lib.from_numpy
    else:
        import ember as lib

        F = lib.nn.functional
        as_tensor = lib.from_numpy
    xt, yt = as_tensor(x), as_tensor(y.reshape(-1))
    extra = ()
    if name == "gpt":
        length = x.shape[1]
        mask = np.triu(np.full((length, length), -np.inf, np.float32), 1)
        extra = (as_tensor(mask), as_tensor(np.arange(length)))
    optimizer_name, options = OPTIMIZERS[name]
    optimizer = getattr(lib.optim, optimizer_name)(model.parameters(), **options)

    def step():
        logits = model(xt, *extra)
        loss = F.cross_entropy(logits.reshape(-1, classes), yt)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    return step


def time_step(step, steps: int, warmup: int, clock=time.perf_counter) -> float:
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        start = clock()
        step()
        times.append(clock() - start)
    return statistics.median(times)


MODELS = {"lenet": lenet5, "resnet8": resnet8, "lstm": char_lstm, "gpt": gpt}
LABELS = {
    "lenet": "LeNet-5 (b64, 1x28x28)",
    "resnet8": "ResNet-8+BN (b64, 3x32x32)",
    "lstm": "char-LSTM (V65 E64 H256, L64 b32)",
    "gpt": "GPT 2 blocks (d128 h4, L64 b16)",
}
TARGETS = {"lenet": 1.5, "resnet8": 2.0, "lstm": 1.5, "gpt": 1.5}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("models", nargs="*", default=list(MODELS), help=f"some of {list(MODELS)}")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="threads for BLAS, numba and torch")
    parser.add_argument(
        "--cpu-time",
        action="store_true",
        help="time with the process's CPU clock (with --threads 1: robust on a busy machine)",
    )
    args = parser.parse_args()
    unknown = set(args.models) - set(MODELS)
    if unknown:
        parser.error(f"unknown models {sorted(unknown)}; choose from {list(MODELS)}")

    import ember
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__} threads={torch.get_num_threads()}  numpy {np.__version__}  "
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '-')}  "
        f"NUMBA_NUM_THREADS={os.environ.get('NUMBA_NUM_THREADS', '-')}  load={os.getloadavg()[0]:.1f}"
    )
    print(f"{'model':36s} {'ember ms':>10s} {'torch ms':>10s} {'ratio':>7s} {'target':>7s}")
    for name in args.models:
        rng = np.random.default_rng(0)
        x, y, classes = _data(name, rng)
        torch.manual_seed(0)
        torch_model = MODELS[name](torch.nn)
        ember_model = MODELS[name](ember.nn)
        ember_model.load_state_dict(
            {k: v.detach().numpy().copy() for k, v in torch_model.state_dict().items()}
        )
        torch_model.train()
        ember_model.train()
        ember_step = make_step("ember", ember_model, name, x, y, classes)
        torch_step = make_step("torch", torch_model, name, x, y, classes)
        # same weights, same data: the first losses agree (a check that both run the same model)
        first = (float(ember_step()), float(torch_step().detach()))
        clock = time.process_time if args.cpu_time else time.perf_counter
        ember_ms = time_step(ember_step, args.steps, args.warmup, clock) * 1e3
        torch_ms = time_step(torch_step, args.steps, args.warmup, clock) * 1e3
        ratio = ember_ms / torch_ms
        print(
            f"{LABELS[name]:36s} {ember_ms:10.1f} {torch_ms:10.1f} {ratio:6.2f}x {TARGETS[name]:6.1f}x"
            f"   first loss {first[0]:.5f} / {first[1]:.5f}"
        )


if __name__ == "__main__":
    main()
