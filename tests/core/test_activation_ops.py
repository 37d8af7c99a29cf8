"""The activation ops of ``ember.ops.activation`` and ``ember.ops.softmax``: softplus (now a composite)
and silu keep torch's values and gradients at extreme inputs, and the ops need nothing from ``nn``."""

from __future__ import annotations

import subprocess
import sys

import ember
import numpy as np
import pytest

EXTREMES = [-1000.0, -100.0, -20.5, -1.0, -1e-3, 0.0, 1e-3, 1.0, 2.9, 3.0, 3.1, 19.99, 20.0, 20.01, 88.0,
            100.0, 1000.0]


def _value_and_grad(fn, values):
    x = ember.tensor(values, requires_grad=True)
    y = fn(x)
    y.backward(ember.ones_like(y))
    return y.detach().numpy(), x.grad.numpy()


@pytest.mark.parity
@pytest.mark.parametrize("name, ours, theirs", [
    ("silu", lambda x: ember.silu(x), lambda t, x: t.nn.functional.silu(x)),
    ("softplus", lambda x: ember.softplus(x), lambda t, x: t.nn.functional.softplus(x)),
    ("softplus_beta2_threshold3", lambda x: ember.softplus(x, 2.0, 3.0),
     lambda t, x: t.nn.functional.softplus(x, 2.0, 3.0)),
    ("softplus_beta_half", lambda x: ember.softplus(x, 0.5), lambda t, x: t.nn.functional.softplus(x, 0.5)),
])
def test_composite_activation_matches_torch_at_extreme_inputs(name, ours, theirs):
    torch = pytest.importorskip("torch")
    value, grad = _value_and_grad(ours, EXTREMES)
    x = torch.tensor(EXTREMES, requires_grad=True)
    y = theirs(torch, x)
    y.backward(torch.ones_like(y))
    np.testing.assert_allclose(value, y.detach().numpy(), rtol=1e-6, atol=1e-7, err_msg=name)
    np.testing.assert_allclose(grad, x.grad.numpy(), rtol=1e-6, atol=1e-7, err_msg=name)


def test_softplus_gradient_is_one_where_exp_would_overflow():
    # log1p(exp(x)) is not taken beyond the threshold: its (dropped) branch must not turn the gradient NaN
    value, grad = _value_and_grad(lambda x: ember.softplus(x), [100.0, 1000.0, float("inf")])
    np.testing.assert_array_equal(value, [100.0, 1000.0, float("inf")])
    np.testing.assert_array_equal(grad, [1.0, 1.0, 1.0])


@pytest.mark.parametrize("fn", [ember.silu, ember.softplus, lambda x: ember.softplus(x, 2.0, 0.5)])
def test_composite_activation_is_twice_differentiable(fn):
    x = ember.tensor([-3.0, -0.4, 0.1, 0.2, 2.5], dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradgradcheck(fn, (x,))


def test_integer_input_to_silu_and_softplus_gives_the_default_float():
    x = ember.tensor([-2, 0, 3])
    assert ember.silu(x).dtype == ember.float32
    assert ember.softplus(x).dtype == ember.float32


def test_softmax_does_not_load_nn():
    # ops sit below nn.functional: ember.softmax used to import ember.nn.functional on each call
    code = ("import sys, ember\n"
            "x = ember.randn(2, 3)\n"
            "ember.softmax(x, 1), ember.log_softmax(x, 1), x.softmax(-1), ember.silu(x), ember.softplus(x)\n"
            "assert not [m for m in sys.modules if m.startswith('ember.nn')], sorted(sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
