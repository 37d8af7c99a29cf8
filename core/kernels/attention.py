"""Scaled dot-product attention on arrays, ``softmax(q kᵀ · scale + bias) v`` for each matrix of a batch, and
its gradients, with the batch's leading axis shared out between the kernel threads.

``q`` (B, ..., L, E), ``k`` (B, ..., S, E) and ``v`` (B, ..., S, Ev) may be strided views (the heads of one
packed projection, say) as long as each matrix has a unit stride along one axis, which BLAS takes as it is;
the products write straight into the caller's arrays (``out``, ``dq``, ``dk``, ``dv``: views of an output in
its final layout, or of one packed gradient), so no head is copied in or out. ``bias``, ``blocked`` and
``keep`` are None or arrays of the full (B, ..., L, S) shape (``np.broadcast_to`` views are fine).

Each thread takes a contiguous range of the leading axis: its products (numpy's ``matmul`` into BLAS) and
its row kernels (``softmax``'s, compiled ``nogil``) release the GIL, so the pieces run side by side, with
OpenBLAS held at one thread meanwhile (two callers each asking for its two threads would queue).
"""

from __future__ import annotations

import numba
import numpy as np

from . import _threads
from .softmax import safe_softmax_, softmax_backward

# attention weights (B * ... * L * S) from which the batch is split between threads: best of 400 calls of
# forward + backward, one and two threads interleaved (shared machine): 18432 weights 93 vs 143 us,
# 65536 445 vs 347 us, 101400 1092 vs 760 us. EMBER_SPLIT_WORK overrides it, as every Split kernel's.
SPLIT_WORK = _threads.SPLIT_WORK if _threads.SPLIT_WORK is not None else 1 << 16


def _swap(a: np.ndarray) -> np.ndarray:
    return np.swapaxes(a, -1, -2)


def _run(piece, args, batch: int, work: int) -> None:
    """``piece(*args, start, stop)`` over ``range(batch)``: on every kernel thread from ``SPLIT_WORK`` on."""
    threads = min(numba.get_num_threads(), batch) if work >= SPLIT_WORK else 1
    if threads <= 1:
        piece(*args, 0, batch)
        return
    with _threads.one_blas_thread(0):
        _threads._pool.run(piece, args, batch, threads)


def forward(q, k, v, scale: float, bias, blocked, keep, out) -> np.ndarray:
    """Writes the attention's output into ``out`` (B, ..., L, Ev); returns the weights ``p`` (B, ..., L, S)
    before dropout, C-contiguous. A row that may attend nowhere (every score -inf) gets zero weights."""
    p = np.empty(q.shape[:-1] + (k.shape[-2],), q.dtype)
    _run(_forward_piece, (q, k, v, q.dtype.type(scale), bias, blocked, keep, out, p), q.shape[0], p.size)
    return p


def _forward_piece(q, k, v, scale, bias, blocked, keep, out, p, start, stop):
    s = p[start:stop]
    np.matmul(q[start:stop], _swap(k[start:stop]), out=s)
    s *= scale
    if bias is not None:
        s += bias[start:stop]
    if blocked is not None:
        np.copyto(s, -np.inf, where=blocked[start:stop])
    safe_softmax_(s)
    np.matmul(s if keep is None else s * keep[start:stop], v[start:stop], out=out[start:stop])


def backward(q, k, v, p, keep, grad, scale: float, dq, dk, dv, dbias) -> None:
    """The gradients from the output's gradient ``grad`` (B, ..., L, Ev), written into those of ``dq``,
    ``dk``, ``dv`` (shaped as q, k, v) and ``dbias`` (B, ..., L, S: the scores' gradient before the scale)
    that are not None."""
    args = (q, k, v, p, keep, grad, p.dtype.type(scale), dq, dk, dv, dbias)
    _run(_backward_piece, args, q.shape[0], p.size)


def _backward_piece(q, k, v, p, keep, grad, scale, dq, dk, dv, dbias, start, stop):
    p, g = p[start:stop], grad[start:stop]
    kept = p if keep is None else p * keep[start:stop]
    if dv is not None:
        np.matmul(_swap(kept), g, out=dv[start:stop])
    ds = np.matmul(g, _swap(v[start:stop]))  # the weights' gradient, then the scores' (in place)
    if keep is not None:
        ds *= keep[start:stop]
    if dbias is not None:
        softmax_backward(p, ds, 1.0, out=dbias[start:stop], threads=False)
        ds = dbias[start:stop] * scale
    else:
        softmax_backward(p, ds, scale, out=ds, threads=False)
    if dq is not None:
        np.matmul(ds, k[start:stop], out=dq[start:stop])
    if dk is not None:
        np.matmul(_swap(ds), q[start:stop], out=dk[start:stop])
