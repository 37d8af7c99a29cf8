"""Schedulers: torch's learning-rate sequences over 200 steps, state_dict round trips, misuse."""

from __future__ import annotations

import math
import warnings

import ember
import numpy as np
import pytest
from ember import optim
from ember.optim import lr_scheduler as S


def _lambda(epoch):
    return 0.97**epoch


def _mult(epoch):
    return 0.99 if epoch % 3 else 0.9


# name -> (optimizer name, optimizer kwargs, builder(lib, opt) -> scheduler); lib is ember.optim or torch.optim
SCHEDULES = {
    "LambdaLR": ("SGD", {}, lambda L, o: L.lr_scheduler.LambdaLR(o, _lambda)),
    "MultiplicativeLR": ("SGD", {}, lambda L, o: L.lr_scheduler.MultiplicativeLR(o, _mult)),
    "StepLR": ("SGD", {}, lambda L, o: L.lr_scheduler.StepLR(o, step_size=30, gamma=0.5)),
    "MultiStepLR": ("SGD", {}, lambda L, o: L.lr_scheduler.MultiStepLR(o, milestones=[20, 50, 50, 120], gamma=0.3)),
    "ConstantLR": ("SGD", {}, lambda L, o: L.lr_scheduler.ConstantLR(o, factor=0.25, total_iters=40)),
    "LinearLR": ("SGD", {}, lambda L, o: L.lr_scheduler.LinearLR(o, start_factor=0.1, end_factor=0.9,
                                                                   total_iters=70)),
    "ExponentialLR": ("SGD", {}, lambda L, o: L.lr_scheduler.ExponentialLR(o, gamma=0.98)),
    "PolynomialLR": ("SGD", {}, lambda L, o: L.lr_scheduler.PolynomialLR(o, total_iters=150, power=2.0)),
    "CosineAnnealingLR": ("SGD", {}, lambda L, o: L.lr_scheduler.CosineAnnealingLR(o, T_max=60, eta_min=1e-3)),
    "CosineAnnealingWarmRestarts": ("SGD", {}, lambda L, o: L.lr_scheduler.CosineAnnealingWarmRestarts(
        o, T_0=10, T_mult=2, eta_min=1e-4)),
    "CyclicLR": ("SGD", {"momentum": 0.9}, lambda L, o: L.lr_scheduler.CyclicLR(
        o, base_lr=0.01, max_lr=0.2, step_size_up=15, step_size_down=25, mode="triangular2")),
    "CyclicLR-exp_range-adam": ("Adam", {}, lambda L, o: L.lr_scheduler.CyclicLR(
        o, base_lr=[0.01, 0.02], max_lr=0.1, step_size_up=20, mode="exp_range", gamma=0.995)),
    "OneCycleLR": ("SGD", {"momentum": 0.9}, lambda L, o: L.lr_scheduler.OneCycleLR(o, max_lr=0.5,
                                                                                     total_steps=201)),
    "OneCycleLR-three_phase-linear": ("Adam", {}, lambda L, o: L.lr_scheduler.OneCycleLR(
        o, max_lr=[0.3, 0.2], epochs=4, steps_per_epoch=51, pct_start=0.25, anneal_strategy="linear",
        three_phase=True)),
    "SequentialLR": ("SGD", {}, lambda L, o: L.lr_scheduler.SequentialLR(
        o, [L.lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=10), L.lr_scheduler.ExponentialLR(o, 0.99),
            L.lr_scheduler.CosineAnnealingLR(o, T_max=40)], milestones=[10, 90])),
    "ChainedScheduler": ("SGD", {}, lambda L, o: L.lr_scheduler.ChainedScheduler(
        [L.lr_scheduler.ConstantLR(o, factor=0.5, total_iters=25), L.lr_scheduler.ExponentialLR(o, gamma=0.99),
         L.lr_scheduler.StepLR(o, step_size=40, gamma=0.7)])),
}


def _lr_sequence(lib, make_param, name, steps=200):
    opt_name, opt_kwargs, build = SCHEDULES[name]
    params = [make_param(), make_param()]
    opt = getattr(lib, opt_name)([{"params": [params[0]]}, {"params": [params[1]], "lr": 0.05}], lr=0.1,
                                 **opt_kwargs)
    sched = build(lib, opt)
    seq = []
    for _ in range(steps):
        opt.step()
        sched.step()
        group = opt.param_groups[0]
        momentum = group["betas"][0] if "betas" in group else group.get("momentum", 0.0)
        seq.append([float(lr) for lr in sched.get_last_lr()] + [float(momentum)])
    return np.array(seq), sched


@pytest.mark.parity
@pytest.mark.parametrize("name", list(SCHEDULES))
def test_matches_torch_lr_sequence_over_200_steps(name):
    torch = pytest.importorskip("torch")
    ours, _ = _lr_sequence(optim, lambda: ember.zeros(2, requires_grad=True), name)
    theirs, _ = _lr_sequence(torch.optim, lambda: torch.zeros(2, requires_grad=True), name)
    assert len(np.unique(ours[:, 0])) > 1  # the schedule really changes the rate
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)


@pytest.mark.parity
@pytest.mark.parametrize("kwargs", [{}, {"mode": "max", "factor": 0.5, "patience": 3, "threshold": 0.05,
                                                 "threshold_mode": "abs", "cooldown": 4, "min_lr": [0.01, 0.002]}])
def test_reduce_lr_on_plateau_matches_torch(kwargs):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    metrics = np.concatenate([np.linspace(1, 0.5, 40), 0.5 + 0.01 * rng.standard_normal(160)])
    if kwargs.get("mode") == "max":
        metrics = -metrics
    seqs = []
    for lib, make in ((optim, lambda: ember.zeros(1, requires_grad=True)),
                      (torch.optim, lambda: torch.zeros(1, requires_grad=True))):
        opt = lib.SGD([{"params": [make()]}, {"params": [make()], "lr": 0.02}], lr=0.1)
        sched = lib.lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
        seq = []
        for m in metrics:
            opt.step()
            sched.step(float(m))
            seq.append([float(v) for v in sched.get_last_lr()])
        seqs.append(np.array(seq))
    assert seqs[0][-1, 0] < 0.1
    np.testing.assert_allclose(seqs[0], seqs[1], rtol=1e-12)


@pytest.mark.parametrize("name", ["MultiStepLR", "CyclicLR", "OneCycleLR", "SequentialLR", "ChainedScheduler",
                                  "CosineAnnealingWarmRestarts", "LambdaLR"])
def test_state_dict_resume_through_ember_save(name, tmp_path):
    full, _ = _lr_sequence(optim, lambda: ember.zeros(2, requires_grad=True), name, steps=60)
    first, sched = _lr_sequence(optim, lambda: ember.zeros(2, requires_grad=True), name, steps=30)
    ember.save({"sched": sched.state_dict(), "opt": sched.optimizer.state_dict()}, tmp_path / "s.ember")
    loaded = ember.load(tmp_path / "s.ember")
    opt_name, opt_kwargs, build = SCHEDULES[name]
    params = [ember.zeros(2, requires_grad=True), ember.zeros(2, requires_grad=True)]
    opt = getattr(optim, opt_name)([{"params": [params[0]]}, {"params": [params[1]], "lr": 0.05}], lr=0.1,
                                   **opt_kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fresh = build(optim, opt)
    opt.load_state_dict(loaded["opt"])
    fresh.load_state_dict(loaded["sched"])
    rest = []
    for _ in range(30):
        opt.step()
        fresh.step()
        group = opt.param_groups[0]
        momentum = group["betas"][0] if "betas" in group else group.get("momentum", 0.0)
        rest.append([float(lr) for lr in fresh.get_last_lr()] + [float(momentum)])
    np.testing.assert_array_equal(np.concatenate([first, np.array(rest)]), full)


def test_closed_form_with_epoch_argument():
    opt = optim.SGD([ember.zeros(1, requires_grad=True)], lr=1.0)
    sched = S.StepLR(opt, step_size=3, gamma=0.5)
    opt.step()
    with pytest.warns(UserWarning, match="epoch parameter"):
        sched.step(7)
    assert sched.get_last_lr() == [0.25]


def test_warns_when_scheduler_steps_before_optimizer():
    opt = optim.SGD([ember.zeros(1, requires_grad=True)], lr=1.0)
    sched = S.ExponentialLR(opt, gamma=0.5)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        sched.step()


def test_resuming_without_initial_lr_is_a_clear_error():
    opt = optim.SGD([ember.zeros(1, requires_grad=True)], lr=1.0)
    with pytest.raises(KeyError, match="initial_lr"):
        S.StepLR(opt, step_size=2, last_epoch=5)


def test_cosine_annealing_reaches_eta_min_at_t_max():
    opt = optim.SGD([ember.zeros(1, requires_grad=True)], lr=1.0)
    sched = S.CosineAnnealingLR(opt, T_max=10, eta_min=0.1)
    for _ in range(10):
        opt.step()
        sched.step()
    assert math.isclose(sched.get_last_lr()[0], 0.1, rel_tol=1e-12)


def test_sequential_rejects_plateau_and_bad_milestones():
    opt = optim.SGD([ember.zeros(1, requires_grad=True)], lr=1.0)
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        S.SequentialLR(opt, [S.ReduceLROnPlateau(opt), S.StepLR(opt, 2)], milestones=[3])
    with pytest.raises(ValueError, match="milestone"):
        S.SequentialLR(opt, [S.StepLR(opt, 2), S.StepLR(opt, 2)], milestones=[3, 4])


@pytest.mark.parity
def test_constructing_with_last_epoch_behaves_like_torch():
    torch = pytest.importorskip("torch")
    seqs = []
    for lib, make in ((optim, lambda: ember.zeros(1, requires_grad=True)),
                      (torch.optim, lambda: torch.zeros(1, requires_grad=True))):
        opt = lib.SGD([make()], lr=1.0)
        sched = lib.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
        for _ in range(5):
            opt.step()
            sched.step()
        resumed_opt = lib.SGD([make()], lr=1.0)
        resumed_opt.load_state_dict(opt.state_dict())
        resumed = lib.lr_scheduler.StepLR(resumed_opt, step_size=2, gamma=0.5, last_epoch=sched.last_epoch)
        seq = [resumed.get_last_lr()[0]]
        for _ in range(4):
            resumed_opt.step()
            resumed.step()
            seq.append(resumed.get_last_lr()[0])
        seqs.append(seq)
    assert seqs[0] == seqs[1]
