"""rrelu / RReLU, the in-place functional activations and gumbel_softmax: torch parity of the deterministic
forms (forward and gradients, every requires-grad subset), statistics and seeding of the random ones."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember import nn
from ember.nn import functional as F

from tests.core.nn.signatures import assert_same_signature

from .functional_specs import (
    Spec,
    check_gradcheck,
    check_parity,
    check_requires_grad_subset,
    ids,
    requires_grad_subsets,
)

X3 = (2, 3, 4)

SPECS = [
    Spec("rrelu_eval", lambda F, x: F.rrelu(x, 0.1, 0.3), [X3]),
    Spec("rrelu_eval_defaults", lambda F, x: F.rrelu(x), [(5,)]),
    Spec("rrelu__eval", lambda F, x: F.rrelu_(x * 1, 0.2, 0.4), [X3]),
    Spec("celu_", lambda F, x: F.celu_(x * 1, 1.5), [X3]),
    Spec("elu_", lambda F, x: F.elu_(x * 1, 0.7), [X3]),
    Spec("hardtanh_", lambda F, x: F.hardtanh_(x * 1, -0.5, 0.8), [X3]),
    Spec("selu_", lambda F, x: F.selu_(x * 1), [X3]),
    Spec("threshold_", lambda F, x: F.threshold_(x * 1, 0.1, 2.0), [X3]),
    # random: the same seed gives the same noise in every gradcheck call (torch draws differently)
    Spec("rrelu_train", lambda F, x: F.rrelu(x, 0.1, 0.3, training=True), [X3], torch=False),
    Spec("gumbel_softmax", lambda F, x: F.gumbel_softmax(x, tau=0.7), [X3], torch=False),
    Spec("gumbel_softmax_dim0", lambda F, x: F.gumbel_softmax(x, tau=2.0, dim=0), [X3], torch=False),
]


@pytest.mark.parametrize("spec", SPECS, ids=ids(SPECS))
def test_gradcheck(spec):
    check_gradcheck(spec)


SUBSETS = [pytest.param(s, sub, id=f"{s.name}-{len(sub)}") for s in SPECS for sub in requires_grad_subsets(s)]


@pytest.mark.parity
@pytest.mark.parametrize("spec, subset", [p for p in SUBSETS if p.values[0].torch])
def test_torch_parity_every_requires_grad_subset(spec, subset):
    pytest.importorskip("torch")
    check_parity(spec, requires_grad=subset)


@pytest.mark.parametrize("spec, subset", SUBSETS)
def test_requires_grad_subset(spec, subset):
    check_requires_grad_subset(spec, subset)


# ---- in-place forms: they write into their argument -------------------------------------------------------

@pytest.mark.parametrize("name, args", [("celu_", (2.0,)), ("elu_", (0.5,)), ("hardtanh_", (-0.2, 0.3)),
                                        ("selu_", ()), ("threshold_", (0.0, -7.0)), ("rrelu_", (0.1, 0.3))])
def test_inplace_functionals_write_into_their_input(name, args):
    x = ember.randn(3, 4)
    expected = getattr(F, name[:-1])(x.clone(), *args)
    out = getattr(F, name)(x, *args)
    assert out is x
    np.testing.assert_allclose(x.numpy(), expected.numpy(), rtol=1e-6)


def test_inplace_activation_of_a_saved_tensor_is_caught_in_backward():
    a = ember.randn(4, requires_grad=True)
    y = a.exp()  # exp saves its output for backward
    F.elu_(y)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_inplace_activation_of_a_leaf_that_requires_grad_is_refused():
    with pytest.raises(RuntimeError, match="leaf"):
        F.selu_(ember.randn(3, requires_grad=True))


def test_activation_argument_errors_match_torch():
    x = ember.randn(4)
    with pytest.raises(RuntimeError, match="Lower bound should be less than or equal to the upper bound"):
        F.rrelu(x, 0.5, 0.1, training=True)
    with pytest.raises(ValueError, match="min_val cannot be greater than max_val"):
        F.hardtanh_(x, 0.5, -0.5)
    with pytest.raises(RuntimeError, match="alpha cannot be 0"):
        F.celu(x, 0.0)
    with pytest.raises(NotImplementedError, match="int64"):
        F.rrelu(ember.arange(3), training=True)
    with pytest.raises(RuntimeError, match="floating point"):
        F.gumbel_softmax(ember.arange(3))


# ---- rrelu in training: one uniform slope per element ----------------------------------------------------

def test_rrelu_training_slopes_are_uniform_per_element():
    ember.manual_seed(0)
    x = -ember.rand(20000) - 0.5  # all negative
    y = F.rrelu(x, 0.1, 0.4, training=True)
    slopes = (y / x).numpy()
    assert slopes.min() >= 0.1 and slopes.max() <= 0.4
    assert abs(slopes.mean() - 0.25) < 0.005
    assert abs(slopes.std() - 0.3 / np.sqrt(12)) < 0.005
    assert len(np.unique(slopes)) > 19000  # one draw per element, not one per tensor
    positive = ember.rand(100) + 0.1
    np.testing.assert_array_equal(F.rrelu(positive, 0.1, 0.4, training=True).numpy(), positive.numpy())


def test_rrelu_training_gradient_is_the_drawn_slope():
    x = ember.tensor(np.random.default_rng(0).standard_normal((3, 5)).astype(np.float32), requires_grad=True)
    ember.manual_seed(4)
    y = F.rrelu(x, 0.2, 0.5, training=True)
    y.sum().backward()
    data = x.detach().numpy()
    expected = np.where(data > 0, 1.0, y.detach().numpy() / data)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-6)
    x.grad = None
    ember.manual_seed(4)
    y_inplace = x * 1
    F.rrelu_(y_inplace, 0.2, 0.5, training=True)  # in place inside a graph: the same draws and gradient
    y_inplace.sum().backward()
    np.testing.assert_array_equal(y_inplace.detach().numpy(), y.detach().numpy())
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-6)


def test_rrelu_training_is_repeatable_under_manual_seed():
    x = ember.randn(4, 6)
    ember.manual_seed(11)
    a = F.rrelu(x, training=True)
    ember.manual_seed(11)
    b = F.rrelu(x, training=True)
    c = F.rrelu(x, training=True)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not np.array_equal(b.numpy(), c.numpy())


def test_rrelu_module_trains_randomly_and_evaluates_at_the_mean_slope():
    m = nn.RReLU(0.1, 0.3)
    x = -ember.ones(1000)
    assert m.training and len(np.unique(m(x).numpy())) > 100
    m.eval()
    np.testing.assert_allclose(m(x).numpy(), np.full(1000, -0.2, np.float32))
    assert repr(nn.RReLU(0.1, 0.3, inplace=True)) == "RReLU(lower=0.1, upper=0.3, inplace=True)"
    y = -ember.ones(3)
    assert nn.RReLU(inplace=True)(y) is y


@pytest.mark.parity
def test_rrelu_module_in_eval_matches_torch():
    torch = pytest.importorskip("torch")
    data = np.random.default_rng(1).standard_normal((2, 3, 4)).astype(np.float32)
    x, tx = ember.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    y, ty = nn.RReLU(0.05, 0.25).eval()(x), torch.nn.RReLU(0.05, 0.25).eval()(tx)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-6)
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6)


# ---- gumbel_softmax ----------------------------------------------------------------------------------------

def test_gumbel_softmax_samples_follow_the_softmax_of_the_logits():
    logits = ember.tensor([1.0, 0.0, -1.0, 2.0])
    ember.manual_seed(0)
    samples = F.gumbel_softmax(logits.expand(20000, 4), tau=0.5, hard=True)
    frequencies = samples.numpy().mean(0)
    np.testing.assert_allclose(frequencies, F.softmax(logits, 0).numpy(), atol=0.015)
    assert set(np.unique(samples.numpy())) == {0.0, 1.0}
    np.testing.assert_array_equal(samples.numpy().sum(1), np.ones(20000))


def test_gumbel_softmax_is_repeatable_under_manual_seed():
    x = ember.randn(3, 5)
    ember.manual_seed(2)
    a = F.gumbel_softmax(x)
    ember.manual_seed(2)
    b = F.gumbel_softmax(x)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not np.array_equal(a.numpy(), F.gumbel_softmax(x).numpy())
    np.testing.assert_allclose(a.numpy().sum(-1), np.ones(3), rtol=1e-6)


def test_gumbel_softmax_hard_passes_the_soft_gradient_straight_through():
    data = np.random.default_rng(3).standard_normal((2, 3, 4)).astype(np.float32)
    weights = ember.tensor(np.random.default_rng(4).standard_normal((2, 3, 4)).astype(np.float32))
    grads = []
    for hard in (False, True):
        x = ember.tensor(data, requires_grad=True)
        ember.manual_seed(5)
        (F.gumbel_softmax(x, tau=0.8, hard=hard, dim=1) * weights).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-5, atol=1e-7)


def test_gumbel_softmax_eps_is_deprecated():
    with pytest.warns(UserWarning, match="deprecated"):
        F.gumbel_softmax(ember.randn(3), eps=1e-5)


@pytest.mark.parity
@pytest.mark.parametrize("hard, dim", [(False, -1), (True, -1), (True, 1)])
def test_gumbel_softmax_matches_torch_given_the_same_noise(monkeypatch, hard, dim):
    """torch's gumbel_softmax fed Ember's noise (through ``exponential_``) gives Ember's values and gradients."""
    torch = pytest.importorskip("torch")
    data = np.random.default_rng(6).standard_normal((2, 3, 4))
    weights = np.random.default_rng(7).standard_normal((2, 3, 4))
    x = ember.tensor(data, requires_grad=True)
    ember.manual_seed(8)
    soft = F.gumbel_softmax(x, tau=0.6, dim=dim)
    ember.manual_seed(8)
    y = F.gumbel_softmax(x, tau=0.6, hard=hard, dim=dim)
    (y * ember.tensor(weights)).sum().backward()
    # the noise, up to a constant along dim (which softmax ignores): g = tau * log(y_soft) - logits
    exponentials = np.exp(-(0.6 * np.log(soft.detach().numpy()) - data))
    monkeypatch.setattr(torch.Tensor, "exponential_", lambda self, *a, **k: self.copy_(torch.tensor(exponentials)))
    tx = torch.tensor(data, requires_grad=True)
    ty = torch.nn.functional.gumbel_softmax(tx, tau=0.6, hard=hard, dim=dim)
    (ty * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-8, atol=1e-10)


# ---- names and signatures: torch's --------------------------------------------------------------------------

@pytest.mark.parity
@pytest.mark.parametrize("name", ['rrelu', 'gumbel_softmax'])
def test_functional_signature_matches_torch(name):
    torch = pytest.importorskip("torch")
    theirs = getattr(torch.nn.functional, name)
    assert_same_signature(getattr(F, name), theirs, name)


@pytest.mark.parity
@pytest.mark.parametrize("name", ['RReLU'])
def test_module_signature_matches_torch(name):
    torch = pytest.importorskip("torch")
    assert_same_signature(getattr(nn, name), getattr(torch.nn, name), name)
