"""Optimizers on complex parameters (updated as torch's, through ``view_as_real``) and on meta parameters."""

from __future__ import annotations

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

START = np.array([[1.0 + 2.0j, -0.5 + 0.25j, 0.0 - 1.5j], [2.0 - 0.5j, -1.0 - 1.0j, 0.75 + 0.0j]])
TARGET = np.array([[0.5, -1.0], [1.0, 0.25], [-2.0, 0.5]])
WEIGHTS = np.array([[1.0, 3.0], [0.5, 2.0], [4.0, 1.5]])

CONFIGS = [
    ("Adam", {"lr": 0.1}),
    ("Adam", {"lr": 0.1, "amsgrad": True, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.1, "maximize": True}),
    ("AdamW", {"lr": 0.1, "weight_decay": 0.1}),
    ("RAdam", {"lr": 0.1}),
    ("RAdam", {"lr": 0.1, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("NAdam", {"lr": 0.1, "weight_decay": 0.1}),
    ("Adamax", {"lr": 0.1, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("RMSprop", {"lr": 0.1}),
    ("RMSprop", {"lr": 0.1, "momentum": 0.9, "centered": True, "weight_decay": 0.1}),
    ("Adagrad", {"lr": 0.1}),
    ("Adagrad", {"lr": 0.1, "initial_accumulator_value": 0.5, "lr_decay": 0.1}),
    ("Adadelta", {"lr": 1.0, "weight_decay": 0.1}),
    ("ASGD", {"lr": 0.1, "t0": 1, "weight_decay": 0.1}),
    ("Rprop", {"lr": 0.1}),
]


def _loss(lib, z):
    # A real loss that treats the real and imaginary parts differently (so a complex-as-one-number update
    # and a real-and-imaginary-apart update differ).
    r = lib.view_as_real(z)
    return ((r - lib.tensor(TARGET)) ** 2 * lib.tensor(WEIGHTS)).sum() + (r[..., 0] * r[..., 1]).sum()


def _run(lib, name, kwargs, steps=3):
    z = lib.tensor(START, requires_grad=True)
    opt = getattr(lib.optim, name)([z], **kwargs)
    for _ in range(steps):
        opt.zero_grad()
        _loss(lib, z).backward()
        opt.step()
    return z, opt


@pytest.mark.parity
@pytest.mark.parametrize("name, kwargs", CONFIGS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CONFIGS)])
def test_complex_parameter_steps_as_torch(name, kwargs):
    z, opt = _run(ember, name, kwargs)
    tz, topt = _run(torch, name, kwargs)
    assert z.dtype == ember.complex128
    np.testing.assert_allclose(z.detach().numpy(), tz.detach().numpy(), rtol=1e-6, atol=1e-8)
    # The state has torch's keys and, for per-element state, the parameter's complex dtype and shape.
    state, tstate = opt.state[z], topt.state[tz]
    assert list(state) == list(tstate)
    for key, value in tstate.items():
        if isinstance(value, torch.Tensor) and value.ndim > 0:
            assert state[key].dtype == ember.complex128, key
            np.testing.assert_allclose(state[key].numpy(), value.numpy(), rtol=1e-6, atol=1e-8, err_msg=key)


@pytest.mark.parity
def test_complex_parameter_lbfgs_as_torch():
    def run(lib):
        z = lib.tensor(START, requires_grad=True)
        opt = lib.optim.LBFGS([z], lr=0.5, max_iter=5, history_size=3)

        def closure():
            opt.zero_grad()
            loss = _loss(lib, z)
            loss.backward()
            return loss

        for _ in range(3):
            opt.step(closure)
        return z

    np.testing.assert_allclose(run(ember).detach().numpy(), run(torch).detach().numpy(), rtol=1e-6, atol=1e-8)


@pytest.mark.parity
def test_complex_parameter_adafactor_raises_as_torch():
    for lib in (torch, ember):
        z = lib.tensor(START, requires_grad=True)
        opt = lib.optim.Adafactor([z])
        _loss(lib, z).backward()
        with pytest.raises(RuntimeError, match="Adafactor does not support complex parameters"):
            opt.step()


META_CONFIGS = [(name, kwargs) for name, kwargs in CONFIGS if name != "ASGD"] + [
    ("Adam", {"lr": 0.1, "amsgrad": True, "weight_decay": 0.1}),
    ("Adamax", {"lr": 0.1}),
]


@pytest.mark.parity
@pytest.mark.parametrize("name, kwargs", META_CONFIGS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(META_CONFIGS)])
def test_meta_parameter_step_makes_meta_state_as_torch(name, kwargs):
    def run(lib):
        w = lib.zeros(4, 3, device="meta", requires_grad=True)
        (w * 2).sum().backward()
        opt = getattr(lib.optim, name)([w], **kwargs)
        opt.step()
        opt.step()
        return w, opt

    w, opt = run(ember)
    tw, topt = run(torch)
    assert w.is_meta and tuple(w.shape) == (4, 3)
    state, tstate = opt.state[w], topt.state[tw]
    assert list(state) == list(tstate)
    for key, value in tstate.items():
        assert state[key].device.type == value.device.type, key
        assert tuple(state[key].shape) == tuple(value.shape), key
        if value.device.type == "cpu":  # step counters and other scalars still count, as in torch
            assert state[key].item() == pytest.approx(value.item(), rel=1e-6), key
    opt.zero_grad()
    assert w.grad is None


def test_meta_parameter_zero_grad_in_place_keeps_a_meta_gradient():
    w = ember.zeros(4, device="meta", requires_grad=True)
    (w * 2).sum().backward()
    opt = ember.optim.Adam([w])
    opt.step()
    opt.zero_grad(set_to_none=False)
    assert w.grad is not None and w.grad.is_meta and tuple(w.grad.shape) == (4,)


def test_meta_parameters_beside_cpu_parameters_step_only_the_cpu_ones():
    w = ember.zeros(3, device="meta", requires_grad=True)
    v = ember.tensor([1.0, 2.0], requires_grad=True)
    opt = ember.optim.Adam([w, v], lr=0.1)
    (w * 2).sum().backward()
    (v * v).sum().backward()
    opt.step()
    assert w.is_meta
    np.testing.assert_allclose(v.detach().numpy(), [0.9, 1.9], rtol=1e-6)


@pytest.mark.parity
@pytest.mark.parametrize("name", ["Adam", "SGD", "Rprop", "Adagrad", "RMSprop"])
def test_complex_meta_parameter_gets_complex_meta_state_as_torch(name):
    def run(lib):
        z = lib.zeros(3, dtype=lib.complex64, device="meta", requires_grad=True)
        z.grad = lib.zeros(3, dtype=lib.complex64, device="meta")
        opt = getattr(lib.optim, name)([z], lr=0.1, **({"momentum": 0.9} if name == "SGD" else {}))
        opt.step()
        opt.step()
        return {k: (v.device.type, str(v.dtype).split(".")[-1], tuple(v.shape)) for k, v in opt.state[z].items()}

    assert run(ember) == run(torch)
