"""Argument and sample validation: torch's errors for bad parameters and out-of-support values,
validate_args and Distribution.set_default_validate_args, and the parameter either/or rules."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
from ember import distributions as D


@pytest.fixture
def default_validation():
    yield
    D.Distribution.set_default_validate_args(True)


def test_bad_parameter_raises_torch_message():
    with pytest.raises(ValueError) as info:
        D.Normal(ember.tensor([0.0, 1.0]), ember.tensor([1.0, -1.0]))
    message = str(info.value)
    assert message.startswith("Expected parameter scale (Tensor of shape (2,)) of distribution Normal(")
    assert "to satisfy the constraint GreaterThan(lower_bound=0.0), but found invalid values:" in message


@pytest.mark.parametrize(
    "build",
    [
        lambda: D.Bernoulli(probs=ember.tensor(1.5)),
        lambda: D.Categorical(probs=ember.tensor([-0.1, 1.1])),
        lambda: D.Gamma(ember.tensor(0.0), ember.tensor(1.0)),
        lambda: D.Dirichlet(ember.tensor([1.0, -1.0])),
        lambda: D.MultivariateNormal(
            ember.zeros(2), covariance_matrix=ember.tensor([[1.0, 2.0], [2.0, 1.0]])
        ),
        lambda: D.MultivariateNormal(ember.zeros(2), scale_tril=ember.tensor([[1.0, 1.0], [0.0, 1.0]])),
        lambda: D.Binomial(ember.tensor(2.5), probs=ember.tensor(0.5)),
        lambda: D.Poisson(ember.tensor(-1.0)),
        lambda: D.StudentT(ember.tensor(-1.0)),
        lambda: D.Uniform(ember.tensor(1.0), ember.tensor(0.0)),
    ],
    ids=[
        "bernoulli",
        "categorical",
        "gamma",
        "dirichlet",
        "mvn-cov",
        "mvn-tril",
        "binomial",
        "poisson",
        "studentt",
        "uniform",
    ],
)
def test_invalid_parameters_are_rejected(build):
    with pytest.raises(ValueError, match="Expected parameter|Uniform is not defined"):
        build()


def test_value_outside_support_raises_torch_message():
    d = D.Exponential(ember.tensor([1.0, 2.0]))
    with pytest.raises(ValueError) as info:
        d.log_prob(ember.tensor([1.0, -1.0]))
    assert str(info.value).startswith(
        "Expected value argument (Tensor of shape (2,)) to be within the support "
        "(GreaterThanEq(lower_bound=0.0)) "
        "of the distribution Exponential(rate: ember.Size([2]))"
    )
    with pytest.raises(ValueError, match="Expected value argument"):
        D.Categorical(logits=ember.zeros(3)).log_prob(ember.tensor(3))
    with pytest.raises(ValueError, match="Expected value argument"):
        D.Beta(ember.tensor(2.0), ember.tensor(2.0)).log_prob(ember.tensor(1.5))


def test_value_shape_errors():
    d = D.Normal(ember.zeros(3), ember.ones(3))
    with pytest.raises(ValueError, match="Value is not broadcastable with batch_shape\\+event_shape"):
        d.log_prob(ember.zeros(4))
    mvn = D.MultivariateNormal(ember.zeros(3), ember.eye(3))
    with pytest.raises(ValueError, match="The right-most size of value must match event_shape"):
        mvn.log_prob(ember.zeros(2))
    with pytest.raises(ValueError, match="The value argument to log_prob must be a Tensor"):
        d.log_prob(0.5)


def test_validate_args_false_skips_the_checks():
    d = D.Normal(ember.tensor(0.0), ember.tensor(-1.0), validate_args=False)
    assert np.isnan(d.log_prob(ember.tensor(0.0)).item())
    assert D.Exponential(ember.tensor(1.0), validate_args=False).log_prob(ember.tensor(-1.0)).item() == 1.0


def test_set_default_validate_args(default_validation):
    D.Distribution.set_default_validate_args(False)
    D.Normal(ember.tensor(0.0), ember.tensor(-1.0))  # no error
    with pytest.raises(ValueError, match="Expected parameter scale"):
        D.Normal(ember.tensor(0.0), ember.tensor(-1.0), validate_args=True)
    D.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError, match="Expected parameter scale"):
        D.Normal(ember.tensor(0.0), ember.tensor(-1.0))
    with pytest.raises(ValueError):
        D.Distribution.set_default_validate_args("yes")


@pytest.mark.parametrize("cls", [D.Bernoulli, D.Categorical, D.Geometric, D.OneHotCategorical, D.Binomial])
def test_exactly_one_of_probs_and_logits(cls):
    with pytest.raises(ValueError, match="Either `probs` or `logits` must be specified, but not both."):
        cls(probs=ember.tensor([0.5]), logits=ember.tensor([0.0]))
    with pytest.raises(ValueError, match="Either `probs` or `logits` must be specified, but not both."):
        cls()


def test_probs_and_logits_are_interchangeable():
    logits = ember.tensor([0.3, -1.2], requires_grad=True)
    by_logits = D.Bernoulli(logits=logits)
    by_probs = D.Bernoulli(probs=ember.sigmoid(logits))
    np.testing.assert_allclose(by_logits.probs.detach().numpy(), by_probs.probs.detach().numpy())
    np.testing.assert_allclose(by_probs.logits.detach().numpy(), logits.detach().numpy(), rtol=1e-5)
    by_logits.probs.sum().backward()  # the lazily computed probs keep the graph to the logits
    assert logits.grad is not None


def test_multivariate_normal_argument_errors():
    with pytest.raises(
        ValueError, match="Exactly one of covariance_matrix or precision_matrix or scale_tril"
    ):
        D.MultivariateNormal(ember.zeros(2))
    with pytest.raises(
        ValueError, match="Exactly one of covariance_matrix or precision_matrix or scale_tril"
    ):
        D.MultivariateNormal(ember.zeros(2), ember.eye(2), scale_tril=ember.eye(2))
    with pytest.raises(ValueError, match="loc must be at least one-dimensional."):
        D.MultivariateNormal(ember.tensor(0.0), ember.eye(1))
    with pytest.raises(ValueError, match="covariance_matrix matrix must be at least two-dimensional"):
        D.MultivariateNormal(ember.zeros(2), ember.ones(2))


def test_other_argument_errors():
    with pytest.raises(ValueError, match="`probs` parameter must be at least one-dimensional."):
        D.Categorical(probs=ember.tensor(1.0))
    with pytest.raises(ValueError, match="`concentration` parameter must be at least one-dimensional."):
        D.Dirichlet(ember.tensor(1.0))
    with pytest.raises(NotImplementedError, match="inhomogeneous total_count is not supported"):
        D.Multinomial(ember.tensor([1, 2]), probs=ember.tensor([0.5, 0.5]))
    with pytest.raises(ValueError, match="Expected reinterpreted_batch_ndims <= len"):
        D.Independent(D.Normal(ember.zeros(3), ember.ones(3)), 2)
    with pytest.raises(ValueError, match="does not equal `component_distribution.batch_shape\\[-1\\]`"):
        D.MixtureSameFamily(D.Categorical(logits=ember.zeros(2)), D.Normal(ember.zeros(3), ember.ones(3)))
    with pytest.raises(NotImplementedError, match="Inhomogeneous total count not supported by `entropy`."):
        D.Binomial(ember.tensor([2.0, 3.0]), probs=ember.tensor([0.5, 0.5])).entropy()
    with pytest.raises(NotImplementedError, match="does not implement mode"):
        _ = D.MixtureSameFamily(
            D.Categorical(logits=ember.zeros(2)), D.Normal(ember.zeros(2), ember.ones(2))
        ).mode


def test_enumerate_support_matches_torch_layout():
    b = D.Bernoulli(probs=ember.tensor([[0.1, 0.5, 0.9]]))
    assert b.enumerate_support().shape == (2, 1, 3)
    assert b.enumerate_support(expand=False).shape == (2, 1, 1)
    c = D.Categorical(logits=ember.zeros(2, 4))
    np.testing.assert_array_equal(c.enumerate_support().numpy(), np.arange(4)[:, None].repeat(2, 1))
    oh = D.OneHotCategorical(logits=ember.zeros(2, 3))
    assert oh.enumerate_support().shape == (3, 2, 3)
    binomial = D.Binomial(4, probs=ember.tensor([0.2, 0.3]))
    support = binomial.enumerate_support()
    assert support.shape == (5, 2)
    np.testing.assert_allclose(binomial.log_prob(support).exp().sum(0).numpy(), 1.0, rtol=1e-6)


def test_repr_names_the_parameters():
    assert repr(D.Normal(ember.tensor(0.0), ember.tensor(1.0))) == "Normal(loc: 0.0, scale: 1.0)"
    assert (
        repr(D.Normal(ember.tensor([0.0]), ember.tensor([1.0])))
        == "Normal(loc: tensor([0.]), scale: tensor([1.]))"
    )
    assert (
        repr(D.Normal(ember.zeros(2), ember.ones(2)))
        == "Normal(loc: ember.Size([2]), scale: ember.Size([2]))"
    )
    assert repr(D.Independent(D.Normal(ember.zeros(2), ember.ones(2)), 1)).startswith("Independent(Normal(")


@pytest.mark.parity
def test_out_of_support_values_are_rejected_exactly_when_torch_rejects_them():
    torch = pytest.importorskip("torch")
    from .test_families import CASES, _extra, _tensors

    for case in CASES:
        if case.value is None or "log_prob" not in case.methods:
            continue
        for bad in (-case.value - 10.0, case.value + 0.5, np.full_like(case.value, np.nan)):
            outcomes = []
            for m in (ember, torch):
                d = case.build(m, **_tensors(m, case.params, False), **_extra(m, case.extra))
                try:
                    d.log_prob(m.tensor(bad, dtype=m.float64))
                    outcomes.append("accepted")
                except ValueError as error:
                    outcomes.append(str(error).split(" (")[0])
            assert outcomes[0] == outcomes[1], f"{case.name}: {outcomes}"


@pytest.mark.parity
def test_invalid_parameters_are_rejected_exactly_when_torch_rejects_them():
    torch = pytest.importorskip("torch")
    from .test_families import CASES, _extra

    for case in CASES:
        if (
            case.name == "LowRankMultivariateNormal"
        ):  # torch's Cholesky raises on nan first; ember's gives nan
            continue
        for name in case.params:
            for bad in (-case.params[name] - 1.0, np.full_like(case.params[name], np.nan)):
                outcomes = []
                for m in (ember, torch):
                    params = {
                        k: m.tensor(bad if k == name else v, dtype=m.float64) for k, v in case.params.items()
                    }
                    try:
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore")
                            case.build(m, **params, **_extra(m, case.extra))
                        outcomes.append("accepted")
                    except ValueError as error:
                        outcomes.append(str(error).split(" (")[0].replace("torch.", "ember."))
                assert outcomes[0] == outcomes[1], f"{case.name}({name}): {outcomes}"
