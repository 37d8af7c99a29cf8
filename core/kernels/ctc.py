"""CTC loss: forward-backward (alpha / beta) recursions in log space, one batch item per parallel iteration."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._threads import adaptive


@njit(cache=True)
def _lse(a, b):
    if a == -np.inf:
        return b
    if b == -np.inf:
        return a
    if a > b:
        return a + np.log1p(np.exp(b - a))
    return b + np.log1p(np.exp(a - b))


@adaptive()
def ctc_loss(lp, targets, starts, input_lengths, target_lengths, blank):
    """lp (T, N, C) float64 log-probabilities -> (nll (N,), d nll / d lp (T, N, C))."""
    t_size, n_size, c_size = lp.shape
    nll = np.empty(n_size, dtype=np.float64)
    grad = np.zeros((t_size, n_size, c_size), dtype=np.float64)
    for n in prange(n_size):
        t_n = input_lengths[n]
        length = target_lengths[n]
        s_size = 2 * length + 1
        labels = np.empty(s_size, dtype=np.int64)
        for s in range(s_size):
            labels[s] = blank if s % 2 == 0 else targets[starts[n] + s // 2]
        if t_n == 0:
            nll[n] = 0.0 if length == 0 else np.inf
            continue
        alpha = np.full((t_n, s_size), -np.inf)
        alpha[0, 0] = lp[0, n, blank]
        if s_size > 1:
            alpha[0, 1] = lp[0, n, labels[1]]
        for t in range(1, t_n):
            for s in range(s_size):
                a = alpha[t - 1, s]
                if s >= 1:
                    a = _lse(a, alpha[t - 1, s - 1])
                if s >= 2 and labels[s] != blank and labels[s] != labels[s - 2]:
                    a = _lse(a, alpha[t - 1, s - 2])
                if a != -np.inf:
                    alpha[t, s] = a + lp[t, n, labels[s]]
        log_p = alpha[t_n - 1, s_size - 1]
        if s_size > 1:
            log_p = _lse(log_p, alpha[t_n - 1, s_size - 2])
        nll[n] = -log_p
        if log_p == -np.inf:
            continue
        beta = np.full((t_n, s_size), -np.inf)
        beta[t_n - 1, s_size - 1] = lp[t_n - 1, n, labels[s_size - 1]]
        if s_size > 1:
            beta[t_n - 1, s_size - 2] = lp[t_n - 1, n, labels[s_size - 2]]
        for t in range(t_n - 2, -1, -1):
            for s in range(s_size):
                b = beta[t + 1, s]
                if s + 1 < s_size:
                    b = _lse(b, beta[t + 1, s + 1])
                if s + 2 < s_size and labels[s + 2] != blank and labels[s + 2] != labels[s]:
                    b = _lse(b, beta[t + 1, s + 2])
                if b != -np.inf:
                    beta[t, s] = b + lp[t, n, labels[s]]
        lcab = np.full(c_size, -np.inf)
        for t in range(t_n):
            for c in range(c_size):
                lcab[c] = -np.inf
            for s in range(s_size):
                lcab[labels[s]] = _lse(lcab[labels[s]], alpha[t, s] + beta[t, s])
            for c in range(c_size):
                if lcab[c] != -np.inf:
                    grad[t, n, c] = -np.exp(lcab[c] - lp[t, n, c] - log_p)
    return nll, grad
