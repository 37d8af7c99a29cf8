"""Adam / AdamW's one-pass update (``ember.kernels.optim.adam_update``) against PyTorch's single-tensor Adam
in float32: every option, parameters of several shapes (0-d to 3-d, and one large enough to be split
between threads), and the numpy path it replaces for layouts it does not take."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember import optim

from ._steps import assert_float32_steps_match, run_steps

OPTIONS = [
    {"lr": 1e-2},
    {"lr": 1e-2, "weight_decay": 0.1},  # L2 decay (Adam) / decoupled (AdamW)
    {"lr": 1e-2, "weight_decay": 0.1, "amsgrad": True},
    {"lr": 1e-2, "betas": (0.3, 0.9), "eps": 1e-6},  # 1 - beta1 >= 0.5: lerp's other side
    {"lr": 1e-2, "amsgrad": True, "maximize": True},
]
SHAPES = [(), (7,), (3, 5), (2, 3, 4), (300, 500)]


@pytest.mark.parity
@pytest.mark.parametrize("name", ["Adam", "AdamW"])
@pytest.mark.parametrize("options", OPTIONS, ids=range(len(OPTIONS)))
def test_float32_steps_match_torch(name, options):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    init = [rng.standard_normal(s).astype(np.float32) for s in SHAPES]
    grads = [[rng.standard_normal(s).astype(np.float32) for s in SHAPES] for _ in range(8)]
    ours, opt = run_steps(ember, getattr(optim, name), options, init, grads)
    theirs, torch_opt = run_steps(torch, getattr(torch.optim, name), options, init, grads, foreach=False)
    assert_float32_steps_match(ours, opt, theirs, torch_opt, init)


def test_non_contiguous_and_contiguous_parameters_take_the_same_steps():
    # a parameter viewing a transposed array takes the numpy path; its values must not depend on it
    rng = np.random.default_rng(1)
    start = rng.standard_normal((6, 4)).astype(np.float32)
    grads = [rng.standard_normal((6, 4)).astype(np.float32) for _ in range(5)]
    contiguous = ember.tensor(start.copy(), requires_grad=True)
    strided = ember.tensor(np.asfortranarray(start), requires_grad=True)
    assert not strided._data.flags.c_contiguous
    for p in (contiguous, strided):
        opt = optim.AdamW([p], lr=0.05, weight_decay=0.1, amsgrad=True)
        for g in grads:
            p.grad = ember.tensor(g)
            opt.step()
    np.testing.assert_allclose(contiguous._data, strided._data, rtol=1e-6, atol=1e-7)


def test_nan_gradient_propagates_as_in_torch():
    p = ember.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.Adam([p], lr=0.1, amsgrad=True)
    p.grad = ember.tensor([float("nan"), 1.0])
    opt.step()
    assert np.isnan(p._data[0]) and np.isfinite(p._data[1])
    assert np.isnan(opt.state[p]["max_exp_avg_sq"]._data[0])
