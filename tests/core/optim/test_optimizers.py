"""Optimizers: parity with torch.optim after 50 steps (float64), groups, state_dict, edge cases."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember import optim

# (name, kwargs): every option of every optimizer is exercised at least once.
CASES = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.1, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "maximize": True}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1, "amsgrad": True}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True, "maximize": True}),
    ("AdamW", {"lr": 0.01}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.2, "amsgrad": True, "maximize": True}),
    ("Adadelta", {}),
    ("Adadelta", {"lr": 0.5, "rho": 0.8, "eps": 1e-5, "weight_decay": 0.1, "maximize": True}),
    ("Adafactor", {}),
    ("Adafactor", {"lr": 0.05, "beta2_decay": -0.5, "eps": (1e-20, 1e-2), "d": 2.0, "weight_decay": 0.1, "maximize": True}),
    ("Adagrad", {}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.1, "initial_accumulator_value": 0.5, "eps": 1e-8,
                     "maximize": True}),
    ("Adamax", {}),
    ("Adamax", {"lr": 0.01, "betas": (0.8, 0.9), "eps": 1e-6, "weight_decay": 0.1, "maximize": True}),
    ("ASGD", {}),
    ("ASGD", {"lr": 0.05, "lambd": 1e-3, "alpha": 0.5, "t0": 10, "weight_decay": 0.1, "maximize": True}),
    ("NAdam", {}),
    ("NAdam", {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1, "momentum_decay": 1e-2, "maximize": True}),
    ("NAdam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("RAdam", {}),
    ("RAdam", {"lr": 0.01, "betas": (0.8, 0.9), "eps": 1e-6, "weight_decay": 0.1, "maximize": True}),
    ("RAdam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("RMSprop", {}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "eps": 1e-6, "weight_decay": 0.1, "momentum": 0.5, "centered": True}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9, "maximize": True}),
    ("Rprop", {}),
    ("Rprop", {"lr": 0.05, "etas": (0.3, 1.5), "step_sizes": (1e-3, 0.2), "maximize": True}),
]

SHAPES = [(3, 4), (5,), (2, 3, 2)]


def _run_ember(name, kwargs, init, noise):
    params = [ember.tensor(a.copy(), dtype=ember.float64, requires_grad=True) for a in init]
    opt = getattr(optim, name)(params, **kwargs)
    for step_noise in noise:
        for p, n in zip(params, step_noise):
            p.grad = ember.tensor(n + np.tanh(2 * p._data), dtype=ember.float64)
        opt.step()
    return [p._data for p in params], opt


def _run_torch(torch, name, kwargs, init, noise):
    params = [torch.tensor(a.copy(), dtype=torch.float64, requires_grad=True) for a in init]
    extra = {} if name == "Adafactor" else {"foreach": False}
    opt = getattr(torch.optim, name)(params, **kwargs, **extra)
    for step_noise in noise:
        for p, n in zip(params, step_noise):
            d = p.detach().numpy()
            p.grad = torch.tensor(n + np.tanh(2 * d), dtype=torch.float64)
        opt.step()
    return [p.detach().numpy() for p in params], opt


@pytest.mark.parity
@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_matches_torch_after_50_steps(name, kwargs):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    init = [rng.standard_normal(s) for s in SHAPES]
    noise = [[rng.standard_normal(s) for s in SHAPES] for _ in range(50)]
    ours, opt = _run_ember(name, kwargs, init, noise)
    theirs, torch_opt = _run_torch(torch, name, kwargs, init, noise)
    for a, b, start in zip(ours, theirs, init):
        assert np.isfinite(a).all() and not np.allclose(a, start)  # the parameters really moved
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)
    # the optimizer state (moments, ASGD's average, step sizes, ...) matches too, key for key
    ours_sd, torch_sd = opt.state_dict()["state"], torch_opt.state_dict()["state"]
    assert list(ours_sd) == list(torch_sd)
    for ours_state, torch_state in zip(ours_sd.values(), torch_sd.values()):
        assert set(ours_state) == set(torch_state)
        for key, value in torch_state.items():
            if isinstance(value, torch.Tensor):
                np.testing.assert_allclose(np.asarray(ours_state[key]._data, dtype=np.float64),
                                           value.double().numpy(), rtol=1e-9, atol=1e-11, err_msg=key)


def _rosenbrock_closure(params, opt, backend):
    def closure():
        opt.zero_grad()
        x, y = params
        loss = ((1 - x) ** 2 + 100 * (y - x * x) ** 2).sum()
        loss.backward()
        return loss
    return closure


@pytest.mark.parity
@pytest.mark.parametrize("kwargs", [{"lr": 0.5, "history_size": 3, "max_iter": 4},
                                    {"line_search_fn": "strong_wolfe", "max_iter": 5, "history_size": 3}])
def test_lbfgs_matches_torch(kwargs):
    torch = pytest.importorskip("torch")
    init = [np.array([-1.5, 0.5, 1.2]), np.array([2.0, -0.3, 1.0])]
    ours = [ember.tensor(a, dtype=ember.float64, requires_grad=True) for a in init]
    theirs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in init]
    opt_e, opt_t = optim.LBFGS(ours, **kwargs), torch.optim.LBFGS(theirs, **kwargs)
    close_e, close_t = _rosenbrock_closure(ours, opt_e, ember), _rosenbrock_closure(theirs, opt_t, torch)
    for _ in range(3):  # Rosenbrock amplifies rounding differences: a few steps keep them at 1e-15
        loss_e, loss_t = opt_e.step(close_e), opt_t.step(close_t)
        np.testing.assert_allclose(float(loss_e), loss_t.item(), rtol=1e-10)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a._data, b.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert opt_e.state[ours[0]]["func_evals"] == opt_t.state[theirs[0]]["func_evals"]


def test_lbfgs_strong_wolfe_minimizes_rosenbrock():
    params = [ember.tensor([-1.2], dtype=ember.float64, requires_grad=True),
              ember.tensor([1.0], dtype=ember.float64, requires_grad=True)]
    opt = optim.LBFGS(params, line_search_fn="strong_wolfe", max_iter=100)
    closure = _rosenbrock_closure(params, opt, ember)
    for _ in range(5):
        opt.step(closure)
    assert abs(params[0].item() - 1) < 1e-4 and abs(params[1].item() - 1) < 1e-4


def test_lbfgs_refuses_param_groups():
    a, b = (ember.zeros(2, requires_grad=True) for _ in range(2))
    with pytest.raises(ValueError, match="parameter groups"):
        optim.LBFGS([{"params": [a]}, {"params": [b]}])


def test_param_groups_use_their_own_options_and_defaults():
    a = ember.tensor([1.0], requires_grad=True)
    b = ember.tensor([1.0], requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1, momentum=0.0)
    a.grad, b.grad = ember.tensor([1.0]), ember.tensor([1.0])
    opt.step()
    assert a.item() == pytest.approx(0.9) and b.item() == pytest.approx(0.5)
    assert opt.param_groups[1]["momentum"] == 0.0


def test_add_param_group_and_duplicates():
    a, b = ember.zeros(2, requires_grad=True), ember.zeros(2, requires_grad=True)
    opt = optim.Adam([a], lr=0.1)
    opt.add_param_group({"params": b, "lr": 0.01})
    assert opt.param_groups[1]["lr"] == 0.01 and opt.param_groups[1]["betas"] == (0.9, 0.999)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="iterable"):
        optim.SGD(a, lr=0.1)


def test_params_without_grad_are_skipped_and_zero_grad():
    a = ember.tensor([1.0, 2.0], requires_grad=True)
    b = ember.tensor([3.0], requires_grad=True)
    opt = optim.Adam([a, b], lr=0.1)
    (a * a).sum().backward()
    opt.step()
    assert b.item() == 3.0 and b not in opt.state and a in opt.state
    opt.zero_grad(set_to_none=False)
    assert a.grad is not None and not a.grad._data.any()
    opt.zero_grad()
    assert a.grad is None


def test_step_with_closure_returns_loss_and_learns():
    w = ember.tensor([3.0, -2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1, momentum=0.5)

    def closure():
        opt.zero_grad()
        loss = ((w - 1.0) ** 2).sum()
        loss.backward()
        return loss

    first = float(opt.step(closure))
    for _ in range(50):
        last = float(opt.step(closure))
    assert last < 1e-3 < first


def test_step_bumps_parameter_version():
    w = ember.tensor([1.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    w.grad = ember.tensor([1.0])
    before = w._version
    opt.step()
    assert w._version == before + 1


def test_step_hooks_run_in_order():
    w = ember.tensor([1.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    calls = []
    opt.register_step_pre_hook(lambda o, a, k: calls.append("pre"))
    handle = opt.register_step_post_hook(lambda o, a, k: calls.append("post"))
    opt.step()
    handle.remove()
    opt.step()
    assert calls == ["pre", "post", "pre"]


@pytest.mark.parametrize("name,kwargs", [c for c in CASES if c[0] in ("SGD", "Adam", "ASGD", "NAdam", "Rprop",
                                                                       "Adafactor", "Adagrad")][1::2])
def test_state_dict_round_trip_continues_identically(name, kwargs):
    rng = np.random.default_rng(1)
    init = [rng.standard_normal(s) for s in SHAPES]
    noise = [[rng.standard_normal(s) for s in SHAPES] for _ in range(10)]
    full, _ = _run_ember(name, kwargs, init, noise)
    half, opt = _run_ember(name, kwargs, init, noise[:5])
    sd = opt.state_dict()
    assert sorted(sd["state"]) == [0, 1, 2] and sd["param_groups"][0]["params"] == [0, 1, 2]
    params = [ember.tensor(a.copy(), dtype=ember.float64, requires_grad=True) for a in half]
    fresh = getattr(optim, name)(params, **kwargs)
    fresh.load_state_dict(sd)
    for step_noise in noise[5:]:
        for p, n in zip(params, step_noise):
            p.grad = ember.tensor(n + np.tanh(2 * p._data), dtype=ember.float64)
        fresh.step()
    for a, b in zip(full, params):
        np.testing.assert_array_equal(a, b._data)


def test_load_state_dict_rejects_mismatched_groups():
    a, b = ember.zeros(2, requires_grad=True), ember.zeros(2, requires_grad=True)
    sd = optim.SGD([a, b], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="doesn't match the size"):
        optim.SGD([a], lr=0.1).load_state_dict(sd)


def test_load_state_dict_copies_state():
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.Adam([w])
    w.grad = ember.ones(2)
    opt.step()
    sd = opt.state_dict()
    other = optim.Adam([w])
    other.load_state_dict(sd)
    other.step()
    assert other.state[w]["exp_avg"]._data is not opt.state[w]["exp_avg"]._data
    assert opt.state[w]["step"].item() == 1 and other.state[w]["step"].item() == 2


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "Adadelta", "Adafactor", "Adagrad", "Adamax", "ASGD",
                                  "NAdam", "RAdam", "RMSprop", "Rprop"])
def test_float32_training_reduces_a_quadratic(name):
    w = ember.tensor([[2.0, -3.0], [1.5, 0.5]], requires_grad=True)
    lr = {"Adadelta": 20.0, "Rprop": 0.01, "SGD": 0.1, "ASGD": 0.1, "Adagrad": 0.5}.get(name, 0.05)
    opt = getattr(optim, name)([w], lr=lr)
    start = float(((w - 1.0) ** 2).sum())
    for _ in range(100):
        opt.zero_grad()
        loss = ((w - 1.0) ** 2).sum()
        loss.backward()
        opt.step()
    assert w.dtype == ember.float32
    assert float(((w - 1.0) ** 2).sum()) < 0.5 * start


def test_invalid_options_raise():
    w = ember.zeros(1, requires_grad=True)
    with pytest.raises(ValueError, match="learning rate"):
        optim.Adam([w], lr=-1)
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD([w], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="beta"):
        optim.Adam([w], betas=(1.0, 0.9))


def test_named_parameters_are_accepted_and_named_in_state_dict():
    model = ember.nn.Linear(3, 2)
    opt = optim.SGD(model.named_parameters(), lr=0.1)
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["weight", "bias"]
    assert opt.param_groups[0]["params"][0] is model.weight


def test_lbfgs_state_survives_ember_save(tmp_path):
    def make():
        params = [ember.tensor([-1.2, 0.3], dtype=ember.float64, requires_grad=True),
                  ember.tensor([1.0, 0.8], dtype=ember.float64, requires_grad=True)]
        opt = optim.LBFGS(params, max_iter=3, history_size=4)
        return params, opt, _rosenbrock_closure(params, opt, ember)

    params, opt, closure = make()
    for _ in range(4):
        opt.step(closure)
    expected = [p._data.copy() for p in params]

    params, opt, closure = make()
    for _ in range(2):
        opt.step(closure)
    ember.save({"opt": opt.state_dict(), "params": [p.detach() for p in params]}, tmp_path / "lbfgs.ember")
    ckpt = ember.load(tmp_path / "lbfgs.ember")
    params, opt, closure = make()
    for p, saved in zip(params, ckpt["params"]):
        p._data[...] = saved._data
    opt.load_state_dict(ckpt["opt"])
    for _ in range(2):
        opt.step(closure)
    for a, b in zip(params, expected):
        np.testing.assert_array_equal(a._data, b)


@pytest.mark.parametrize("name,kwargs", CASES[::2], ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES[::2])])
def test_step_leaves_gradients_untouched(name, kwargs):
    rng = np.random.default_rng(2)
    params = [ember.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True) for s in SHAPES]
    grads = [rng.standard_normal(s).astype(np.float32) for s in SHAPES]
    for p, g in zip(params, grads):
        p.grad = ember.tensor(g.copy())
    opt = getattr(optim, name)(params, **kwargs)
    for _ in range(3):
        opt.step()
    for p, g in zip(params, grads):
        np.testing.assert_array_equal(p.grad._data, g)
        assert p.dtype == ember.float32
