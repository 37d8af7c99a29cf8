"""``parameters_to_vector`` and ``vector_to_parameters``."""

from __future__ import annotations

from typing import Iterable

import numpy as np

from ...ops.joining import cat
from ...tensor import Tensor


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and concatenated into one 1-D tensor (differentiable).

    Example:
        >>> from ember import nn
        >>> nn.utils.parameters_to_vector(nn.Linear(3, 2).parameters()).shape
        ember.Size([8])
    """
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copies consecutive slices of the 1-D ``vec`` into ``parameters`` (in place).

    Example:
        >>> import ember
        >>> layer = ember.nn.Linear(3, 2)
        >>> ember.nn.utils.vector_to_parameters(ember.zeros(8), layer.parameters())
        >>> float(layer.weight.abs().sum())
        0.0
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected vec to be an ember.Tensor, but got: {type(vec).__name__}")
    if vec.ndim != 1:
        raise ValueError(f"expected a 1-D vector, got shape {tuple(vec.shape)}")
    params = list(parameters)
    total = sum(p.numel() for p in params)
    if total != vec.numel():
        raise ValueError(f"vector has {vec.numel()} elements but the parameters have {total}")
    pointer = 0
    for p in params:
        n = p.numel()
        np.copyto(p._data, vec._data[pointer : pointer + n].reshape(p._data.shape), casting="unsafe")
        p._vc[0] += 1
        pointer += n
