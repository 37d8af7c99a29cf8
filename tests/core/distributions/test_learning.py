"""Distributions inside an optimisation loop, as users run them: maximum likelihood through transform_to,
and a variational fit through reparameterised (implicit) Gamma gradients."""

from __future__ import annotations

import numpy as np

import ember
from ember import distributions as D


def test_maximum_likelihood_recovers_a_covariance():
    ember.manual_seed(0)
    true_cov = np.array([[2.0, 0.8], [0.8, 1.0]])
    data = ember.from_numpy(np.random.default_rng(0).multivariate_normal([1.0, -2.0], true_cov, 500))
    loc = ember.zeros(2, dtype=ember.float64, requires_grad=True)
    unconstrained = ember.zeros(2, 2, dtype=ember.float64, requires_grad=True)
    to_tril = D.transform_to(D.constraints.lower_cholesky)
    optimizer = ember.optim.Adam([loc, unconstrained], lr=0.1)
    for _ in range(150):
        optimizer.zero_grad()
        loss = -D.MultivariateNormal(loc, scale_tril=to_tril(unconstrained)).log_prob(data).mean()
        loss.backward()
        optimizer.step()
    fitted = D.MultivariateNormal(loc, scale_tril=to_tril(unconstrained))
    np.testing.assert_allclose(loc.detach().numpy(), data.numpy().mean(0), atol=0.02)
    np.testing.assert_allclose(fitted.covariance_matrix.detach().numpy(), np.cov(data.numpy().T), atol=0.05)


def test_variational_fit_through_gamma_rsample():
    ember.manual_seed(0)
    target = D.Gamma(ember.tensor(3.0), ember.tensor(2.0))
    raw = ember.zeros(2, requires_grad=True)
    optimizer = ember.optim.Adam([raw], lr=0.1)
    for _ in range(200):
        optimizer.zero_grad()
        q = D.Gamma(*ember.nn.functional.softplus(raw).unbind())
        x = q.rsample((64,))
        (q.log_prob(x) - target.log_prob(x)).mean().backward()  # a Monte Carlo KL(q || target)
        optimizer.step()
    q = D.Gamma(*ember.nn.functional.softplus(raw).unbind())
    assert float(D.kl_divergence(q, target)) < 0.02
    np.testing.assert_allclose(q.mean.item(), 1.5, rtol=0.1)
