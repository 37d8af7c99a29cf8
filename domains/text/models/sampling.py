"""Choosing the next token from logits: temperature, top-k and nucleus (top-p) sampling."""

from __future__ import annotations

import numpy as np
from ember.random import Generator, default_generator


def sample_next_token(logits, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
                      generator: Generator | None = None) -> np.ndarray:
    """Draws one token per row of ``logits`` ``(B, V)``; returns int64 ids ``(B,)``.

    Args:
        logits: unnormalised scores (a tensor or an array).
        temperature: divides the logits; ``0`` picks the most likely token (greedy).
        top_k: keep only the ``k`` most likely tokens.
        top_p: keep the smallest set of most likely tokens whose probability reaches ``top_p``.
        generator: the ember ``Generator`` to draw from (default: Ember's default generator, so
            ``ember.manual_seed`` makes sampling reproducible).

    Example:
        >>> import numpy as np, ember
        >>> sample_next_token(np.array([[0.0, 5.0, 1.0]]), temperature=0).tolist()
        [1]
    """
    scores = np.asarray(logits, dtype=np.float64)
    if scores.ndim != 2:
        raise ValueError(f"sample_next_token: expected logits of shape (B, V), got {scores.shape}")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if temperature == 0:
        return scores.argmax(-1).astype(np.int64)
    scores = scores / temperature
    if top_k is not None:
        k = min(int(top_k), scores.shape[-1])
        if k < 1:
            raise ValueError(f"top_k must be >= 1, got {top_k}")
        kth = np.sort(scores, axis=-1)[:, -k][:, None]
        scores = np.where(scores < kth, -np.inf, scores)
    probs = np.exp(scores - scores.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    if top_p is not None and top_p < 1.0:
        order = np.argsort(-probs, axis=-1, kind="stable")
        sorted_probs = np.take_along_axis(probs, order, -1)
        # drop a token when the tokens before it already reach top_p (the first token is always kept)
        before = np.cumsum(sorted_probs, -1) - sorted_probs
        sorted_probs[before >= top_p] = 0.0
        probs = np.zeros_like(probs)
        np.put_along_axis(probs, order, sorted_probs, -1)
        probs /= probs.sum(-1, keepdims=True)
    rng = (generator if generator is not None else default_generator).np
    u = rng.random((probs.shape[0], 1))
    ids = (np.cumsum(probs, -1) < u).sum(-1)
    # guard against rounding at the top of the cumulative sum: never pick a zero-probability token
    ids = np.minimum(ids, probs.shape[-1] - 1)
    bad = probs[np.arange(len(ids)), ids] == 0
    if bad.any():
        ids[bad] = probs[bad].argmax(-1)
    return ids.astype(np.int64)
