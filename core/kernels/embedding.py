"""Embedding backward: rows of the output gradient scatter-added into the weight gradient."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def embedding_backward(grad, indices, num_embeddings, padding_idx, scale_grad_by_freq):
    """grad (M, D), indices (M,) -> weight gradient (num_embeddings, D); padding_idx rows stay 0."""
    m_size, d_size = grad.shape
    out = np.zeros((num_embeddings, d_size), dtype=grad.dtype)
    counts = np.zeros(num_embeddings, dtype=np.int64)
    if scale_grad_by_freq:
        for i in range(m_size):
            counts[indices[i]] += 1
    for i in range(m_size):
        row = indices[i]
        if row == padding_idx:
            continue
        scale = 1.0 / counts[row] if scale_grad_by_freq else 1.0
        for j in range(d_size):
            out[row, j] += grad[i, j] * scale
    return out
