"""Helpers the families share: broadcasting parameters, probs <-> logits, lazy properties."""

from __future__ import annotations

import functools
import numbers

import numpy as np

import ember

__all__ = [
    "broadcast_all",
    "clamp_probs",
    "euler_constant",
    "lazy_property",
    "logits_to_probs",
    "probs_to_logits",
    "tril_matrix_to_vec",
    "vec_to_tril_matrix",
]

euler_constant = 0.57721566490153286060  # Euler-Mascheroni


def broadcast_all(*values):
    """Broadcasts numbers and tensors to one shape; numbers become tensors of the first tensor's dtype
    (the default dtype when every value is a number), as ``torch.distributions.utils.broadcast_all``."""
    if not all(isinstance(v, (ember.Tensor, numbers.Number)) for v in values):
        raise ValueError("Input arguments must all be instances of numbers.Number or ember.Tensor.")
    tensors = [v for v in values if isinstance(v, ember.Tensor)]
    dtype = tensors[0].dtype if tensors else ember.get_default_dtype()
    values = [v if isinstance(v, ember.Tensor) else ember.tensor(v, dtype=dtype) for v in values]
    return ember.broadcast_tensors(*values)


def finfo(t: ember.Tensor) -> np.finfo:
    """numpy's ``finfo`` of a floating tensor's dtype (``torch.finfo(t.dtype)``)."""
    return np.finfo(t.dtype.numpy)


def standard_normal(shape, like: ember.Tensor) -> ember.Tensor:
    """Standard normal noise of ``shape`` in ``like``'s dtype, from Ember's default generator."""
    return ember.randn(tuple(shape), dtype=like.dtype)


def sum_rightmost(value: ember.Tensor, dim: int) -> ember.Tensor:
    """Sums out the ``dim`` rightmost dimensions of ``value``."""
    if dim == 0:
        return value
    return value.reshape(*value.shape[: value.ndim - dim], -1).sum(-1)


def logits_to_probs(logits: ember.Tensor, is_binary: bool = False) -> ember.Tensor:
    """Probabilities from logits: a sigmoid for binary, a softmax over the last dim otherwise."""
    return ember.sigmoid(logits) if is_binary else ember.softmax(logits, dim=-1)


def clamp_probs(probs: ember.Tensor) -> ember.Tensor:
    """Clamps probabilities into ``[eps, 1 - eps]`` (eps of their dtype)."""
    eps = float(finfo(probs).eps)
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs: ember.Tensor, is_binary: bool = False) -> ember.Tensor:
    """Logits from probabilities: log-odds for binary, log-probabilities otherwise."""
    ps_clamped = clamp_probs(probs)
    if is_binary:
        return ember.log(ps_clamped) - ember.log1p(-ps_clamped)
    return ember.log(ps_clamped)


def shape_of(sample_shape) -> ember.Size:
    if type(sample_shape) is ember.Size:  # (every distribution's constructor passes one or two)
        return sample_shape
    return ember.Size(map(int, sample_shape))


class lazy_property:
    """A property computed on first access and then stored on the instance (torch's ``lazy_property``)."""

    def __init__(self, wrapped):
        self.wrapped = wrapped
        functools.update_wrapper(self, wrapped)

    def __get__(self, instance, obj_type=None):
        if instance is None:
            return _lazy_property_and_property(self.wrapped)
        with ember.enable_grad():
            value = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, value)
        return value


class _lazy_property_and_property(lazy_property, property):
    """Lets ``Class.attr`` be documented as a property while instances compute it lazily."""

    def __init__(self, wrapped):
        property.__init__(self, wrapped)


def numpy_generator():
    """The numpy generator behind Ember's default generator (``ember.manual_seed`` reseeds it)."""
    return ember.default_generator.np


def check_one_of(probs, logits) -> None:
    """Raises torch's error unless exactly one of ``probs`` and ``logits`` is given."""
    if (probs is None) == (logits is None):
        raise ValueError("Either `probs` or `logits` must be specified, but not both.")


def _tril_selection(n: int, diag: int, like) -> ember.Tensor:
    """The 0/1 matrix mapping the row-ordered lower-triangular entries of an n x n matrix to its flat form."""
    rows, cols = np.nonzero(np.arange(n) < np.arange(n).reshape(-1, 1) + (diag + 1))
    selection = np.zeros((len(rows), n * n), dtype=like.dtype.numpy)
    selection[np.arange(len(rows)), rows * n + cols] = 1
    return ember.from_numpy(selection)


def tril_matrix_to_vec(mat: ember.Tensor, diag: int = 0) -> ember.Tensor:
    """The lower-triangular entries (below diagonal ``diag``) of a batch of square matrices, in row order."""
    n = mat.shape[-1]
    if diag < -n or diag >= n:
        raise ValueError(f"diag ({diag}) provided is outside [{-n}, {n - 1}].")
    return mat.reshape(*mat.shape[:-2], n * n) @ _tril_selection(n, diag, mat).mT


def vec_to_tril_matrix(vec: ember.Tensor, diag: int = 0) -> ember.Tensor:
    """The inverse of ``tril_matrix_to_vec``: a batch of lower-triangular matrices from row-ordered entries."""
    # the positive root of D^2 + (1 + 2 diag) D - |diag| (diag + 1) - 2 len(vec) = 0
    n = (-(1 + 2 * diag) + ((1 + 2 * diag) ** 2 + 8 * vec.shape[-1] + 4 * abs(diag) * (diag + 1)) ** 0.5) / 2
    if abs(round(n) - n) > float(finfo(vec).eps):
        raise ValueError(
            f"The size of last dimension is {vec.shape[-1]} which cannot be expressed as "
            "the lower triangular part of a square D x D matrix."
        )
    n = round(n)
    return (vec @ _tril_selection(n, diag, vec)).reshape(*vec.shape[:-1], n, n)
