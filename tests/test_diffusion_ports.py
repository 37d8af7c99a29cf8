"""A denoising-diffusion (DDPM) training program, as researchers write it, runs on Ember after renaming alone.

tests/diffusion_ports/ holds the Hugging Face blog's "The Annotated Diffusion Model" notebook (after lucidrains'
denoising-diffusion-pytorch) as a program: its U-Net with weight-standardized convs, GroupNorm, SiLU, the time
embedding's scale / shift, linear and full attention written with einsum, pixel-unshuffle downsampling and nearest
upsampling; the beta schedules; ``extract`` / ``q_sample`` / ``p_losses``; Algorithm 2's sampling under
``@torch.no_grad()``; Adam. The Ember test renames it (tests/test_ports.py's ``rename``) and runs it; where torch
is installed the original runs too (test_diffusion_ports_torch.py), and from torch's initial weights (written by
torch.save, read by ember.load) the Ember model gives torch's loss and gradients for one batch with fixed noise
and time steps, and the same losses over a few Adam steps.
"""

from __future__ import annotations

from pathlib import Path

import ember
import numpy as np
import pytest

from tests.test_ports import assert_trains
from tests.test_ports import load_program as load_ported

DIFFUSION_PORTS = Path(__file__).resolve().parent / "diffusion_ports"


def load_program(name: str, ported: bool) -> dict:
    """tests/diffusion_ports/NAME.py's namespace (renamed to Ember when ``ported``), ``main`` not run."""
    if not ported:
        from tests.vision._torchvision import import_torchvision

        import_torchvision()  # (skips when it cannot load)
    return load_ported(name, ported, DIFFUSION_PORTS)


def check_samples(tmp_path: Path, count: int, image_size: int) -> None:
    from PIL import Image

    with Image.open(tmp_path / "results" / "sample-1.png") as image:  # (save_image's grid: 2-pixel padding)
        assert image.size == (count * (image_size + 2) + 2, image_size + 4)


# case -> (program, arguments, window and factor for assert_trains)
CASES = {
    "annotated_diffusion": ("annotated_diffusion", [], 4, 0.8),
    "annotated_diffusion[cosine,l2]": ("annotated_diffusion", ["--schedule", "cosine", "--loss-type", "l2",
                                                               "--epochs", "2"], 3, 0.9),
    "annotated_diffusion[sigmoid,l2,28x28]": ("annotated_diffusion", ["--schedule", "sigmoid", "--loss-type", "l2",
                                                                      "--image-size", "28", "--epochs", "2",
                                                                      "--train-size", "64", "--timesteps", "20"],
                                              2, 0.95),
}
# Programs that run on torch but not yet on Ember, with what they wait for. They join CASES when it lands.
PENDING: dict[str, str] = {}


def test_every_program_is_run_or_waits_for_a_named_feature():
    programs = {path.stem for path in DIFFUSION_PORTS.glob("*.py")}
    run = {name for name, *_ in CASES.values()}
    assert programs == run | set(PENDING), programs ^ (run | set(PENDING))
    assert not run & set(PENDING)


def _run_case(case, ported, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    name, argv, window, factor = CASES[case]
    losses = load_program(name, ported)["main"](list(argv))
    assert_trains(losses, window, factor)
    image_size = int(argv[argv.index("--image-size") + 1]) if "--image-size" in argv else 16
    check_samples(tmp_path, 2, image_size)


@pytest.mark.parametrize("case", sorted(CASES))
def test_ported_program_trains(case, tmp_path, monkeypatch):
    _run_case(case, True, tmp_path, monkeypatch)


# -- against torch, from torch's weights ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def programs():
    torch = pytest.importorskip("torch")
    return {torch: load_program("annotated_diffusion", ported=False), ember: load_program("annotated_diffusion",
                                                                                           ported=True)}


@pytest.mark.parity
@pytest.mark.parametrize("schedule", ["linear", "cosine", "quadratic", "sigmoid"])
def test_beta_schedules_and_posterior_are_torchs(programs, schedule):
    """linspace / cos / clip / sigmoid, cumprod(axis=0), F.pad of a 1-D tensor, and extract's gather."""
    values = {}
    for lib, program in programs.items():
        program["define_schedule"](schedule, 40)
        t = lib.tensor([0, 7, 39])
        values[lib] = [program[name].numpy() for name in ("betas", "alphas_cumprod_prev", "posterior_variance")]
        values[lib].append(program["extract"](program["sqrt_one_minus_alphas_cumprod"], t, (3, 1, 8, 8)).numpy())
    for ours, theirs in zip(*values.values(), strict=True):
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
        # (sqrt(1 - alphas_cumprod) at t = 7 loses digits to cancellation: float32 cumprod rounding shows)
        np.testing.assert_allclose(ours, theirs, rtol=5e-5, atol=1e-7)
    assert values[ember][-1].shape == (3, 1, 1, 1)


def _models(programs, tmp_path, image_size=16):
    torch = next(lib for lib in programs if lib is not ember)
    models = {}
    for lib, program in programs.items():
        program["define_schedule"]("linear", 50)
        lib.manual_seed(0)
        models[lib] = program["Unet"](dim=16, channels=1, dim_mults=(1, 2))
    torch.save(models[torch].state_dict(), tmp_path / "init.pt")
    models[ember].load_state_dict(ember.load(tmp_path / "init.pt", weights_only=True))
    return models


@pytest.mark.parity
@pytest.mark.parametrize("loss_type", ["huber", "l2", "l1"])
def test_loss_and_gradients_are_torchs_from_torchs_weights(programs, loss_type, tmp_path):
    """One batch with fixed noise and time steps: p_losses and every parameter's gradient equal torch's."""
    models = _models(programs, tmp_path)
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (4, 1, 16, 16)).astype(np.float32)
    noise = rng.normal(size=x.shape).astype(np.float32)
    t = np.array([0, 13, 31, 49])
    results = {}
    for lib, program in programs.items():
        model = models[lib]
        loss = program["p_losses"](model, lib.from_numpy(x), lib.from_numpy(t), noise=lib.from_numpy(noise),
                                   loss_type=loss_type)
        loss.backward()
        results[lib] = loss.item(), {name: p.grad.numpy() for name, p in model.named_parameters()}
    (expected_loss, expected), (loss, got) = results.values()
    assert loss == pytest.approx(expected_loss, rel=1e-5)
    assert got.keys() == expected.keys() and len(got) == 169
    for name in expected:
        np.testing.assert_allclose(got[name], expected[name], rtol=1e-4, atol=1e-6, err_msg=name)


@pytest.mark.parity
def test_adam_steps_and_the_last_sampling_step_track_torchs(programs, tmp_path):
    """Five Adam steps on fixed batches, noise and time steps give torch's losses; then p_sample at t_index 0
    (the model's mean alone, no noise) under no_grad gives torch's image."""
    models = _models(programs, tmp_path)
    rng = np.random.default_rng(1)
    batches = [(rng.uniform(-1, 1, (4, 1, 16, 16)).astype(np.float32), rng.normal(size=(4, 1, 16, 16)).astype(
        np.float32), rng.integers(0, 50, 4)) for _ in range(5)]
    curves, images = {}, {}
    for lib, program in programs.items():
        model = models[lib]
        optimizer = lib.optim.Adam(model.parameters(), lr=1e-3)
        curves[lib] = []
        for x, noise, t in batches:
            optimizer.zero_grad()
            loss = program["p_losses"](model, lib.from_numpy(x), lib.from_numpy(t), noise=lib.from_numpy(noise),
                                       loss_type="huber")
            loss.backward()
            optimizer.step()
            curves[lib].append(loss.item())
        image = program["p_sample"](model, lib.from_numpy(batches[0][0]), lib.zeros(4, dtype=lib.long), 0)
        assert not image.requires_grad
        images[lib] = image.numpy()
    assert curves[ember] == pytest.approx(curves[next(iter(curves))], rel=1e-4)
    np.testing.assert_allclose(images[ember], next(iter(images.values())), rtol=1e-4, atol=1e-5)
