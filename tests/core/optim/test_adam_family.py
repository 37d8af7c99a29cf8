"""The Adam family (Adam, AdamW, RAdam, NAdam, Adamax) on their shared base: options every member takes."""

from __future__ import annotations

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

FAMILY = ["Adam", "AdamW", "RAdam", "NAdam", "Adamax"]


@pytest.mark.parity
@pytest.mark.parametrize("name", FAMILY)
def test_tensor_betas_step_as_torch(name):
    # PyTorch accepts 0-d tensors as betas in the whole family; the step must match float betas.
    start = np.array([1.0, -2.0, 0.5])
    w = ember.tensor(start, requires_grad=True)
    tw = torch.tensor(start, requires_grad=True)
    opt = getattr(ember.optim, name)([w], lr=0.1, betas=(ember.tensor(0.9), ember.tensor(0.99)))
    topt = getattr(torch.optim, name)([tw], lr=0.1, betas=(torch.tensor(0.9), torch.tensor(0.99)))
    for _ in range(3):
        opt.zero_grad()
        topt.zero_grad()
        (w * w).sum().backward()
        (tw * tw).sum().backward()
        opt.step()
        topt.step()
    np.testing.assert_allclose(w.detach().numpy(), tw.detach().numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", FAMILY)
@pytest.mark.parametrize(
    "option, message",
    [("lr", "Invalid learning rate"), ("eps", "Invalid epsilon value"), ("weight_decay", "Invalid weight_decay")],
)
def test_negative_option_is_refused_naming_it(name, option, message):
    with pytest.raises(ValueError, match=message):
        getattr(ember.optim, name)([ember.zeros(2, requires_grad=True)], **{option: -1.0})


def test_nadam_checks_momentum_decay():
    with pytest.raises(ValueError, match="Invalid momentum_decay value: -1"):
        ember.optim.NAdam([ember.zeros(2, requires_grad=True)], momentum_decay=-1.0)
