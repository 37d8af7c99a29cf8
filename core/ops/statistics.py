"""Statistics over a tensor: var / std (and their ``_mean`` pairs), cov and corrcoef. (quantile, median,
mode and the histograms sort or count, so they live in sorting.py.)"""

from __future__ import annotations

import math

import numpy as np

from .._numpy_names import numpy_names
from ..tensor import Tensor
from ._util import default_float, normalize_dims
from .arithmetic import maximum
from .complex_ops import abs_squared
from .reduce import mean, sum
from .unary import sqrt


def var(input, dim=None, *, correction=1, keepdim: bool = False, unbiased=None, axis=None, keepdims=None):
    """Variance with Bessel's ``correction`` (1 by default, as in PyTorch)."""
    if axis is not None or keepdims is not None:
        dim, keepdim = numpy_names("var", dim, keepdim, axis, keepdims)
    if unbiased is not None:
        correction = 1 if unbiased else 0
    if isinstance(dim, bool):  # var(x, False) is the old unbiased positional form
        correction, dim = (1 if dim else 0), None
    input = default_float(input)
    axes = normalize_dims(dim, input._data.ndim, "var")
    n = math.prod(input._data.shape[i] for i in axes)
    centered = input - mean(input, axes, keepdim=True)
    return sum(abs_squared(centered), axes, keepdim=keepdim) / (n - correction if n > correction else 0)


def std(input, dim=None, *, correction=1, keepdim: bool = False, unbiased=None, axis=None, keepdims=None):
    if axis is not None or keepdims is not None:
        dim, keepdim = numpy_names("std", dim, keepdim, axis, keepdims)
    return sqrt(var(input, dim, correction=correction, keepdim=keepdim, unbiased=unbiased))


def var_mean(input, dim=None, *, correction=1, keepdim: bool = False, axis=None, keepdims=None):
    if axis is not None or keepdims is not None:
        dim, keepdim = numpy_names("var_mean", dim, keepdim, axis, keepdims)
    return var(input, dim, correction=correction, keepdim=keepdim), mean(input, dim, keepdim=keepdim)


def std_mean(input, dim=None, *, correction=1, keepdim: bool = False, axis=None, keepdims=None):
    if axis is not None or keepdims is not None:
        dim, keepdim = numpy_names("std_mean", dim, keepdim, axis, keepdims)
    return std(input, dim, correction=correction, keepdim=keepdim), mean(input, dim, keepdim=keepdim)


def cov(input, *, correction: int = 1, fweights=None, aweights=None):
    """The covariance matrix of the variables in the rows of ``input`` (observations in the columns),
    with integer frequency weights ``fweights`` and observation weights ``aweights``."""
    if input._data.ndim > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an input with "
                           f"{input._data.ndim} dimensions")
    if input._data.dtype == np.bool_:
        raise RuntimeError("cov(): bool dtype is not supported for input")
    x = default_float(input)
    x = x.reshape(1, -1) if x._data.ndim < 2 else x
    observations = x.shape[1]
    weights = None
    if fweights is not None:
        if fweights._data.dtype.kind not in "iu":
            raise RuntimeError(f"cov(): expected fweights to have integral dtype but got fweights with "
                               f"{fweights.dtype} dtype")
        weights = fweights.to(x.dtype)
    if aweights is not None:
        if aweights._data.dtype.kind != "f":
            raise RuntimeError(f"cov(): expected aweights to have floating point dtype but got aweights with "
                               f"{aweights.dtype} dtype")
        weights = aweights.to(x.dtype) if weights is None else weights * aweights.to(x.dtype)
    if weights is None:
        total = observations
        average = mean(x, 1, keepdim=True)
        norm_factor = total - correction
    else:
        total = sum(weights)
        average = sum(x * weights, 1, keepdim=True) / total
        norm_factor = total - correction * (sum(weights * aweights) / total if aweights is not None else 1)
    if not isinstance(norm_factor, Tensor):
        norm_factor = Tensor._wrap(np.asarray(norm_factor, x._data.dtype))
    norm_factor = maximum(norm_factor, Tensor._wrap(np.zeros((), x._data.dtype)))  # as torch: never negative
    centered = x - average
    weighted = centered if weights is None else centered * weights
    out = (weighted @ centered.mT) / norm_factor
    return out.reshape(()) if input._data.ndim < 2 or out.shape == (1, 1) else out  # one variable: 0-d, as torch


def corrcoef(input):
    """Pearson correlation coefficients of the variables in the rows of ``input``."""
    c = cov(input)
    if c._data.ndim == 0:
        return c / c
    std_dev = sqrt(c.diagonal())
    c = c / std_dev.reshape(-1, 1) / std_dev.reshape(1, -1)
    return c.clamp(-1, 1)
