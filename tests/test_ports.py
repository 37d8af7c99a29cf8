"""PyTorch programs run on Ember after renaming alone, and the coverage report runs.

Each file in tests/ports/ is a PyTorch program in the style of the pytorch/examples repository (tiny,
random data, a few steps). The Ember test reads the torch source, renames ``torch`` to ``ember`` (and
``torchvision`` to ``ember.vision``, ``torch.utils.data`` to ``ember.data``) and runs the result: that
the renamed text trains proves the port needs nothing but the rename. Where torch is installed the
original runs too (test_ports_torch.py, a file of its own so that xdist runs the two sides on two
workers), so the programs themselves are known to be right.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import ember
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
PORTS = Path(__file__).resolve().parent / "ports"

# The renames, in order: the longer names first.
RENAMES = [
    (r"\btorchvision\b", "ember.vision"),
    (r"\btorchaudio\b", "ember.audio"),
    (r"\btorch\.utils\.data\b", "ember.data"),
    (r"\btorch\b", "ember"),
]


def rename(source: str) -> str:
    """The torch program as an Ember program: the module names replaced, nothing else."""
    for pattern, replacement in RENAMES:
        source = re.sub(pattern, replacement, source)
    return source


def ported_source(path: Path, ported: bool) -> str:
    """PATH's text, renamed to Ember when ``ported`` (and then with no torch name left)."""
    source = path.read_text()
    if ported:
        source = rename(source)
        assert not re.search(r"\btorch\b", source), f"{path.name}: the rename left a torch name behind"
    return source


def restore_modules(saved: dict) -> None:
    """Puts back the sys.modules entries ``saved`` maps by name (None: the name was not there)."""
    for name, module in saved.items():
        if module is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = module


@contextlib.contextmanager
def upstream_modules(root: Path, libraries: list, ported: bool):
    """A ported repository's files in sys.modules under their upstream names, renamed to Ember when ``ported``.
    ``libraries`` lists (module name, file under ``root``) in the order they run: a package's ``__init__.py``
    after the submodules it imports, and (name, None) first to make the package empty. Yields the modules by
    name; sys.modules is as it was once the context closes."""
    saved = {name: sys.modules.get(name) for name, _ in libraries}
    modules: dict[str, types.ModuleType] = {}
    try:
        for name, relative in libraries:
            if name not in modules:
                module = modules[name] = types.ModuleType(name)
                is_package = relative is None or relative.endswith("__init__.py")
                module.__file__ = str(root / (relative or f"{name}/__init__.py"))
                module.__package__ = name if is_package else name.rpartition(".")[0]
                if is_package:
                    module.__path__ = [str(root / name)]
                sys.modules[name] = module
                parent, _, child = name.rpartition(".")
                if parent:
                    setattr(modules[parent], child, module)
            if relative is not None:
                code = compile(ported_source(root / relative, ported), str(root / relative), "exec", dont_inherit=True)
                exec(code, modules[name].__dict__)  # noqa: S102 (our own test programs)
        yield modules
    finally:
        restore_modules(saved)


def load_program(name: str, ported: bool, folder: Path = PORTS) -> dict:
    """The namespace of FOLDER/NAME.py (tests/ports/ by default) run as a module, renamed to Ember when
    ``ported``: the other port folders' test files load their programs through it too."""
    path = folder / f"{name}.py"
    source = ported_source(path, ported)
    namespace = {"__name__": f"{folder.name}.{name}", "__file__": str(path)}
    exec(compile(source, str(path), "exec", dont_inherit=True), namespace)  # noqa: S102 (our own test programs)
    return namespace


def run_program(name: str, argv: list[str], ported: bool, folder: Path = PORTS):
    """Runs FOLDER/NAME.py's ``main(argv)`` (renamed to Ember when ``ported``); returns what it returns (the
    losses, for tests/ports/)."""
    return load_program(name, ported, folder)["main"](argv)


def run_program_in_fresh_process(name: str, argv: list[str], ported: bool, cwd: Path) -> list[float]:
    """``run_program`` in a new interpreter, for programs that fork workers after their parent ran nothing
    (see FRESH_PROCESS)."""
    code = ("import json, sys; from tests.test_ports import run_program; "
            f"print(json.dumps(run_program({name!r}, {argv!r}, ported={ported!r})))")
    done = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def assert_trains(losses: list[float], window: int = 3, factor: float = 1.0) -> None:
    """Every loss is finite and the mean of the last ``window`` is below ``factor`` x the first ``window``'s."""
    assert len(losses) >= 2 * window, losses
    assert all(math.isfinite(v) for v in losses), losses
    first, last = sum(losses[:window]) / window, sum(losses[-window:]) / window
    assert last < factor * first, f"loss did not go down: first {first:.4g}, last {last:.4g} ({losses})"


def test_rename_touches_only_module_names():
    source = "import torch.nn as nn\nfrom torch.utils.data import DataLoader\nimport torchvision\ntorchic = 1\n"
    assert rename(source) == (
        "import ember.nn as nn\nfrom ember.data import DataLoader\nimport ember.vision\ntorchic = 1\n")


# case -> (program in tests/ports/, arguments for a quick run, window and factor for assert_trains)
CASES = {
    "cutmix_mixup": ("cutmix_mixup", [], 2, 0.9),
    "dcgan": ("dcgan", ["--niter", "2"], 3, 0.95),
    "detection_transforms": ("detection_transforms", [], 4, 0.8),
    "dqn": ("dqn", ["--num-episodes", "20"], 20, 0.5),
    "fast_neural_style": ("fast_neural_style", ["--lr", "0.01"], 3, 0.95),
    "fgsm": ("fgsm", [], 3, 0.5),
    "forward_forward": ("forward_forward", [], 5, 0.7),
    "fourier_neural_operator": ("fourier_neural_operator", [], 3, 0.8),
    "gaussian_process": ("gaussian_process", ["--training-iter", "40"], 5, 0.5),
    "gcn[dense]": ("gcn", ["--model", "dense"], 3, 0.5),
    "gcn[message_passing]": ("gcn", ["--model", "message_passing"], 3, 0.5),
    "gcn[sparse]": ("gcn", ["--model", "sparse"], 3, 0.5),
    "grad_cam": ("grad_cam", [], 4, 0.2),
    "imagenet": ("imagenet", [], 2, 0.5),
    "jacobians_hessians": ("jacobians_hessians", [], 2, 0.7),
    "knowledge_distillation": ("knowledge_distillation", [], 3, 0.9),
    "mixture_density_network": ("mixture_density_network", [], 5, 0.5),
    "model_ensembling": ("model_ensembling", [], 4, 0.95),
    "mnist_hogwild": ("mnist_hogwild", [], 1, 0.5),
    "parametrizations": ("parametrizations", [], 3, 0.1),
    "neural_style": ("neural_style", [], 3, 0.5),
    "per_sample_grads": ("per_sample_grads", [], 5, 0.8),
    "pruning": ("pruning", [], 4, 0.8),
    "regression": ("regression", ["--max-steps", "60"], 5, 0.5),
    "reinforce": ("reinforce", ["--episodes", "30", "--max-steps", "80"], 8, 1.0),
    "seq2seq_translation": ("seq2seq_translation", ["--n-epochs", "4"], 4, 0.7),
    "spatial_transformer": ("spatial_transformer", [], 4, 0.98),
    "super_resolution": ("super_resolution", [], 3, 0.6),
    "swa": ("swa", [], 3, 0.3),
    "siamese_network": ("siamese_network", ["--train-size", "320", "--batch-size", "32", "--epochs", "3"], 5, 0.97),
    "transfer_learning": ("transfer_learning", ["--workers", "0", "--epochs", "4", "--images-per-class", "12"], 2,
                          0.8),
    "time_sequence_prediction": ("time_sequence_prediction", ["--steps", "2"], 2, 0.5),
    "translation_transformer": ("translation_transformer", [], 4, 0.85),
    "vae": ("vae", ["--epochs", "2", "--train-size", "128"], 3, 0.9),
    "vision_transformer": ("vision_transformer", ["--epochs", "6"], 8, 0.9),
    "word_language_model[GRU]": ("word_language_model", ["--model", "GRU"], 3, 0.9),
    "word_language_model[LSTM]": ("word_language_model", ["--model", "LSTM", "--nlayers", "1", "--dropout", "0"],
                                  3, 0.9),
    "word_language_model[RNN_TANH]": ("word_language_model", ["--model", "RNN_TANH", "--nlayers", "1", "--dropout", "0"],
                                      3, 0.9),
    "word_language_model[Transformer]": ("word_language_model", ["--model", "Transformer"], 3, 0.7),
    "extending_func": ("extending_func", [], 5, 0.1),
}
# Programs that run on torch but not yet on Ember, with what they wait for. They join CASES when it lands.
PENDING: dict[str, str] = {}
# Programs that fork workers which compute: they run in a fresh interpreter, because a parent that has already
# computed cannot fork safely, in either framework (torch's OpenMP pool deadlocks in the child; numba's GNU
# OpenMP layer ends the child with "fork() called from a process already using GNU OpenMP").
FRESH_PROCESS = {"mnist_hogwild"}
# Programs whose torch original needs torchvision.
NEEDS_TORCHVISION = {"vae", "dcgan", "detection_transforms", "transfer_learning", "fgsm", "knowledge_distillation",
                     "forward_forward", "neural_style", "imagenet", "cutmix_mixup"}


def test_every_program_is_run_or_waits_for_a_named_feature():
    programs = {path.stem for path in PORTS.glob("*.py")}
    run = {name for name, *_ in CASES.values()}
    assert programs == run | set(PENDING), programs ^ (run | set(PENDING))
    assert not run & set(PENDING)


def _torchvision_or_skip() -> None:
    from tests.vision._torchvision import import_torchvision

    import_torchvision()  # (skips when it cannot load; tolerates the CUDA wheel's missing compiled ops)


@pytest.mark.parametrize("case", sorted(CASES))
def test_ported_program_trains(case, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    name, argv, window, factor = CASES[case]
    if name in FRESH_PROCESS:
        assert_trains(run_program_in_fresh_process(name, argv, True, tmp_path), window, factor)
        return
    assert_trains(run_program(name, argv, ported=True), window, factor)


@pytest.mark.parity
def test_coverage_report_prints_the_table():
    pytest.importorskip("torch")
    from benchmarks import api_coverage as coverage

    out = subprocess.run([sys.executable, "-m", "benchmarks.api_coverage"], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, check=True).stdout
    lines = out.splitlines()
    assert lines[0].split() == ["namespace", "in", "Ember", "counted", "coverage", "left", "out"]
    end = next(i for i, line in enumerate(lines) if line.startswith("all "))
    namespaces = [line.split()[0] for line in lines[1:end]]
    assert namespaces[:4] == ["torch", "torch.Tensor", "torch.nn", "torch.nn.functional"]
    assert {"torch.linalg", "torch.fft", "torch.special", "torch.distributions", "torch.func", "torch.autograd",
            "torch.optim", "torch.utils.data"} <= set(namespaces)
    for line in lines[1:end + 1]:  # a row: counts; or a row whose reference is not installed: the reason
        assert re.fullmatch(r"[\w.]+( \([\w .]+\))?\s+(\d+\s+\d+\s+\d+\.\d%\s+\d+|skipped: .+)", line), line
    rows = coverage.coverage()
    markdown = coverage.format_markdown(rows, show_left_out=True)
    assert markdown.startswith("| namespace | in Ember | counted | coverage |")
    assert "- `q_scale`: quantised tensor accessors" in markdown  # (a left-out name, with its reason)


def _both_programs(name: str) -> tuple[dict, dict]:
    """The torch program's namespace and the renamed Ember program's, without running ``main``."""
    source = (PORTS / f"{name}.py").read_text()
    torch_program, ember_program = {"__name__": f"torch_{name}"}, {"__name__": f"ember_{name}"}
    exec(compile(source, f"{name}.py", "exec"), torch_program)  # noqa: S102
    exec(compile(rename(source), f"{name}.py", "exec"), ember_program)  # noqa: S102
    return torch_program, ember_program


def _copy_weights(torch_module, ember_module) -> None:
    ember_module.load_state_dict({k: ember.from_numpy(v.numpy().copy()) for k, v in torch_module.state_dict().items()})


@pytest.mark.parity
def test_vision_transformer_trains_like_torch_from_the_same_weights():
    """The ported ViT, given torch's initial weights and the same batch, takes the same 6 AdamW steps."""
    torch = pytest.importorskip("torch")
    torch_program, ember_program = _both_programs("vision_transformer")
    torch.manual_seed(0)
    torch_model, ember_model = torch_program["ViT"](), ember_program["ViT"]()
    _copy_weights(torch_model, ember_model)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 1, 16, 16)).astype(np.float32), rng.integers(0, 4, 16)

    def losses(lib, model, x, y):
        optimizer = lib.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.05)
        criterion = lib.nn.CrossEntropyLoss(label_smoothing=0.1)
        values = []
        for _ in range(6):
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            lib.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            values.append(loss.item())
        return values

    expected = losses(torch, torch_model, torch.from_numpy(x), torch.from_numpy(y))
    assert losses(ember, ember_model, ember.from_numpy(x), ember.from_numpy(y)) == pytest.approx(expected, rel=1e-4)
    assert expected[-1] < expected[0]


@pytest.mark.parity
def test_fourier_neural_operator_trains_like_torch_from_the_same_weights():
    """Complex spectral weights: the same rfft / irfft, complex einsum, gradients and Adam steps as torch."""
    torch = pytest.importorskip("torch")
    torch_program, ember_program = _both_programs("fourier_neural_operator")
    torch.manual_seed(0)
    torch_model, ember_model = torch_program["FNO1d"](4, 8), ember_program["FNO1d"](4, 8)
    _copy_weights(torch_model, ember_model)
    x, y = torch_program["heat_equation_data"](4, 16, 0.5, torch.Generator().manual_seed(0))

    def losses(lib, model, x, y):
        optimizer = lib.optim.Adam(model.parameters(), lr=0.01)
        values = []
        for _ in range(4):
            optimizer.zero_grad()
            loss = lib.nn.functional.mse_loss(model(x), y)
            loss.backward()
            optimizer.step()
            values.append(loss.item())
        return values

    expected = losses(torch, torch_model, x, y)
    got = losses(ember, ember_model, ember.from_numpy(x.numpy()), ember.from_numpy(y.numpy()))
    assert got == pytest.approx(expected, rel=1e-4)


@pytest.mark.parity
def test_seq2seq_gives_torchs_loss_and_gradients_from_the_same_weights():
    """Packed variable-length batches (enforce_sorted=False), attention with a padding mask, teacher forcing."""
    torch = pytest.importorskip("torch")
    import random

    torch_program, ember_program = _both_programs("seq2seq_translation")
    torch.manual_seed(0)
    torch_modules = [torch_program["EncoderRNN"](10, 16), torch_program["AttnDecoderRNN"](16, 10)]
    ember_modules = [ember_program["EncoderRNN"](10, 16), ember_program["AttnDecoderRNN"](16, 10)]
    for torch_module, ember_module in zip(torch_modules, ember_modules):
        _copy_weights(torch_module, ember_module)
        torch_module.eval()  # (no dropout)
        ember_module.eval()
    pairs = torch_program["random_pairs"](6, 10, random.Random(1))

    def loss_and_grads(lib, program, modules):
        encoder, decoder = modules
        inputs, lengths, targets = program["to_batch"](pairs)
        outputs, hidden = encoder(inputs, lengths)
        log_probs, _, _ = decoder(outputs, hidden, inputs != 2, targets)
        loss = lib.nn.NLLLoss(ignore_index=2)(log_probs.view(-1, 10), targets.view(-1))
        loss.backward()
        return loss.item(), [p.grad.numpy() for module in modules for p in module.parameters()]

    expected_loss, expected_grads = loss_and_grads(torch, torch_program, torch_modules)
    loss, grads = loss_and_grads(ember, ember_program, ember_modules)
    assert loss == pytest.approx(expected_loss, rel=1e-5)
    for got, expected in zip(grads, expected_grads, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)


@pytest.mark.parity
def test_gaussian_process_gives_torchs_likelihood_and_gradients():
    """cdist, cholesky, cholesky_solve and solve_triangular in float64: torch's values and gradients."""
    torch = pytest.importorskip("torch")
    torch_program, ember_program = _both_programs("gaussian_process")
    rng = np.random.default_rng(0)
    x = np.linspace(0, 1, 12).reshape(-1, 1)
    y = np.sin(2 * np.pi * x[:, 0]) + 0.1 * rng.normal(size=12)

    def run(lib, program):
        model = program["RBFKernelGP"]().double()
        loss = model.negative_log_marginal_likelihood(lib.from_numpy(x), lib.from_numpy(y))
        loss.backward()
        mean, variance = model.predict(lib.from_numpy(x), lib.from_numpy(y), lib.from_numpy(x[::3] + 0.05))
        grads = [p.grad.item() for p in model.parameters()]
        return loss.item(), grads, mean.detach().numpy(), variance.detach().numpy()

    expected, got = run(torch, torch_program), run(ember, ember_program)
    assert got[0] == pytest.approx(expected[0], rel=1e-10)
    assert got[1] == pytest.approx(expected[1], rel=1e-8)
    np.testing.assert_allclose(got[2], expected[2], rtol=1e-9)
    np.testing.assert_allclose(got[3], expected[3], rtol=1e-9)


@pytest.mark.parity
def test_mixture_density_network_gives_torchs_likelihood_and_gradients():
    """MixtureSameFamily(Categorical(logits=), Normal) log_prob and its gradients, from the same weights."""
    torch = pytest.importorskip("torch")
    torch_program, ember_program = _both_programs("mixture_density_network")
    torch.manual_seed(0)
    torch_model, ember_model = torch_program["MDN"](), ember_program["MDN"]()
    _copy_weights(torch_model, ember_model)
    rng = np.random.default_rng(0)
    x, y = rng.uniform(size=(32, 1)).astype(np.float32), rng.uniform(size=32).astype(np.float32)

    def run(lib, model):
        loss = -model(lib.from_numpy(x)).log_prob(lib.from_numpy(y)).mean()
        loss.backward()
        return loss.item(), [p.grad.numpy() for p in model.parameters()]

    (expected_loss, expected_grads), (loss, grads) = run(torch, torch_model), run(ember, ember_model)
    assert loss == pytest.approx(expected_loss, rel=1e-5)
    for got, expected in zip(grads, expected_grads, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)


@pytest.mark.parity
def test_dcgan_step_gives_torchs_losses_and_gradients():
    """ConvTranspose2d, BatchNorm2d in training mode, in-place LeakyReLU and BCELoss, from the same weights."""
    torch = pytest.importorskip("torch")
    _torchvision_or_skip()
    torch_program, ember_program = _both_programs("dcgan")
    torch.manual_seed(0)
    torch_nets = [torch_program["Generator"](1, 8, 4, 1), torch_program["Discriminator"](1, 4, 1)]
    ember_nets = [ember_program["Generator"](1, 8, 4, 1), ember_program["Discriminator"](1, 4, 1)]
    for torch_net, ember_net in zip(torch_nets, ember_nets):
        torch_net.apply(torch_program["weights_init"])
        _copy_weights(torch_net, ember_net)
    noise = np.random.default_rng(0).normal(size=(6, 8, 1, 1)).astype(np.float32)

    def run(lib, nets):
        generator, discriminator = nets
        output = discriminator(generator(lib.from_numpy(noise)))
        loss = lib.nn.BCELoss()(output, lib.full((6,), 1.0))
        loss.backward()
        return loss.item(), [p.grad.numpy() for net in nets for p in net.parameters()]

    (expected_loss, expected_grads), (loss, grads) = run(torch, torch_nets), run(ember, ember_nets)
    assert loss == pytest.approx(expected_loss, rel=1e-5)
    for got, expected in zip(grads, expected_grads, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-6)


@pytest.mark.parity
def test_per_sample_gradients_match_torch_func():
    """vmap(grad(...)) over functional_call gives torch.func's per-sample gradients for the same weights."""
    torch = pytest.importorskip("torch")
    torch_program, ember_program = _both_programs("per_sample_grads")
    torch.manual_seed(0)
    torch_model, ember_model = torch_program["SimpleCNN"](), ember_program["SimpleCNN"]()
    _copy_weights(torch_model, ember_model)
    rng = np.random.default_rng(0)
    data, targets = rng.normal(size=(5, 1, 8, 8)).astype(np.float32), rng.integers(0, 4, 5)

    def per_sample_grads(lib, program, model):
        params = {k: v.detach() for k, v in model.named_parameters()}

        def compute_loss(params, sample, target):
            predictions = lib.func.functional_call(model, params, (sample.unsqueeze(0),))
            return program["loss_fn"](predictions, target.unsqueeze(0))

        grads = lib.func.vmap(lib.func.grad(compute_loss), in_dims=(None, 0, 0))(
            params, lib.from_numpy(data), lib.from_numpy(targets))
        return {name: g.numpy() for name, g in grads.items()}

    expected = per_sample_grads(torch, torch_program, torch_model)
    got = per_sample_grads(ember, ember_program, ember_model)
    assert got.keys() == expected.keys()
    for name in expected:
        assert got[name].shape == expected[name].shape == (5, *torch_model.get_parameter(name).shape)
        np.testing.assert_allclose(got[name], expected[name], rtol=1e-4, atol=1e-6, err_msg=name)


@pytest.mark.parity
@pytest.mark.parametrize("model_type", ["LSTM", "GRU", "RNN_TANH", "Transformer"])
def test_word_language_model_gives_torchs_loss_and_gradients(model_type):
    """RNNModel (tied weights) and the nn.Transformer subclass with its log(tril) mask, from the same weights."""
    torch = pytest.importorskip("torch")
    torch_program, ember_program = _both_programs("word_language_model")
    torch.manual_seed(0)
    ntokens, data = 12, np.random.default_rng(0).integers(0, 12, (7, 3))

    def build(program):
        if model_type == "Transformer":
            return program["TransformerModel"](ntokens, 16, 2, 32, 2, dropout=0.0)
        return program["RNNModel"](model_type, ntokens, 16, 16, 2, dropout=0.0, tie_weights=True)

    torch_model, ember_model = build(torch_program), build(ember_program)
    _copy_weights(torch_model, ember_model)

    def run(lib, model):
        model.eval()  # (and no dropout: the fast paths of torch's encoder layer are equal in value)
        inputs, targets = lib.from_numpy(data[:-1]), lib.from_numpy(data[1:]).reshape(-1)
        if model_type == "Transformer":
            output = model(inputs).view(-1, ntokens)
        else:
            output, _ = model(inputs, model.init_hidden(3))
        loss = lib.nn.NLLLoss()(output, targets)
        loss.backward()
        return loss.item(), [p.grad.numpy() for p in model.parameters()]

    (expected_loss, expected_grads), (loss, grads) = run(torch, torch_model), run(ember, ember_model)
    assert loss == pytest.approx(expected_loss, rel=1e-5)
    for got, expected in zip(grads, expected_grads, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-6)


@pytest.mark.parity
def test_siamese_network_gives_torchs_loss_and_gradients():
    """children()[:-1] surgery, BatchNorm2d in training mode, pooling and BCELoss, from the same weights."""
    torch = pytest.importorskip("torch")
    torch_program, ember_program = _both_programs("siamese_network")
    torch.manual_seed(0)
    torch_model, ember_model = torch_program["SiameseNetwork"](), ember_program["SiameseNetwork"]()
    _copy_weights(torch_model, ember_model)
    rng = np.random.default_rng(0)
    left, right = (rng.normal(size=(6, 1, 12, 12)).astype(np.float32) for _ in range(2))
    targets = rng.integers(0, 2, 6).astype(np.float32)

    def run(lib, model):
        outputs = model(lib.from_numpy(left), lib.from_numpy(right)).squeeze()
        loss = lib.nn.BCELoss()(outputs, lib.from_numpy(targets))
        loss.backward()
        return loss.item(), [p.grad.numpy() for p in model.parameters()], model.resnet[1].running_mean.numpy()

    expected, got = run(torch, torch_model), run(ember, ember_model)
    assert got[0] == pytest.approx(expected[0], rel=1e-5)
    for got_grad, expected_grad in zip(got[1], expected[1], strict=True):
        np.testing.assert_allclose(got_grad, expected_grad, rtol=1e-3, atol=1e-6)
    np.testing.assert_allclose(got[2], expected[2], rtol=1e-5, atol=1e-7)


@pytest.mark.parity
@pytest.mark.parametrize("model", ["dense", "message_passing"])
def test_gcn_gives_torchs_loss_and_gradients(model):
    """Dense normalised adjacency with mm, and index_add_ message passing, from the same weights."""
    torch = pytest.importorskip("torch")
    torch_program, ember_program = _both_programs("gcn")
    features, labels, edge_index = torch_program["planted_partition"](30, 3, 8, 0.2, 0.02,
                                                                      torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    name = "GCN" if model == "dense" else "MessagePassingGCN"
    torch_model, ember_model = torch_program[name](8, 16, 3, dropout_p=0.0), ember_program[name](8, 16, 3,
                                                                                                dropout_p=0.0)
    _copy_weights(torch_model, ember_model)

    def run(lib, program, net):
        x, y, edges = (lib.from_numpy(t.numpy()) for t in (features, labels, edge_index))
        graph = program["normalized_adjacency"](edges, 30) if model == "dense" else edges
        loss = lib.nn.functional.nll_loss(net(x, graph), y)
        loss.backward()
        return loss.item(), [p.grad.numpy() for p in net.parameters()]

    (expected_loss, expected_grads), (loss, grads) = run(torch, torch_program, torch_model), run(
        ember, ember_program, ember_model)
    assert loss == pytest.approx(expected_loss, rel=1e-5)
    for got, expected in zip(grads, expected_grads, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)


@pytest.mark.parity
def test_dqn_updates_like_torch_from_the_same_weights():
    """The DQN tutorial's update: gather-ed Q values, max(1).values of the target net over a boolean mask,
    SmoothL1Loss, clip_grad_value_, AdamW(amsgrad=True) and the soft update through state_dict() arithmetic."""
    torch = pytest.importorskip("torch")
    torch_program, ember_program = _both_programs("dqn")
    torch.manual_seed(0)
    nets = {lib: (program["DQN"](4, 2), program["DQN"](4, 2))
            for lib, program in ((torch, torch_program), (ember, ember_program))}
    for torch_net, ember_net in zip(nets[torch], nets[ember]):
        _copy_weights(torch_net, ember_net)
    rng = np.random.default_rng(0)
    batches = [(rng.normal(size=(16, 4)).astype(np.float32), rng.integers(0, 2, (16, 1)),
                rng.normal(size=(16, 4)).astype(np.float32), rng.random(16) < 0.8) for _ in range(5)]

    def run(lib):
        policy_net, target_net = nets[lib]
        optimizer = lib.optim.AdamW(policy_net.parameters(), lr=3e-2, amsgrad=True)
        losses = []
        for states, actions, next_states, non_final in batches:
            non_final_mask = lib.tensor(non_final.tolist(), dtype=lib.bool)
            state_action_values = policy_net(lib.from_numpy(states)).gather(1, lib.from_numpy(actions))
            next_state_values = lib.zeros(16)
            with lib.no_grad():
                next_state_values[non_final_mask] = target_net(lib.from_numpy(next_states)[non_final_mask]).max(1).values
            expected = (next_state_values * 0.99) + lib.ones(16)
            loss = lib.nn.SmoothL1Loss()(state_action_values, expected.unsqueeze(1))
            optimizer.zero_grad()
            loss.backward()
            lib.nn.utils.clip_grad_value_(policy_net.parameters(), 0.05)
            optimizer.step()
            target_state, policy_state = target_net.state_dict(), policy_net.state_dict()
            for key in policy_state:
                target_state[key] = policy_state[key] * 0.3 + target_state[key] * (1 - 0.3)
            target_net.load_state_dict(target_state)
            losses.append(loss.item())
        return losses, [p.detach().numpy().copy() for p in target_net.parameters()]

    (expected_losses, expected_weights), (losses, weights) = run(torch), run(ember)
    assert losses == pytest.approx(expected_losses, rel=1e-5)
    for got, expected in zip(weights, expected_weights, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)


@pytest.mark.parity
def test_knowledge_distillation_losses_and_gradients_match_torch():
    """The three distillation losses (softened KL written out, CosineEmbeddingLoss after avg_pool1d, a conv
    regressor with MSELoss) and the student's gradients, from the same teacher and student weights."""
    torch = pytest.importorskip("torch")
    _torchvision_or_skip()
    torch_program, ember_program = _both_programs("knowledge_distillation")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(4, 3, 32, 32)).astype(np.float32), rng.integers(0, 10, 4)
    pairs = [("ModifiedDeepNNCosine", "ModifiedLightNNCosine"), ("ModifiedDeepNNRegressor", "ModifiedLightNNRegressor"),
             ("DeepNN", "LightNN")]
    models = {}
    for names in pairs:
        torch.manual_seed(0)
        built = {lib: [program[name]().eval() for name in names]
                 for lib, program in ((torch, torch_program), (ember, ember_program))}
        for torch_model, ember_model in zip(built[torch], built[ember]):
            _copy_weights(torch_model, ember_model)
        models[names[1]] = built

    def run(lib, built):
        inputs, labels = lib.from_numpy(x), lib.from_numpy(y)
        results = []
        for name, (teacher, student) in ((name, built[name][lib]) for name in built):
            with lib.no_grad():
                teacher_out = teacher(inputs)
            student_out = student(inputs)
            if name == "LightNN":
                T = 2
                soft_targets = lib.nn.functional.softmax(teacher_out / T, dim=-1)
                soft_prob = lib.nn.functional.log_softmax(student_out / T, dim=-1)
                loss = lib.sum(soft_targets * (soft_targets.log() - soft_prob)) / soft_prob.size()[0] * (T**2)
            elif name == "ModifiedLightNNCosine":
                loss = lib.nn.CosineEmbeddingLoss()(student_out[1], teacher_out[1], target=lib.ones(4))
            else:
                loss = lib.nn.MSELoss()(student_out[1], teacher_out[1])
            loss = loss + lib.nn.CrossEntropyLoss()(student_out if name == "LightNN" else student_out[0], labels)
            loss.backward()
            results.append((loss.item(), [p.grad.numpy() for p in student.parameters()]))
        return results

    for (loss, grads), (expected_loss, expected_grads) in zip(run(ember, models), run(torch, models), strict=True):
        assert loss == pytest.approx(expected_loss, rel=1e-5)
        for got, expected in zip(grads, expected_grads, strict=True):
            np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-6)


@pytest.mark.parity
def test_translation_transformer_gives_torchs_loss_and_gradients():
    """nn.Transformer (sequence-first) with a causal float mask, a boolean source mask and key-padding masks,
    scaled embeddings and the positional buffer: torch's loss and gradients from the same weights."""
    torch = pytest.importorskip("torch")
    torch_program, ember_program = _both_programs("translation_transformer")
    torch.manual_seed(0)
    models = [program["Seq2SeqTransformer"](2, 2, 16, 4, 12, 11, 32).eval() for program in (torch_program, ember_program)]
    _copy_weights(*models)
    rng = np.random.default_rng(0)
    src, tgt = rng.integers(4, 12, (7, 3)), rng.integers(4, 11, (6, 3))
    src[5:, 0], tgt[4:, 1] = 1, 1  # padding (PAD_IDX)

    def run(lib, program, model):
        s, t = lib.from_numpy(src), lib.from_numpy(tgt)
        tgt_input = t[:-1, :]
        masks = program["create_mask"](s, tgt_input)
        logits = model(s, tgt_input, *masks, masks[2])
        loss = lib.nn.CrossEntropyLoss(ignore_index=1)(logits.reshape(-1, logits.shape[-1]), t[1:, :].reshape(-1))
        loss.backward()
        return loss.item(), [p.grad.numpy() for p in model.parameters()]

    (expected_loss, expected_grads) = run(torch, torch_program, models[0])
    loss, grads = run(ember, ember_program, models[1])
    assert loss == pytest.approx(expected_loss, rel=1e-5)
    for got, expected in zip(grads, expected_grads, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-6)
