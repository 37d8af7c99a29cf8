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


# --- workloads taken from real programs (issue 23) ----------------------------------------------
# Each is written once against a framework module ``lib`` (ember or torch), as the PyTorch examples
# write them, and built by ``real_step(lib, name)`` into one training step: the same shapes, losses and
# optimizers in both frameworks, the same weights (``_same_weights``: the two frameworks run in separate
# processes, so the weights come from a numpy seed) and data from a fixed numpy seed.
def _basic_block(nn, cin, cout, stride):
    F = nn.functional

    class BasicBlock(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return F.relu(out + (x if self.downsample is None else self.downsample(x)))

    return BasicBlock()


def resnet18(nn, in_channels=3, classes=10, cifar=True):
    """ResNet-18 (64 -> 512 channels, two BasicBlocks per width). ``cifar``: a 3x3 stride-1 stem and no
    max-pool (the CIFAR variant, 32x32 planes through 4x4); otherwise torchvision's 7x7 stride-2 stem and
    max-pool, as the siamese-network example builds it for 28x28 digits (``classes=None``: no head)."""
    F = nn.functional

    class ResNet18(nn.Module):
        def __init__(self):
            super().__init__()
            if cifar:
                self.conv1 = nn.Conv2d(in_channels, 64, 3, 1, 1, bias=False)
            else:
                self.conv1 = nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.pool = nn.Identity() if cifar else nn.MaxPool2d(3, 2, 1)
            widths, blocks, cin = (64, 128, 256, 512), [], 64
            for i, width in enumerate(widths):
                blocks += [_basic_block(nn, cin, width, 1 if i == 0 else 2), _basic_block(nn, width, width, 1)]
                cin = width
            self.layers = nn.Sequential(*blocks)
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(512, classes) if classes else nn.Identity()

        def forward(self, x):
            x = self.layers(self.pool(F.relu(self.bn1(self.conv1(x)))))
            return self.fc(self.avgpool(x).flatten(1))

    return ResNet18()


def siamese(nn):
    """The PyTorch example's siamese network: one ResNet-18 (1 channel in, 7x7 stem) over both images of
    a pair, the two 512-feature vectors concatenated, then Linear-ReLU-Linear and a sigmoid."""

    class Siamese(nn.Module):
        def __init__(self):
            super().__init__()
            self.resnet = resnet18(nn, in_channels=1, classes=None, cifar=False)
            self.fc = nn.Sequential(nn.Linear(1024, 256), nn.ReLU(inplace=True), nn.Linear(256, 1))
            self.sigmoid = nn.Sigmoid()

        def forward(self, a, b):
            return self.sigmoid(self.fc(_lib(nn).cat([self.resnet(a), self.resnet(b)], 1)))

    return Siamese()


def dcgan(nn, nz=100, ngf=64, ndf=64):
    """The PyTorch example's DCGAN at 64x64: the generator's ConvTranspose2d (k 4, stride 2) run
    512 -> 256 -> 128 -> 64 -> 3 channels, the discriminator's Conv2d 3 -> 64 -> ... -> 512 -> 1."""
    generator = nn.Sequential(
        nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
        nn.ConvTranspose2d(ngf, 3, 4, 2, 1, bias=False), nn.Tanh(),
    )
    discriminator = nn.Sequential(
        nn.Conv2d(3, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 8), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False), nn.Sigmoid(),
    )
    return nn.ModuleDict({"generator": generator, "discriminator": discriminator})


def vae(nn):
    """The PyTorch example's VAE: 784 -> 400 -> (20, 20) -> 400 -> 784."""

    class VAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc21, self.fc22 = nn.Linear(784, 400), nn.Linear(400, 20), nn.Linear(400, 20)
            self.fc3, self.fc4 = nn.Linear(20, 400), nn.Linear(400, 784)

        def forward(self, x, noise):
            h = nn.functional.relu(self.fc1(x))
            mu, logvar = self.fc21(h), self.fc22(h)
            z = mu + noise * (0.5 * logvar).exp()
            return (self.fc4(nn.functional.relu(self.fc3(z)))).sigmoid(), mu, logvar

    return VAE()


def vit_tiny(nn, image=32, patch=4, dim=192, depth=12, heads=3, classes=10):
    """ViT-Tiny's encoder (d 192, 3 heads, MLP 768, 12 blocks, pre-norm) on 32x32 images in 4x4
    patches (64 tokens and a class token)."""

    class ViT(nn.Module):
        def __init__(self):
            super().__init__()
            self.patch = nn.Conv2d(3, dim, patch, patch)
            self.cls = nn.Parameter(_lib(nn).zeros(1, 1, dim))
            self.position = nn.Parameter(_lib(nn).randn(1, (image // patch) ** 2 + 1, dim) * 0.02)
            block = nn.TransformerEncoderLayer(dim, heads, 4 * dim, dropout=0.0, activation="gelu",
                                               batch_first=True, norm_first=True)
            self.blocks = nn.TransformerEncoder(block, depth, norm=nn.LayerNorm(dim), enable_nested_tensor=False)
            self.head = nn.Linear(dim, classes)

        def forward(self, x):
            tokens = self.patch(x).flatten(2).transpose(1, 2)
            cls = self.cls.expand(tokens.shape[0], -1, -1)
            tokens = _lib(nn).cat([cls, tokens], 1) + self.position
            return self.head(self.blocks(tokens)[:, 0])

    return ViT()


def _lib(nn):
    """The framework (ember or torch) whose ``nn`` namespace this is."""
    import importlib

    return importlib.import_module(nn.__name__.split(".")[0])


def transformer_lm(nn, vocab=10000, dim=200, heads=2, hidden=200, layers=2):
    """The word-language-model example's Transformer: d 200, 2 heads, feed-forward 200, 2 layers,
    dropout 0.2, sinusoidal positions, a causal mask, decoder to a 10k-word vocabulary (PTB's)."""

    class TransformerLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Embedding(vocab, dim)
            layer = nn.TransformerEncoderLayer(dim, heads, hidden, dropout=0.2)
            self.transformer = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
            self.decoder = nn.Linear(dim, vocab)
            self.dropout = nn.Dropout(0.2)

        def forward(self, tokens, mask, positions):
            x = self.dropout(self.encoder(tokens) * dim ** 0.5 + positions)
            return self.decoder(self.transformer(x, mask=mask, is_causal=True))

    return TransformerLM()


def word_lstm(nn, vocab=10000, dim=650, layers=2):
    """The word-language-model example's LSTM, its "medium" size: 2 layers x 650, dropout 0.5, tied
    sizes of embedding and hidden state, decoder to a 10k-word vocabulary."""

    class WordLSTM(nn.Module):
        def __init__(self):
            super().__init__()
            self.drop = nn.Dropout(0.5)
            self.encoder = nn.Embedding(vocab, dim)
            self.rnn = nn.LSTM(dim, dim, layers, dropout=0.5)
            self.decoder = nn.Linear(dim, vocab)

        def forward(self, tokens):
            out, _ = self.rnn(self.drop(self.encoder(tokens)))
            return self.decoder(self.drop(out))

    return WordLSTM()


def _sinusoids(length, dim):
    position = np.arange(length, dtype=np.float32)[:, None]
    scale = np.exp(np.arange(0, dim, 2, dtype=np.float32) * (-np.log(10000.0) / dim))
    table = np.zeros((length, 1, dim), np.float32)
    table[:, 0, 0::2], table[:, 0, 1::2] = np.sin(position * scale), np.cos(position * scale)
    return table


def _same_weights(lib, model):
    """Overwrites every weight of two or more dimensions with uniform(-1/sqrt(fan_in), 1/sqrt(fan_in))
    values from a fixed numpy seed, in the order of ``named_parameters`` (the same in both frameworks).
    Of the vectors, biases are zeroed (recurrent layers' ``bias_ih_l0``, ``bias_hh`` too); norms' scales and
    shifts keep their defaults, 1 and 0 in both."""
    rng = np.random.default_rng(1)
    with lib.no_grad():
        for name, p in model.named_parameters():
            if p.ndim >= 2:
                bound = 1 / np.sqrt(np.prod(p.shape[1:]))
                p.copy_(lib.from_numpy(rng.uniform(-bound, bound, tuple(p.shape)).astype(np.float32)))
            elif name.rsplit(".", 1)[-1].startswith("bias"):
                p.zero_()
    return model


def _classifier_step(lib, model, optimizer, inputs, targets, classes):
    F = lib.nn.functional

    def step():
        logits = model(*inputs)
        loss = F.cross_entropy(logits.reshape(-1, classes), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    return step


def real_step(lib, name):
    """One training step of the real-program workload ``name`` in ``lib`` (ember or torch)."""
    rng = np.random.default_rng(0)
    lib.manual_seed(0)
    nn, F, as_tensor = lib.nn, lib.nn.functional, lib.from_numpy
    if name in ("resnet18_cifar", "vit_tiny"):
        model = _same_weights(lib, resnet18(nn) if name == "resnet18_cifar" else vit_tiny(nn))
        batch = 8
        x = as_tensor(rng.standard_normal((batch, 3, 32, 32)).astype(np.float32))
        y = as_tensor(rng.integers(0, 10, batch))
        optimizer = (lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9) if name == "resnet18_cifar"
                     else lib.optim.AdamW(model.parameters(), lr=1e-3))
        return _classifier_step(lib, model, optimizer, (x,), y, 10)
    if name == "resnet18_28":  # the siamese-network example: pairs of 28x28 digits, BCE, Adadelta
        model = _same_weights(lib, siamese(nn))
        a, b = (as_tensor(rng.standard_normal((16, 1, 28, 28)).astype(np.float32)) for _ in range(2))
        y = as_tensor(rng.integers(0, 2, (16, 1)).astype(np.float32))
        optimizer = lib.optim.Adadelta(model.parameters(), lr=1.0)

        def step():
            loss = F.binary_cross_entropy(model(a, b), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            return loss

        return step
    if name == "dcgan":  # the DCGAN example's step: D on real and fake, then G through D, Adam (0.5, 0.999)
        nets = _same_weights(lib, dcgan(nn))
        netG, netD = nets["generator"], nets["discriminator"]
        optD = lib.optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
        optG = lib.optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
        batch = 8
        real = as_tensor(rng.uniform(-1, 1, (batch, 3, 64, 64)).astype(np.float32))
        noise = as_tensor(rng.standard_normal((batch, 100, 1, 1)).astype(np.float32))
        ones, zeros = as_tensor(np.ones(batch, np.float32)), as_tensor(np.zeros(batch, np.float32))

        def step():
            optD.zero_grad()
            errD_real = F.binary_cross_entropy(netD(real).view(-1), ones)
            errD_real.backward()
            fake = netG(noise)
            errD_fake = F.binary_cross_entropy(netD(fake.detach()).view(-1), zeros)
            errD_fake.backward()
            optD.step()
            optG.zero_grad()
            errG = F.binary_cross_entropy(netD(fake).view(-1), ones)
            errG.backward()
            optG.step()
            return errG

        return step
    if name == "vae":  # the VAE example: batch 128, BCE (sum) + KL divergence, Adam 1e-3
        model = _same_weights(lib, vae(nn))
        optimizer = lib.optim.Adam(model.parameters(), lr=1e-3)
        x = as_tensor(rng.uniform(0, 1, (128, 784)).astype(np.float32))
        noise = as_tensor(rng.standard_normal((128, 20)).astype(np.float32))

        def step():
            recon, mu, logvar = model(x, noise)
            kld = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum()
            loss = F.binary_cross_entropy(recon, x, reduction="sum") + kld
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            return loss

        return step
    # the word-language-model example: 35 steps of 20 sequences, SGD (its manual update) with clipping
    length, batch, vocab = 35, 20, 10000
    tokens = as_tensor(rng.integers(0, vocab, (length, batch)))
    targets = as_tensor(rng.integers(0, vocab, length * batch))
    if name == "transformer_lm":
        model = _same_weights(lib, transformer_lm(nn))
        mask = as_tensor(np.triu(np.full((length, length), -np.inf, np.float32), 1))
        inputs = (tokens, mask, as_tensor(_sinusoids(length, 200)))
    else:
        model = _same_weights(lib, word_lstm(nn))
        inputs = (tokens,)
    model.train()
    optimizer = lib.optim.SGD(model.parameters(), lr=20.0)

    def step():
        logits = model(*inputs)
        loss = F.cross_entropy(logits.reshape(-1, vocab), targets)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        optimizer.step()
        return loss

    return step



# --- per-step overhead (issue 23): an MLP of nn.Linear layers, Python loops of recurrent cells ------
# Built by ``overhead_step(lib, name)`` as the other real-program workloads: the same shapes, losses,
# optimizers and weights (``_same_weights``) in both frameworks, data from a fixed numpy seed.
def linear_mlp(nn):
    """784-512-256-10 of ``nn.Linear`` layers, as an MNIST example writes it (the suite's "mlp" is the
    same network with hand-held weight matrices)."""
    return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10))


def cell_sequence(lib, cell="LSTMCell", hidden=51):
    """The time-sequence-prediction example's model: two cells (1 -> 51 -> 51) stepped by a Python loop
    over the sequence, a ``Linear(51, 1)`` read-out at every step, the outputs concatenated."""
    nn = lib.nn
    lstm = cell == "LSTMCell"

    class Sequence(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell1 = getattr(nn, cell)(1, hidden)
            self.cell2 = getattr(nn, cell)(hidden, hidden)
            self.linear = nn.Linear(hidden, 1)

        def forward(self, x):
            zeros = lib.zeros(x.shape[0], hidden, dtype=x.dtype)
            state1 = state2 = (zeros, zeros) if lstm else zeros
            outputs = []
            for x_t in x.split(1, dim=1):
                state1 = self.cell1(x_t, state1)
                state2 = self.cell2(state1[0] if lstm else state1, state2)
                outputs.append(self.linear(state2[0] if lstm else state2))
            return lib.cat(outputs, dim=1)

    return Sequence()


def overhead_step(lib, name):
    """One training step of ``mlp32`` / ``mlp512`` (cross-entropy, SGD with momentum) or
    ``lstmcell_loop`` / ``grucell_loop`` (97 sine waves of 100 steps, next-value MSE, Adam)."""
    rng = np.random.default_rng(0)
    lib.manual_seed(0)
    F, as_tensor = lib.nn.functional, lib.from_numpy
    if name.startswith("mlp"):
        batch = int(name[3:])
        model = _same_weights(lib, linear_mlp(lib.nn))
        optimizer = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        x = as_tensor(rng.standard_normal((batch, 784)).astype(np.float32))
        y = as_tensor(rng.integers(0, 10, batch))

        def loss_fn():
            return F.cross_entropy(model(x), y)
    else:
        model = _same_weights(lib, cell_sequence(lib, "LSTMCell" if name == "lstmcell_loop" else "GRUCell"))
        optimizer = lib.optim.Adam(model.parameters(), lr=0.01)
        period = 20
        waves = np.sin((np.arange(101) + rng.integers(-4 * period, 4 * period, (97, 1))) / period)
        x, target = (as_tensor(np.ascontiguousarray(a, np.float32)) for a in (waves[:, :-1], waves[:, 1:]))

        def loss_fn():
            return F.mse_loss(model(x), target)

    def step():
        loss = loss_fn()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    return step
