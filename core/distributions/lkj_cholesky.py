"""The LKJ distribution over Cholesky factors of correlation matrices."""

from __future__ import annotations

import math

import ember

from . import constraints
from .beta import Beta
from .distribution import Distribution
from .utils import broadcast_all, finfo

__all__ = ["LKJCholesky"]


class LKJCholesky(Distribution):
    """LKJ distribution (Lewandowski, Kurowicka & Joe, 2009) on lower Cholesky factors of ``dim x dim``
    correlation matrices; ``concentration`` 1 is uniform over correlation matrices. Sampling uses the onion
    method, as torch.

    Example:
        >>> import ember
        >>> from ember.distributions import LKJCholesky
        >>> LKJCholesky(3, 0.5).sample().shape
        ember.Size([3, 3])
    """

    arg_constraints = {"concentration": constraints.positive}
    support = constraints.corr_cholesky

    def __init__(self, dim: int, concentration=1.0, validate_args: bool | None = None):
        if dim < 2:
            raise ValueError(f"Expected dim to be an integer greater than or equal to 2. Found dim={dim}.")
        self.dim = dim
        (self.concentration,) = broadcast_all(concentration)
        batch_shape = self.concentration.shape
        # The onion method (Lewandowski et al., 2009, Sec. 3.2): the squared norm of row k's off-diagonal part
        # is Beta(k / 2, eta + (dim - 2) / 2 - (k - 1) / 2). torch 2.13 uses k - 1/2 for the first
        # concentration (arange(dim - 1) + 0.5 where 0.5 * arange(dim - 1) + 0.5 is meant), which makes rows
        # 2.. too correlated and its samples disagree with its own log_prob; Ember samples the LKJ law.
        marginal_conc = self.concentration + 0.5 * (self.dim - 2)
        offset = 0.5 * ember.arange(self.dim - 1, dtype=self.concentration.dtype)
        offset = ember.cat([ember.zeros(1, dtype=offset.dtype), offset])
        beta_conc1 = offset + 0.5
        beta_conc0 = marginal_conc.unsqueeze(-1) - offset
        self._beta = Beta(beta_conc1, beta_conc0)
        super().__init__(batch_shape, (dim, dim), validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(LKJCholesky, _instance)
        batch_shape = ember.Size(batch_shape)
        new.dim = self.dim
        new.concentration = self.concentration.expand(batch_shape)
        new._beta = self._beta.expand(batch_shape + (self.dim,))
        super(LKJCholesky, new).__init__(batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def sample(self, sample_shape=()):
        with ember.no_grad():
            y = self._beta.sample(sample_shape).unsqueeze(-1)
            u_normal = ember.randn(tuple(self._extended_shape(sample_shape)), dtype=y.dtype).tril(-1)
            norm = (u_normal**2).sum(-1, keepdim=True).sqrt()
            u_hypersphere = u_normal / ember.where(norm == 0, 1.0, norm)  # the first row is all zeros
            w = ember.sqrt(y) * u_hypersphere
            diag_elems = (1 - (w**2).sum(-1)).clamp(min=float(finfo(w).tiny)).sqrt()
            return w + ember.diag_embed(diag_elems)

    def log_prob(self, value):
        # the density of L when L L^T ~ LKJ(concentration): prod_i L_ii^(2 (c - 1) + dim - i), i = 2..dim
        if self._validate_args:
            self._validate_sample(value)
        diag_elems = value.diagonal(dim1=-1, dim2=-2)[..., 1:]
        order = ember.arange(2, self.dim + 1, dtype=self.concentration.dtype)
        order = 2 * (self.concentration - 1).unsqueeze(-1) + self.dim - order
        unnormalized_log_pdf = (order * diag_elems.log()).sum(-1)
        dm1 = self.dim - 1
        alpha = self.concentration + 0.5 * dm1
        denominator = ember.lgamma(alpha) * dm1
        numerator = ember.mvlgamma(alpha - 0.5, p=dm1)
        pi_constant = 0.5 * dm1 * math.log(math.pi)
        return unnormalized_log_pdf - (pi_constant + numerator - denominator)
