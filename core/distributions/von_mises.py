"""The von Mises distribution on the circle."""

from __future__ import annotations

import math

import numpy as np

import ember

from . import constraints
from .distribution import Distribution
from .utils import broadcast_all, numpy_generator

__all__ = ["VonMises"]


def _log_i0(x):
    return ember.log(ember.special.i0e(x)) + x  # log I0(x), stable for large x


class VonMises(Distribution):
    """Von Mises (circular normal) distribution with mean direction ``loc`` and ``concentration``.
    Samples lie in ``[-pi, pi)``; sampling is not reparameterised (as in torch).

    Example:
        >>> import ember
        >>> from ember.distributions import VonMises
        >>> VonMises(ember.tensor(0.0), ember.tensor(1.0)).log_prob(ember.tensor(0.0))
        tensor(-1.0738)
    """

    arg_constraints = {"loc": constraints.real, "concentration": constraints.positive}
    support = constraints.real
    has_rsample = False

    def __init__(self, loc, concentration, validate_args: bool | None = None):
        self.loc, self.concentration = broadcast_all(loc, concentration)
        super().__init__(self.loc.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(VonMises, _instance)
        batch_shape = ember.Size(batch_shape)
        new.loc = self.loc.expand(batch_shape)
        new.concentration = self.concentration.expand(batch_shape)
        super(VonMises, new).__init__(batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        log_prob = self.concentration * ember.cos(value - self.loc)
        return log_prob - math.log(2 * math.pi) - _log_i0(self.concentration)

    def sample(self, sample_shape=()):
        """Best & Fisher's rejection sampler (numpy's ``vonmises``), wrapped into ``[-pi, pi)``."""
        shape = tuple(self._extended_shape(sample_shape))
        loc = np.broadcast_to(self.loc.detach().numpy().astype(np.float64), shape)
        kappa = np.broadcast_to(self.concentration.detach().numpy().astype(np.float64), shape)
        x = numpy_generator().vonmises(loc, kappa)
        x = np.mod(x + math.pi, 2 * math.pi) - math.pi
        return ember.from_numpy(np.asarray(x, dtype=self.loc.dtype.numpy))

    @property
    def mean(self):
        """The circular mean (``loc``)."""
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        """The circular variance ``1 - I1(k) / I0(k)``."""
        return 1 - ember.special.i1e(self.concentration) / ember.special.i0e(self.concentration)
