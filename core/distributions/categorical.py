"""The categorical distribution over ``{0, ..., K-1}``."""

from __future__ import annotations

import numpy as np

import ember

from . import constraints
from .distribution import Distribution
from .utils import check_one_of, finfo, lazy_property, logits_to_probs, probs_to_logits, shape_of

__all__ = ["Categorical"]


class Categorical(Distribution):
    """Categorical distribution over ``K`` categories, parameterised by ``probs`` (non-negative, normalised
    along the last dim) or ``logits`` (unnormalised log-probabilities).

    Example:
        >>> import ember
        >>> from ember.distributions import Categorical
        >>> Categorical(probs=ember.tensor([0.2, 0.8])).log_prob(ember.tensor(1))
        tensor(-0.2231)
    """

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.independent(constraints.real, 1)}
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args: bool | None = None):
        check_one_of(probs, logits)
        if probs is not None:
            if probs.dim() < 1:
                raise ValueError("`probs` parameter must be at least one-dimensional.")
            self.probs = probs / probs.sum(-1, keepdim=True)
        else:
            if logits.dim() < 1:
                raise ValueError("`logits` parameter must be at least one-dimensional.")
            self.logits = logits - logits.logsumexp(dim=-1, keepdim=True)
        self._param = self.probs if probs is not None else self.logits
        self._num_events = self._param.shape[-1]
        batch_shape = self._param.shape[:-1] if self._param.dim() > 1 else ()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Categorical, _instance)
        batch_shape = ember.Size(batch_shape)
        param_shape = (*batch_shape, self._num_events)
        if "probs" in self.__dict__:
            new.probs = self.probs.expand(param_shape)
            new._param = new.probs
        if "logits" in self.__dict__:
            new.logits = self.logits.expand(param_shape)
            new._param = new.logits
        new._num_events = self._num_events
        super(Categorical, new).__init__(batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self._num_events - 1)

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs)

    @lazy_property
    def probs(self):
        return logits_to_probs(self.logits)

    @property
    def param_shape(self) -> ember.Size:
        return self._param.shape

    @property
    def mean(self):
        return ember.full(self._extended_shape(), float("nan"), dtype=self.probs.dtype)

    @property
    def mode(self):
        return self.probs.argmax(-1)

    @property
    def variance(self):
        return ember.full(self._extended_shape(), float("nan"), dtype=self.probs.dtype)

    def sample(self, sample_shape=()):
        shape = tuple(self._extended_shape(shape_of(sample_shape)))
        k = self._num_events
        cdf = np.cumsum(self.probs.detach().numpy().astype(np.float64), axis=-1).reshape(-1, k)
        cdf /= cdf[:, -1:]
        u = ember.rand(shape, dtype=self.probs.dtype).numpy().astype(np.float64).reshape(-1, cdf.shape[0])
        # inverse-CDF sampling for every row at once: row r's cdf is shifted to (r, r + 1], so one sorted
        # search over all rows finds, for u + r, the first category whose cdf exceeds u
        rows = np.arange(cdf.shape[0])
        index = np.searchsorted((cdf + rows[:, None]).ravel(), (u + rows).ravel(), side="right")
        index = np.minimum(index.reshape(u.shape) - rows * k, k - 1)
        return ember.from_numpy(index.reshape(shape).astype(np.int64))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        value = value.long().unsqueeze(-1)
        value, log_pmf = ember.broadcast_tensors(value, self.logits)
        value = value[..., :1]
        return log_pmf.gather(-1, value).squeeze(-1)

    def entropy(self):
        logits = self.logits.clamp(min=float(finfo(self.logits).min))
        return -(logits * self.probs).sum(-1)

    def enumerate_support(self, expand: bool = True):
        values = ember.arange(self._num_events, dtype=ember.int64)
        values = values.reshape(-1, *(1,) * len(self._batch_shape))
        return values.expand(-1, *self._batch_shape) if expand else values
