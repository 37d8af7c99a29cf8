"""``ExponentialFamily``: families whose density is ``h(x) exp(<θ, t(x)> - F(θ))``."""

from __future__ import annotations

import ember

from .distribution import Distribution

__all__ = ["ExponentialFamily"]


class ExponentialFamily(Distribution):
    """Base of exponential families: a family gives its natural parameters ``θ`` (``_natural_params``), its
    log normalizer ``F`` (``_log_normalizer``) and ``E[log h(x)]`` (``_mean_carrier_measure``); entropy and
    same-family KL divergence then follow from Bregman divergences of ``F``."""

    @property
    def _natural_params(self):
        raise NotImplementedError

    def _log_normalizer(self, *natural_params):
        raise NotImplementedError

    @property
    def _mean_carrier_measure(self):
        raise NotImplementedError

    def entropy(self):
        """``F(θ) - <θ, ∇F(θ)> - E[log h(x)]``, by automatic differentiation of the log normalizer."""
        result = -self._mean_carrier_measure
        nparams = [p.detach().requires_grad_() for p in self._natural_params]
        lg_normal = self._log_normalizer(*nparams)
        gradients = ember.autograd.grad(lg_normal.sum(), nparams, create_graph=True)
        result = result + lg_normal
        for nparam, g in zip(nparams, gradients):
            result = result - (nparam * g).reshape(*self._batch_shape, -1).sum(-1)
        return result
