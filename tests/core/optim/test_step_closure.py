"""``Optimizer.step(closure)``: the closure runs with gradients recorded, its loss is returned, and the grad
mode after the step is the one before it, whatever the closure did."""

from __future__ import annotations

import ember
import pytest
from ember import optim


def _problem():
    w = ember.tensor([1.0, -2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    return w, opt, closure


def test_step_returns_the_closures_loss_and_updates():
    w, opt, closure = _problem()
    loss = opt.step(closure)
    assert loss.item() == 5.0
    assert w.tolist() == pytest.approx([0.8, -1.6])


def test_the_closure_records_gradients_inside_no_grad():
    w, opt, closure = _problem()
    with ember.no_grad():
        loss = opt.step(closure)
        assert not ember.is_grad_enabled()
    assert loss.requires_grad and w.tolist() == pytest.approx([0.8, -1.6])


def test_a_closure_that_switches_recording_off_does_not_leave_it_off():
    _, opt, closure = _problem()

    def switching():
        loss = closure()
        ember.set_grad_enabled(False)
        return loss

    opt.step(switching)
    assert ember.is_grad_enabled()
    with ember.no_grad():
        opt.step(switching)
        assert not ember.is_grad_enabled()
    assert ember.is_grad_enabled()


def test_a_failing_closure_leaves_the_grad_mode_as_it_was():
    _, opt, _ = _problem()

    def failing():
        ember.set_grad_enabled(False)
        raise ValueError("no loss")

    with pytest.raises(ValueError, match="no loss"):
        opt.step(failing)
    assert ember.is_grad_enabled()
