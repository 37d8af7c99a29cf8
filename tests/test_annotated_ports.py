"""Two programs as researchers write them run on Ember after renaming alone, and track torch from torch's weights.

tests/annotated_ports/ holds harvardnlp's "The Annotated Transformer" (v2022: the encoder-decoder with its own
LayerNorm, ``clones`` by deepcopy, masked multi-head attention, the Noam schedule through ``LambdaLR``, label
smoothing with ``KLDivLoss`` / ``scatter_`` / ``index_fill_``, ``run_epoch`` with accumulation, greedy decoding,
the copy task, and Part 3's ``collate_batch`` through a ``DataLoader``) and physics-informed networks for
Burgers' equation (the PyTorch port of Raissi's PINNs: u_t, u_x, u_xx by ``torch.autograd.grad(...,
create_graph=True)``, L-BFGS with the strong-Wolfe line search and a closure, Adam before it). The Ember tests
rename them (tests/test_ports.py's ``rename``) and run them; where torch is installed the originals run too, and
from torch's initial weights (torch.save, read by ember.load) Ember gives torch's losses and gradients, with
dropout 0 where a program would draw random numbers.
"""

from __future__ import annotations

from pathlib import Path

import ember
import numpy as np
import pytest

from tests.test_ports import assert_trains
from tests.test_ports import load_program as load_ported

ANNOTATED_PORTS = Path(__file__).resolve().parent / "annotated_ports"


def load_program(name: str, ported: bool) -> dict:
    """tests/annotated_ports/NAME.py's namespace (renamed to Ember when ``ported``), ``main`` not run."""
    return load_ported(name, ported, ANNOTATED_PORTS)


# case -> (program, arguments, window and factor for assert_trains)
CASES = {
    "annotated_transformer[copy]": ("annotated_transformer", ["--epochs", "5", "--nbatches", "4"], 2, 0.95),
    "annotated_transformer[toy_translation]": ("annotated_transformer", ["--example", "toy_translation",
                                                                         "--accum-iter", "2"], 1, 0.9),
    "pinn_burgers[inference]": ("pinn_burgers", ["--lbfgs-iters", "25"], 5, 0.7),
    "pinn_burgers[identification]": ("pinn_burgers", ["--problem", "identification", "--adam-iters", "10",
                                                      "--lbfgs-iters", "25", "--noise", "0.01"], 5, 0.7),
}
# Parts of the programs that run on torch but not here, with what they wait for. A case joins CASES when it lands.
PENDING: dict[str, str] = {
    "annotated_transformer[multi30k]": "Part 3's data: spacy's de / en models and torchtext's Multi30k download "
                                       "(neither installed, no network in tests); collate_batch runs on a "
                                       "synthetic set instead",
    "annotated_transformer[distributed]": "train_worker's multi-GPU branch: torch.cuda.set_device, mp.spawn over "
                                          "NCCL, GPUtil (GPU-only; Ember's DDP runs under mpiexec instead)",
}


def test_every_program_is_run_or_waits_for_a_named_feature():
    programs = {path.stem for path in ANNOTATED_PORTS.glob("*.py") if not path.stem.startswith("_")}  # (_time_steps)
    cases = {name for name, *_ in CASES.values()} | {case.split("[")[0] for case in PENDING}
    assert programs == cases, programs ^ cases
    assert not set(CASES) & set(PENDING)


def assert_line_search_trains(losses: list[float], window: int, factor: float) -> None:
    """assert_trains for a program that records every closure call of L-BFGS: the strong-Wolfe line search
    tries points that it then rejects, so the best of the last ``window`` losses is what must have gone down."""
    assert len(losses) >= 2 * window and all(np.isfinite(losses)), losses
    first, last = float(np.mean(losses[:window])), min(losses[-window:])
    assert last < factor * first, f"loss did not go down: first {first:.4g}, best of the last {last:.4g} ({losses})"


def _run_case(case, ported, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    name, argv, window, factor = CASES[case]
    losses = load_program(name, ported)["main"](list(argv))
    (assert_line_search_trains if name == "pinn_burgers" else assert_trains)(losses, window, factor)
    return losses


@pytest.mark.parametrize("case", sorted(CASES))
def test_ported_program_trains(case, tmp_path, monkeypatch):
    _run_case(case, True, tmp_path, monkeypatch)
    if case == "annotated_transformer[toy_translation]":  # (the notebook's torch.save of the final state_dict)
        assert "generator.proj.weight" in ember.load(tmp_path / "toy_translation_final.pt")


@pytest.mark.parity
@pytest.mark.parametrize("case", sorted(CASES))
def test_torch_original_trains(case, tmp_path, monkeypatch):
    pytest.importorskip("torch")
    _run_case(case, False, tmp_path, monkeypatch)


# -- The Annotated Transformer against torch, from torch's weights --------------------------------------------


@pytest.fixture(scope="module")
def transformers():
    torch = pytest.importorskip("torch")
    return {torch: load_program("annotated_transformer", ported=False),
            ember: load_program("annotated_transformer", ported=True)}


def _torch_of(programs):
    return next(lib for lib in programs if lib is not ember)


def _transformer_models(programs, tmp_path, vocab=11):
    torch = _torch_of(programs)
    models = {}
    for lib, program in programs.items():
        lib.manual_seed(0)
        models[lib] = program["make_model"](vocab, vocab, N=2, d_model=32, d_ff=64, h=4, dropout=0.0)
        for module in models[lib].modules():  # (make_model leaves the attention's dropout at 0.1: off too)
            if isinstance(module, lib.nn.Dropout):
                module.p = 0.0
    torch.save(models[torch].state_dict(), tmp_path / "init.pt")
    models[ember].load_state_dict(ember.load(tmp_path / "init.pt", weights_only=True))
    return models


def _copy_batches(count, seed, pad_tail=False):
    """The copy task's batches (data_gen's: tokens 1..10, the first 1), as arrays; ``pad_tail`` pads (0) the ends
    of some rows so that the masks and label smoothing's padding rows matter."""
    rng = np.random.default_rng(seed)
    batches = []
    for _ in range(count):
        data = rng.integers(1, 11, (6, 10))
        data[:, 0] = 1
        if pad_tail:
            data[1, 7:] = 0
            data[4, 5:] = 0
        batches.append(data)
    return batches


@pytest.mark.parity
def test_transformer_loss_and_gradients_are_torchs(transformers, tmp_path):
    """One padded batch through Batch's masks, the model and SimpleLossCompute with label smoothing 0.1: the
    loss and every parameter's gradient are torch's."""
    models = _transformer_models(transformers, tmp_path)
    (data,) = _copy_batches(1, 0, pad_tail=True)
    results = {}
    for lib, program in transformers.items():
        model = models[lib]
        batch = program["Batch"](lib.from_numpy(data), lib.from_numpy(data), 0)
        criterion = program["LabelSmoothing"](size=11, padding_idx=0, smoothing=0.1)
        out = model.forward(batch.src, batch.tgt, batch.src_mask, batch.tgt_mask)
        loss, loss_node = program["SimpleLossCompute"](model.generator, criterion)(out, batch.tgt_y, batch.ntokens)
        loss_node.backward()
        results[lib] = (float(loss), int(batch.ntokens), criterion.true_dist.numpy(),
                        {name: p.grad.numpy() for name, p in model.named_parameters()})
    (loss_t, ntokens_t, dist_t, grads_t), (loss_e, ntokens_e, dist_e, grads_e) = results.values()
    assert ntokens_e == ntokens_t == 6 * 9 - 3 - 5
    np.testing.assert_allclose(dist_e, dist_t, rtol=1e-6)
    assert loss_e == pytest.approx(loss_t, rel=1e-5)
    assert grads_e.keys() == grads_t.keys()
    for name in grads_t:
        np.testing.assert_allclose(grads_e[name], grads_t[name], rtol=1e-4, atol=1e-6, err_msg=name)


@pytest.mark.parity
def test_transformer_run_epoch_with_the_noam_schedule_tracks_torch(transformers, tmp_path):
    """Three epochs of run_epoch (Adam, LambdaLR(rate), accum_iter 2) over fixed batches give torch's epoch
    losses, learning rates and TrainState; then greedy_decode gives torch's tokens."""
    models = _transformer_models(transformers, tmp_path)
    epochs = [_copy_batches(3, seed, pad_tail=seed == 1) for seed in range(3)]
    curves, rates, decoded, states = {}, {}, {}, {}
    for lib, program in transformers.items():
        model = models[lib]
        criterion = program["LabelSmoothing"](size=11, padding_idx=0, smoothing=0.1)
        optimizer = lib.optim.Adam(model.parameters(), lr=0.5, betas=(0.9, 0.98), eps=1e-9)
        scheduler = lib.optim.lr_scheduler.LambdaLR(
            optimizer=optimizer, lr_lambda=lambda step, program=program: program["rate"](step, 32, 1.0, 4))
        train_state = program["TrainState"]()
        curves[lib], rates[lib] = [], []
        for batches in epochs:
            model.train()
            loss, train_state = program["run_epoch"](
                (program["Batch"](lib.from_numpy(b), lib.from_numpy(b), 0) for b in batches), model,
                program["SimpleLossCompute"](model.generator, criterion), optimizer, scheduler, mode="train",
                accum_iter=2, train_state=train_state)
            curves[lib].append(float(loss))
            rates[lib].append(optimizer.param_groups[0]["lr"])
        states[lib] = (train_state.step, train_state.accum_step, train_state.samples, int(train_state.tokens))
        model.eval()
        src = lib.LongTensor([[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]])
        decoded[lib] = program["greedy_decode"](model, src, lib.ones(1, 1, 10), max_len=10, start_symbol=0).tolist()
    torch = _torch_of(transformers)
    assert curves[ember] == pytest.approx(curves[torch], rel=1e-4)
    assert rates[ember] == pytest.approx(rates[torch], rel=1e-12)
    assert states[ember] == states[torch] == (9, 6, 54, 9 * 54 - 3 * 8)
    assert decoded[ember] == decoded[torch]


@pytest.mark.parity
def test_transformer_pieces_are_torchs(transformers):
    """The notebook's small examples: subsequent_mask, the positional encoding buffer, label smoothing's target
    distribution, its penalisation curve and the learning-rate schedules."""
    values = {}
    for lib, program in transformers.items():
        pe = program["PositionalEncoding"](20, 0, max_len=100)
        values[lib] = [program["subsequent_mask"](5).numpy(), pe.pe.numpy(),
                       pe(lib.zeros(1, 100, 20)).numpy(), program["example_label_smoothing"]().numpy(),
                       np.array([float(v) for v in program["penalization_visualization"]()]),
                       program["example_learning_schedule"](steps=60).numpy()]
        assert not pe.pe.requires_grad and "pe" in dict(pe.named_buffers())
    torch = _torch_of(transformers)
    for ours, theirs in zip(values[ember], values[torch], strict=True):
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=2e-5, atol=1e-6)


# -- PINNs against torch, from torch's weights ----------------------------------------------------------------


@pytest.fixture(scope="module")
def pinns():
    torch = pytest.importorskip("torch")
    return {torch: load_program("pinn_burgers", ported=False), ember: load_program("pinn_burgers", ported=True)}


def _pinn_models(programs, tmp_path, problem):
    torch = _torch_of(programs)
    models = {}
    for lib, program in programs.items():
        np.random.seed(0)  # (the same collocation points and data for both)
        lib.manual_seed(0)
        layers = [2, 16, 16, 16, 1]
        if problem == "inference":
            X_u, u, X_f, *_, lb, ub = program["inference_data"](str(tmp_path / "burgers.mat"), 30, 120)
            models[lib] = program["PhysicsInformedNN"](X_u, u, X_f, layers, lb, ub, 0.01 / np.pi, max_iter=12)
        else:
            X_u, u, *_, lb, ub = program["identification_data"](str(tmp_path / "burgers.mat"), 60, 0.01)
            models[lib] = program["PhysicsInformedNNIdentification"](X_u, u, layers, lb, ub, max_iter=12)
    torch.save(models[torch].dnn.state_dict(), tmp_path / "dnn.pt")
    models[ember].dnn.load_state_dict(ember.load(tmp_path / "dnn.pt", weights_only=True))
    return models


@pytest.mark.parity
def test_pinn_residual_and_its_parameter_gradients_are_torchs(pinns, tmp_path):
    """net_f's u_t + u u_x - nu u_xx (three autograd.grad calls with create_graph) and the gradient of the
    loss through them (a third-order path) equal torch's."""
    models = _pinn_models(pinns, tmp_path, "inference")
    results = {}
    for lib, model in models.items():
        f = model.net_f(model.x_f, model.t_f)
        loss = model.loss_func()
        results[lib] = (f.detach().numpy(), loss.item(), {n: p.grad.numpy() for n, p in model.dnn.named_parameters()})
    (f_t, loss_t, grads_t), (f_e, loss_e, grads_e) = results.values()
    np.testing.assert_allclose(f_e, f_t, rtol=1e-4, atol=1e-6)
    assert loss_e == pytest.approx(loss_t, rel=1e-5)
    for name in grads_t:
        np.testing.assert_allclose(grads_e[name], grads_t[name], rtol=1e-4, atol=1e-6, err_msg=name)


@pytest.mark.parity
@pytest.mark.parametrize("problem", ["inference", "identification"])
def test_pinn_training_tracks_torch(pinns, tmp_path, problem):
    """L-BFGS with the strong-Wolfe line search (after 8 Adam steps when identifying lambda_1 and nu): every
    closure's loss is torch's, and so are the final weights."""
    models = _pinn_models(pinns, tmp_path, problem)
    for model in models.values():
        model.train() if problem == "inference" else model.train(8)
    torch = _torch_of(pinns)
    assert len(models[ember].losses) == len(models[torch].losses) >= 12
    np.testing.assert_allclose(models[ember].losses, models[torch].losses, rtol=1e-4)
    weights = {lib: {n: p.detach().numpy() for n, p in model.dnn.named_parameters()} for lib, model in models.items()}
    for name, expected in weights[torch].items():
        np.testing.assert_allclose(weights[ember][name], expected, rtol=1e-4, atol=1e-5, err_msg=name)
