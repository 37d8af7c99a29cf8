"""Similarities and distances: ``cosine_similarity``, ``pairwise_distance``, ``pdist``."""

from __future__ import annotations

import numpy as np

from ..._numpy_names import dim_from_axis, keepdim_from_keepdims
from ...tensor import Tensor

__all__ = ["cosine_similarity", "pairwise_distance", "pdist"]


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8, *, axis=None) -> Tensor:
    """``x1 . x2 / (max(||x1||, eps) * max(||x2||, eps))`` along ``dim`` (inputs broadcast).

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.cosine_similarity(ember.tensor([[1.0, 0.0]]), ember.tensor([[1.0, 1.0]]))
        tensor([0.7071])
    """
    if axis is not None:
        dim = dim_from_axis("cosine_similarity", dim, axis, 1)
    n1 = x1.norm(2, dim, keepdim=True).clamp_min(eps)
    n2 = x2.norm(2, dim, keepdim=True).clamp_min(eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False, *,
                      keepdims=None) -> Tensor:
    """``||x1 - x2 + eps||_p`` over the last dimension.

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.pairwise_distance(ember.tensor([[0.0, 0.0]]), ember.tensor([[3.0, 4.0]]), eps=0.0)
        tensor([5.])
    """
    if keepdims is not None:
        keepdim = keepdim_from_keepdims("pairwise_distance", keepdim, keepdims)
    return (x1 - x2 + eps).norm(p, -1, keepdim=keepdim)


def pdist(input: Tensor, p: float = 2.0) -> Tensor:
    """Distances between all pairs of rows of ``input`` (N, M): the upper triangle, row by row."""
    n = input.shape[0]
    rows, cols = np.triu_indices(n, 1)
    return (input[Tensor._wrap(rows)] - input[Tensor._wrap(cols)]).norm(p, -1)
