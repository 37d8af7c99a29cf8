"""The in-place shape methods (``t_``, ``transpose_``, ``squeeze_``, ``unsqueeze_``, ``resize_``,
``as_strided_``): the tensor itself becomes a view of new shape over the same memory, as torch's do."""

from __future__ import annotations

import math

import numpy as np

from .._numpy_names import dim_from_axis
from ..creation import shape_arg
from .shape import _storage_positions, squeeze, t, transpose, unsqueeze


# --- in-place view ops: the tensor itself takes the view's shape ---------------------------------
def _become_view(input, fn, *args):
    """``t_``, ``transpose_``, ``squeeze_``, ...: ``input`` becomes the view ``fn(input, *args)`` (same memory,
    new shape) and, when recording, takes the view op's history, as torch's in-place view ops do."""
    from ..autograd.grad_mode import state  # the grad mode, as ops.inplace reads it

    if state.grad_enabled and input.requires_grad and input.grad_fn is None:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
    view = fn(input, *args)
    if view is not input:
        input._data = view._data
        if view.requires_grad:
            input.grad_fn, input._output_nr = view.grad_fn, view._output_nr
        input._vc[0] += 1
    return input


def t_(input):
    """In-place ``t``: the tensor itself becomes its transpose."""
    return _become_view(input, t)


def transpose_(input, dim0: int, dim1: int):
    """In-place ``transpose``: the tensor itself swaps ``dim0`` and ``dim1``."""
    return _become_view(input, transpose, dim0, dim1)


swapaxes_ = swapdims_ = transpose_


def squeeze_(input, dim=None, *, axis=None):
    """In-place ``squeeze``: the tensor itself loses its size-1 dimensions (or ``dim``)."""
    if axis is not None:
        dim = dim_from_axis("squeeze_", dim, axis)
    return _become_view(input, squeeze, dim)


def unsqueeze_(input, dim: int | None = None, *, axis=None):
    """In-place ``unsqueeze``: the tensor itself gains a size-1 dimension at ``dim``."""
    if dim is None or axis is not None:
        dim = dim_from_axis("unsqueeze_", dim, axis)
    return _become_view(input, unsqueeze, dim)


def resize_(input, *sizes, memory_format=None):
    """Gives the tensor the shape ``sizes`` in place, keeping its elements in memory order: fewer elements
    are cut (a view of the old memory), more are added as zeros (torch leaves them uninitialized)."""
    if input.requires_grad:
        raise RuntimeError("cannot resize variables that require grad")
    shape = tuple(int(s) for s in shape_arg(sizes))
    if any(s < 0 for s in shape):
        raise RuntimeError(f"Trying to create tensor with negative dimension: {list(shape)}")
    count = math.prod(shape)
    flat = input._data.ravel(order="K")  # memory order, as torch's storage
    if count <= flat.size:
        data = flat[:count].reshape(shape)
    else:
        data = np.zeros(count, input._data.dtype)
        data[:flat.size] = flat
        data = data.reshape(shape)
    input._data = data
    input._vc[0] += 1
    return input


def resize_as_(input, other, memory_format=None):
    """``resize_`` to ``other``'s shape."""
    return resize_(input, tuple(other.shape))


def as_strided_(input, size, stride, storage_offset=None):
    """In-place ``as_strided``: the tensor itself becomes the strided view of its memory (no gradients)."""
    if input.requires_grad:
        raise RuntimeError("as_strided_ of a tensor that requires grad is not supported")
    positions, _, base = _storage_positions(input, size, stride, storage_offset)
    if not base._data.flags.c_contiguous:
        raise RuntimeError("as_strided_: the tensor's memory is not contiguous")
    offset = int(positions.reshape(-1)[0]) if positions.size else 0  # the first element read
    item = base._data.itemsize
    input._data = np.lib.stride_tricks.as_strided(base._data.reshape(-1)[offset:], tuple(int(s) for s in size),
                                                  tuple(int(s) * item for s in stride))
    input._vc[0] += 1
    return input
