"""Argument helpers shared by the functional ops."""

from __future__ import annotations

import numpy as np

from ...tensor import Tensor


def ntuple(value, n: int, name: str = "argument") -> tuple:
    """``3 -> (3, 3)``; a tuple/list of length ``n`` passes through (as ints)."""
    if isinstance(value, (tuple, list)):
        if len(value) == 1:
            return tuple(int(value[0]) for _ in range(n))
        if len(value) != n:
            raise ValueError(f"expected {name} to be a single int or a tuple of {n} ints, got {tuple(value)}")
        return tuple(int(v) for v in value)
    return (int(value),) * n


def check_float_tensor(x, op: str, name: str = "input") -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument '{name}' must be a Tensor, not {type(x).__name__}")
    return x


def reduce_loss(loss: Tensor, reduction: str, op: str) -> Tensor:
    """Applies ``reduction`` ('mean', 'sum', 'none') to an elementwise loss."""
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{op}: {reduction!r} is not a valid value for reduction (use 'mean', 'sum' or 'none')")


def legacy_reduction(size_average, reduce, reduction: str) -> str:
    """PyTorch's deprecated ``size_average`` / ``reduce`` flags mapped onto ``reduction``."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"


def scalar_like(value: float, array: np.ndarray):
    """A Python number as a scalar of ``array``'s dtype (keeps float32 math in float32)."""
    return array.dtype.type(value)
