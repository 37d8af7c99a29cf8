"""Sampling: moments of 20k seeded samples, reproducibility under ember.manual_seed, and rsample gradients
(pathwise for location-scale families, implicit for Gamma, unbiased in expectation for Beta/Dirichlet)."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember import distributions as D

N = 20_000


def t(values):
    return ember.tensor(values, dtype=ember.float64)


# name -> distribution; checked: sample mean and variance against .mean and .variance
FAMILIES = {
    "Normal": lambda: D.Normal(t([0.0, 3.0]), t([1.0, 0.5])),
    "Uniform": lambda: D.Uniform(t([0.0, -2.0]), t([1.0, 3.0])),
    "Exponential": lambda: D.Exponential(t([0.5, 2.0])),
    "Laplace": lambda: D.Laplace(t([1.0, -1.0]), t([0.5, 2.0])),
    "Gumbel": lambda: D.Gumbel(t([1.0, -1.0]), t([0.5, 2.0])),
    "LogNormal": lambda: D.LogNormal(t([0.0, 0.5]), t([0.25, 0.5])),
    "HalfNormal": lambda: D.HalfNormal(t([1.0, 2.0])),
    "StudentT": lambda: D.StudentT(t([6.0, 10.0]), t([1.0, 0.0]), t([1.0, 2.0])),
    "Gamma": lambda: D.Gamma(t([0.3, 4.0]), t([1.0, 2.0])),
    "Chi2": lambda: D.Chi2(t([1.0, 5.0])),
    "Beta": lambda: D.Beta(t([0.5, 2.0]), t([2.0, 3.0])),
    "Dirichlet": lambda: D.Dirichlet(t([[0.5, 1.0, 2.0], [3.0, 3.0, 3.0]])),
    "Pareto": lambda: D.Pareto(t([1.0, 0.5]), t([6.0, 9.0])),
    "Weibull": lambda: D.Weibull(t([1.0, 2.0]), t([0.8, 3.0])),
    "InverseGamma": lambda: D.InverseGamma(t([6.0, 9.0]), t([1.0, 2.0])),
    "FisherSnedecor": lambda: D.FisherSnedecor(t([4.0, 10.0]), t([12.0, 20.0])),
    "Kumaraswamy": lambda: D.Kumaraswamy(t([0.5, 2.0]), t([2.0, 5.0])),
    "NegativeBinomial": lambda: D.NegativeBinomial(t([3.0, 10.0]), t([0.3, 0.6])),
    "GeneralizedPareto": lambda: D.GeneralizedPareto(t([0.0, 1.0]), t([1.0, 2.0]), t([-0.3, 0.1])),
    "Wishart": lambda: D.Wishart(t(6.0), covariance_matrix=t([[2.0, 0.6], [0.6, 1.0]])),
    "Bernoulli": lambda: D.Bernoulli(t([0.2, 0.7])),
    "Geometric": lambda: D.Geometric(t([0.3, 0.8])),
    "Poisson": lambda: D.Poisson(t([0.5, 7.0])),
    "Binomial": lambda: D.Binomial(t([5.0, 20.0]), t([0.3, 0.6])),
    "Categorical": lambda: D.OneHotCategorical(t([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]])),
    "Multinomial": lambda: D.Multinomial(10, t([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]])),
    "ContinuousBernoulli": lambda: D.ContinuousBernoulli(t([0.2, 0.5, 0.9])),
    "VonMises": lambda: D.VonMises(t([0.5, -2.0]), t([4.0, 10.0])),
    "MultivariateNormal": lambda: D.MultivariateNormal(
        t([1.0, -1.0]), covariance_matrix=t([[2.0, 0.6], [0.6, 1.0]])
    ),
    "LowRankMultivariateNormal": lambda: D.LowRankMultivariateNormal(
        t([1.0, -1.0]), t([[1.0], [0.5]]), t([0.5, 1.0])
    ),
    "MixtureSameFamily": lambda: D.MixtureSameFamily(
        D.Categorical(t([0.3, 0.7])), D.Normal(t([-2.0, 2.0]), t([1.0, 0.5]))
    ),
}


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_sample_moments_match_the_distribution(name):
    ember.manual_seed(0)
    d = FAMILIES[name]()
    samples = d.sample((N,)).numpy().astype(np.float64)
    assert samples.shape == (N, *d.batch_shape, *d.event_shape)
    mean, std = d.mean.numpy(), d.stddev.numpy()
    if name == "VonMises":  # a circular distribution: compare the circular moments
        resultant = np.exp(1j * samples).mean(0)
        np.testing.assert_allclose(np.angle(resultant), mean, atol=0.02)
        np.testing.assert_allclose(1 - np.abs(resultant), d.variance.numpy(), atol=0.01)
        return
    # the sample mean is within 5 standard errors; the sample variance within 10%
    np.testing.assert_array_less(np.abs(samples.mean(0) - mean), 5 * std / np.sqrt(N) + 1e-12)
    np.testing.assert_allclose(samples.var(0), d.variance.numpy(), rtol=0.1, atol=1e-12)
    assert bool(d.support.check(ember.from_numpy(samples)).all()), f"{name} sampled outside its support"


def test_manual_seed_makes_sampling_reproducible():
    d = D.Gamma(t([0.5, 2.0]), t([1.0, 1.0]))
    ember.manual_seed(123)
    first = d.rsample((5,)).detach().numpy()
    ember.manual_seed(123)
    np.testing.assert_array_equal(d.rsample((5,)).detach().numpy(), first)
    ember.manual_seed(124)
    assert not np.array_equal(d.rsample((5,)).detach().numpy(), first)


def test_sample_is_detached_and_rsample_is_differentiable():
    loc = t([0.0, 1.0]).requires_grad_()
    d = D.Normal(loc, t([1.0, 2.0]))
    assert not d.sample().requires_grad
    assert d.rsample().requires_grad
    with pytest.raises(NotImplementedError):
        D.Poisson(t([1.0])).rsample()


def test_normal_rsample_gradient_is_the_pathwise_one():
    loc, scale = t([0.5, -1.0]).requires_grad_(), t([2.0, 0.5]).requires_grad_()
    x = D.Normal(loc, scale).rsample((7,))
    x.sum().backward()
    eps = (x.detach() - loc.detach()) / scale.detach()
    np.testing.assert_allclose(loc.grad.numpy(), [7.0, 7.0])
    np.testing.assert_allclose(scale.grad.numpy(), eps.sum(0).numpy(), rtol=1e-10)


def test_multivariate_normal_rsample_gradient_is_the_pathwise_one():
    L = t([[1.0, 0.0], [0.5, 2.0]]).requires_grad_()
    x = D.MultivariateNormal(t([0.0, 0.0]), scale_tril=L).rsample((3,))
    x[:, 1].sum().backward()
    eps = ember.linalg.solve_triangular(L.detach(), x.detach().mT, upper=False).mT  # x = L eps
    np.testing.assert_allclose(L.grad.numpy()[1], eps.sum(0).numpy(), rtol=1e-10)
    np.testing.assert_allclose(L.grad.numpy()[0], [0.0, 0.0])


@pytest.mark.parity
def test_gamma_rsample_gradient_matches_torch_implicit_gradient():
    torch = pytest.importorskip("torch")
    alpha = t([0.05, 0.3, 1.0, 4.0, 30.0]).requires_grad_()
    x = D.Gamma(alpha, t(1.0)).rsample((50,))
    x.sum().backward()
    theirs = torch._standard_gamma_grad(
        torch.tensor(alpha.detach().numpy()).expand(50, 5), torch.tensor(x.detach().numpy())
    )
    np.testing.assert_allclose(alpha.grad.numpy(), theirs.sum(0).numpy(), rtol=2e-3)


def test_gamma_rate_gradient_and_scaling():
    concentration, rate = t([2.0]).requires_grad_(), t([4.0]).requires_grad_()
    x = D.Gamma(concentration, rate).rsample((5,))
    x.sum().backward()
    np.testing.assert_allclose(rate.grad.numpy(), (-x.detach() / rate.detach()).sum(0).numpy(), rtol=1e-10)


@pytest.mark.parametrize("name", ["Gamma", "Beta", "Dirichlet", "StudentT", "Chi2"])
def test_implicit_rsample_gradients_are_unbiased(name):
    """d/dθ E[x] estimated from rsample gradients matches d/dθ of the analytic mean."""
    ember.manual_seed(0)
    a = t([0.7, 2.5]).requires_grad_()
    build = {
        "Gamma": lambda a: D.Gamma(a, t(2.0)),
        "Beta": lambda a: D.Beta(a, t(1.5)),
        "Dirichlet": lambda a: D.Dirichlet(ember.stack([a, t([1.0, 1.0]), t([2.0, 2.0])], -1)),
        "StudentT": lambda a: D.StudentT(t(5.0), a, t(1.0)),
        "Chi2": lambda a: D.Chi2(a),
    }[name]
    samples = build(a).rsample((N,))
    samples.reshape(N, 2, -1)[..., 0].mean(0).sum().backward()
    estimate = a.grad.numpy().copy()
    a.grad = None
    build(a).mean.reshape(2, -1)[..., 0].sum().backward()
    np.testing.assert_allclose(estimate, a.grad.numpy(), rtol=0.05, atol=0.01)


def test_categorical_sample_frequencies():
    ember.manual_seed(0)
    probs = t([[0.1, 0.0, 0.9], [0.3, 0.3, 0.4]])
    samples = D.Categorical(probs).sample((N,)).numpy()
    assert samples.dtype == np.int64
    counts = np.stack([(samples == k).mean(0) for k in range(3)], -1)
    np.testing.assert_allclose(counts, probs.numpy(), atol=0.015)
    assert (samples[:, 0] != 1).all()  # a zero-probability category is never drawn


def test_relaxed_samples_approach_hard_samples_at_low_temperature():
    ember.manual_seed(0)
    probs = t([0.2, 0.7])
    soft = D.RelaxedBernoulli(t(0.05), probs=probs).rsample((N,)).numpy()
    assert ((soft < 0.01) | (soft > 0.99)).mean() > 0.85  # about 0.92 at this temperature
    np.testing.assert_allclose((soft > 0.5).mean(0), probs.numpy(), atol=0.02)
    logits = t([0.0, 1.0, 2.0]).requires_grad_()
    relaxed = D.RelaxedOneHotCategorical(t(0.5), logits=logits).rsample((100,))
    np.testing.assert_allclose(relaxed.sum(-1).detach().numpy(), 1.0)
    relaxed[:, 0].sum().backward()
    assert logits.grad is not None and np.isfinite(logits.grad.numpy()).all()


def test_straight_through_one_hot_passes_probs_gradient():
    probs = t([0.2, 0.3, 0.5]).requires_grad_()
    sample = D.OneHotCategoricalStraightThrough(probs=probs).rsample()
    assert set(np.unique(sample.detach().numpy())) <= {0.0, 1.0}
    (sample * t([1.0, 2.0, 3.0])).sum().backward()
    assert np.abs(probs.grad.numpy()).sum() > 0


def test_sample_n_is_deprecated_but_works():
    with pytest.warns(FutureWarning, match="sample_n"):
        assert D.Normal(0.0, 1.0).sample_n(4).shape == (4,)


def test_lkj_cholesky_samples_are_correlation_factors_with_the_lkj_marginal():
    ember.manual_seed(0)
    L = D.LKJCholesky(3, t(2.0)).sample((N,))
    assert bool(D.constraints.corr_cholesky.check(L).all())
    corr = (L @ L.mT).numpy()
    np.testing.assert_allclose(np.diagonal(corr, axis1=-2, axis2=-1), 1.0, rtol=1e-10)
    # every off-diagonal correlation of LKJ(eta) in dimension d is Beta(eta - 1 + d/2, same) on [-1, 1]
    a = 2.0 - 1 + 3 / 2
    for i, j in ((0, 1), (0, 2), (1, 2)):
        assert abs(corr[:, i, j].mean()) < 0.02
        np.testing.assert_allclose(corr[:, i, j].var(), 1 / (2 * a + 1), rtol=0.05)


def test_wishart_rsample_is_differentiable():
    cov = t([[2.0, 0.6], [0.6, 1.0]]).requires_grad_()
    df = t(5.0).requires_grad_()
    D.Wishart(df, covariance_matrix=cov).rsample((3,)).sum().backward()
    assert np.isfinite(cov.grad.numpy()).all() and np.isfinite(df.grad.numpy()).all()


PATHWISE = {
    "Normal": lambda m, a, b: m.distributions.Normal(a, b),
    "Laplace": lambda m, a, b: m.distributions.Laplace(a, b),
    "Cauchy": lambda m, a, b: m.distributions.Cauchy(a, b),
    "Gumbel": lambda m, a, b: m.distributions.Gumbel(a, b),
    "Uniform": lambda m, a, b: m.distributions.Uniform(a, a + b),
    "Exponential": lambda m, a, b: m.distributions.Exponential(b),
    "LogNormal": lambda m, a, b: m.distributions.LogNormal(a, b),
    "HalfNormal": lambda m, a, b: m.distributions.HalfNormal(b),
    "Kumaraswamy": lambda m, a, b: m.distributions.Kumaraswamy(a.exp(), b),
}


@pytest.mark.parity
@pytest.mark.parametrize("name", sorted(PATHWISE))
def test_rsample_gradient_matches_torch_for_the_same_noise(name):
    """Our sample's uniform noise u = cdf(x) is fed to torch's icdf: for the same noise, torch's pathwise
    gradient must equal ours."""
    torch = pytest.importorskip("torch")
    values = {"a": np.array([0.3, -0.5, 1.2]), "b": np.array([0.7, 1.5, 2.0])}
    ours = {k: t(v).requires_grad_() for k, v in values.items()}
    theirs = {k: torch.tensor(v).requires_grad_() for k, v in values.items()}
    ember.manual_seed(0)
    d = PATHWISE[name](ember, **ours)
    x = d.rsample((4,))
    x.sum().backward()
    u = d.cdf(x.detach()).detach().numpy()
    torch_d = PATHWISE[name](torch, **theirs)
    torch_x = torch_d.icdf(torch.tensor(u))
    np.testing.assert_allclose(torch_x.detach().numpy(), x.detach().numpy(), rtol=1e-6, atol=1e-9)
    torch_x.sum().backward()
    for k in values:
        if theirs[k].grad is not None:
            np.testing.assert_allclose(ours[k].grad.numpy(), theirs[k].grad.numpy(), rtol=1e-5, atol=1e-8)


def test_categorical_sampling_over_several_batch_dims_and_many_categories():
    ember.manual_seed(0)
    probs = np.random.default_rng(3).uniform(0.0, 1.0, (2, 3, 5))
    probs[0, 1, 2] = 0.0
    probs /= probs.sum(-1, keepdims=True)
    samples = D.Categorical(t(probs)).sample((N,)).numpy()
    assert samples.shape == (N, 2, 3)
    counts = np.stack([(samples == k).mean(0) for k in range(5)], -1)
    np.testing.assert_allclose(counts, probs, atol=0.015)
    assert (samples[:, 0, 1] != 2).all()
    many = D.Categorical(logits=ember.randn(4, 30_000)).sample((50,))  # one search over all rows
    assert many.shape == (50, 4) and int(many.min()) >= 0 and int(many.max()) < 30_000
    counts = D.Multinomial(7, t(probs)).sample((N,)).numpy()
    assert counts.shape == (N, 2, 3, 5) and (counts.sum(-1) == 7).all()
    np.testing.assert_allclose(counts.mean(0), 7 * probs, atol=0.05)
