"""Every optimizer steps a 0-d parameter (a learnable temperature or log-scale) as it steps a 1-element
vector: numpy turns 0-d results into scalars, which in-place updates must not trip over."""

from __future__ import annotations

import ember
import pytest

OPTIMIZERS = ["SGD", "Adam", "AdamW", "Adamax", "NAdam", "RAdam", "Adagrad", "Adadelta", "RMSprop", "Rprop",
              "ASGD", "Adafactor", "LBFGS"]


def _steps(name: str, shape: tuple, **kwargs) -> list[float]:
    p = ember.nn.Parameter(ember.full(shape, 0.5))
    opt = getattr(ember.optim, name)([p], lr=0.1, **kwargs)

    def closure():
        opt.zero_grad()
        loss = (p * p + p).sum()
        loss.backward()
        return loss

    values = []
    for _ in range(3):
        opt.step(closure)
        values.append(p.detach().reshape(-1)[0].item())
    return values


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_zero_dim_parameter_steps_like_a_one_element_vector(name):
    assert _steps(name, ()) == pytest.approx(_steps(name, (1,)), rel=1e-6)


@pytest.mark.parametrize("kwargs", [{"amsgrad": True}, {"weight_decay": 0.1}])
def test_zero_dim_parameter_with_adam_options(kwargs):
    assert _steps("Adam", (), **kwargs) == pytest.approx(_steps("Adam", (1,), **kwargs), rel=1e-6)


@pytest.mark.parametrize("name", ["Adam", "AdamW", "Adagrad", "RMSprop"])
@pytest.mark.parity
def test_zero_dim_parameter_matches_torch(name):
    torch = pytest.importorskip("torch")
    p = torch.nn.Parameter(torch.tensor(0.5))
    opt = getattr(torch.optim, name)([p], lr=0.1)
    expected = []
    for _ in range(3):
        opt.zero_grad()
        (p * p + p).backward()
        opt.step()
        expected.append(p.item())
    assert _steps(name, ()) == pytest.approx(expected, rel=1e-5)
