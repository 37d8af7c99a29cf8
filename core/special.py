"""``ember.special``: torch.special's functions, with gradients.

Example:
    >>> import ember
    >>> ember.special.gammaln(ember.tensor([1.0, 4.0]))
    tensor([0.0000, 1.7918])
"""

from __future__ import annotations

from .ops.special import digamma, erfinv, i0, i0e, i1, i1e, ndtri, polygamma, xlogy
from .ops.special import igamma as gammainc
from .ops.special import igammac as gammaincc
from .ops.special import lgamma as gammaln
from .ops.unary import erf

psi = digamma

__all__ = ["digamma", "erf", "erfinv", "gammainc", "gammaincc", "gammaln", "i0", "i0e", "i1", "i1e", "ndtri",
           "polygamma", "psi", "xlogy"]
