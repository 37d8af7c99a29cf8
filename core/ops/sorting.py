"""Sorting and selection: sort, argsort, topk, median, unique, bincount.

Indices never carry gradients; values are gathered from the input, so their gradient flows
back to the selected elements through ``gather``.
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from ._util import normalize_dim
from .index import gather
from .reduce import _MinMaxResult


def _order(data: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    """Stable argsort; descending keeps equal elements in their original order, as PyTorch's stable sort."""
    if not descending:
        return np.argsort(data, axis=axis, kind="stable")
    if data.dtype.kind in "bu":
        data = data.astype(np.int64)
    return np.argsort(-data, axis=axis, kind="stable")


def sort(input, dim: int = -1, descending: bool = False, stable: bool = False):
    """``(values, indices)`` sorted along ``dim``; NaNs sort last (ascending), as in PyTorch."""
    if input._data.ndim == 0:
        return _MinMaxResult(input, Tensor._wrap(np.zeros((), np.int64)))
    axis = normalize_dim(dim, input._data.ndim, "sort")
    indices = Tensor._wrap(_order(input._data, axis, descending).astype(np.int64))
    return _MinMaxResult(gather(input, axis, indices), indices)


def argsort(input, dim: int = -1, descending: bool = False, stable: bool = False):
    return sort(input, dim, descending, stable).indices


def topk(input, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):  # noqa: A002
    """The ``k`` largest (or smallest) elements along ``dim`` and their indices."""
    axis = normalize_dim(dim, input._data.ndim, "topk")
    size = input._data.shape[axis] if input._data.ndim else 1
    if not 0 <= k <= size:
        raise RuntimeError(f"topk: k ({k}) is out of range for dimension {dim} of size {size}")
    order = _order(input._data, axis, descending=largest)
    indices = Tensor._wrap(np.take(order, np.arange(k), axis=axis).astype(np.int64))
    return _MinMaxResult(gather(input, axis, indices), indices)


def kthvalue(input, k: int, dim: int = -1, keepdim: bool = False):
    axis = normalize_dim(dim, input._data.ndim, "kthvalue")
    order = _order(input._data, axis, descending=False)
    indices = Tensor._wrap(np.take(order, [k - 1], axis=axis).astype(np.int64))
    values = gather(input, axis, indices)
    if not keepdim:
        values, indices = values.squeeze(axis), indices.squeeze(axis)
    return _MinMaxResult(values, indices)


def median(input, dim: int | None = None, keepdim: bool = False):
    """The lower median (PyTorch's: no averaging of the two middle values); with ``dim``, also indices."""
    if dim is None:
        flat = input.reshape(-1)
        return kthvalue(flat, (flat.shape[0] + 1) // 2, 0).values
    axis = normalize_dim(dim, input._data.ndim, "median")
    return kthvalue(input, (input._data.shape[axis] + 1) // 2, axis, keepdim)


def unique(input, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False,  # noqa: A002
           dim: int | None = None):
    values, inverse, counts = np.unique(input._data, return_inverse=True, return_counts=True, axis=dim)
    out = [Tensor._wrap(values)]
    if return_inverse:
        out.append(Tensor._wrap(inverse.reshape(input._data.shape if dim is None else -1).astype(np.int64)))
    if return_counts:
        out.append(Tensor._wrap(counts.astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


def bincount(input, weights=None, minlength: int = 0):
    if input._data.ndim != 1 or input._data.dtype.kind not in "iu":
        raise RuntimeError(f"bincount only supports 1-d non-negative integral inputs, got {input.dtype} "
                           f"of shape {tuple(input.shape)}")
    w = None if weights is None else weights._data
    counts = np.bincount(input._data, weights=w, minlength=minlength)
    return Tensor._wrap(counts.astype(np.int64) if w is None else counts.astype(w.dtype))

